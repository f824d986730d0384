#!/usr/bin/env bash
# Installs the build into a temporary prefix, moves that prefix elsewhere (so
# only the lookup beside the executable can find its data), and runs the
# installed jiio from there with no JIIO_* variables: restore on a shipped
# sample with the default model, and a one-repeat bench. Checks that the model
# and samples used are the installed ones, and that the man page, desktop
# entry and icon are in place.
set -euo pipefail
build="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/installed" >/dev/null
mv "$work/installed" "$work/moved"
prefix="$work/moved"
run() { env -u JIIO_MODELS_DIR -u JIIO_SAMPLES_DIR "$prefix/bin/jiio" "$@"; }

for file in bin/jiio bin/jiio-workbench share/jiio/models/restore-rgb.pt share/jiio/models/restore-rgb.md \
            share/jiio/samples/fruits-noisy25.png share/applications/jiio-workbench.desktop \
            share/icons/hicolor/scalable/apps/jiio-workbench.svg share/man/man1/jiio.1; do
  [[ -f "$prefix/$file" ]] || { echo "missing from the installed tree: $file" >&2; exit 1; }
done
grep -q "Exec=jiio-workbench" "$prefix/share/applications/jiio-workbench.desktop"
grep -q "EXIT STATUS" "$prefix/share/man/man1/jiio.1"

cd "$work"
run restore --task denoise --sigma 25 --input "$prefix/share/jiio/samples/fruits-noisy25.png" \
    --output restored.png --iters 3 --json restore.json --threads 2
[[ -f restored.png ]]
grep -q "\"model\": \"$prefix/share/jiio/models/restore-rgb.pt\"" restore.json \
  || { echo "the installed jiio did not use its own model:" >&2; cat restore.json >&2; exit 1; }

run bench --repeats 1 --batch 1 --size 32 --naive-steps 4 --json bench.json --threads 2 > bench.txt
[[ -s bench.json ]]
echo "installed tree works from $prefix"
