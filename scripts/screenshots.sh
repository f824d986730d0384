#!/usr/bin/env bash
# Takes the README's screenshots of the real window under Xvfb.
#   scripts/screenshots.sh [MODEL]      (default: the shipped RGB model)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/bin"
samples="$root/resources/samples"
model="${1:-$root/models/restore-rgb.pt}"
command -v import >/dev/null || { echo "needs ImageMagick's import (apt-get install imagemagick)" >&2; exit 1; }

shoot() { # name delay arguments...
  local name="$1" delay="$2"
  shift 2
  xvfb-run -a -s "-screen 0 1280x860x24" bash -c '
    "$0" "${@:3}" & pid=$!
    sleep "$2"
    import -window root "$1"
    kill $pid' "$bin/jiio-workbench" "$root/docs/$name" "$delay" "$@"
  echo "wrote docs/$name"
}

shoot screenshot-restore.png 2.5 "$samples/fruits-masked.png" --mask "$samples/fruits-mask.png" --model "$model" --run
