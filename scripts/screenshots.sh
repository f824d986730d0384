#!/usr/bin/env bash
# Takes the README's screenshots of the real window under Xvfb.
#   scripts/screenshots.sh [MODEL]      (default: the shipped RGB model)
# Runs with its own settings folder, so a user's saved settings do not leak in.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/build/bin"
samples="$root/resources/samples"
model="${1:-$root/models/restore-rgb.pt}"
command -v import >/dev/null || { echo "needs ImageMagick's import (apt-get install imagemagick)" >&2; exit 1; }

home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data"
mkdir -p "$XDG_CONFIG_HOME/jiio"
# A small generative run, so the training tab shows curves and samples within a minute.
cat > "$XDG_CONFIG_HOME/jiio/jiio-workbench.conf" <<'CONF'
[training]
kind=generative
data=fashion-mnist
width=8
latentChannels=32
batchSize=16
jiioIterations=20
learningRate=0.001
steps=300
validateEvery=5
[attack]
iterations=1500
CONF

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

shoot screenshot-restore.png "${RESTORE_DELAY:-6}" "$samples/fruits-masked.png" --mask "$samples/fruits-mask.png" --model "$model" --run
shoot screenshot-compare.png "${COMPARE_DELAY:-45}" "$samples/fruits-clean.png" --sigma 25 --noise --task denoise \
  --model "$model" --tab compare --run
shoot screenshot-latent.png "${LATENT_DELAY:-8}" "$samples/fashion-ankle-boot.png" --task reconstruct --run
shoot screenshot-train.png "${TRAIN_DELAY:-60}" --tab train --run
# The attack tab, mid-run: many iterations, so the window is caught while the probabilities move.
shoot screenshot-attack.png "${ATTACK_DELAY:-3}" --tab attack --run
# The few-shot tab after adapting to an episode of handwritten digits (a domain it never trained on).
shoot screenshot-fewshot.png "${FEWSHOT_DELAY:-25}" --tab fewshot --run
