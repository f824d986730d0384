#!/usr/bin/env bash
# Installs what is missing, builds in Release, then either opens the workbench
# on a sample image (`run`; the CLI restores it when there is no display) or
# runs every test through CTest (`test`).
#
#   scripts/setup.sh run
#   scripts/setup.sh test
set -euo pipefail

mode="${1:-}"
if [[ "$mode" != "run" && "$mode" != "test" ]]; then
  echo "usage: scripts/setup.sh run|test" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"

packages=(
  cmake g++ ccache
  qt6-base-dev qt6-tools-dev libqcustomplot-dev libqcustomplot2.1-qt6
  libqt6svg6 qt6-image-formats-plugins help2man
  libopencv-dev libtorch-dev libopenblas0-pthread libgloo-dev
  libeigen3-dev nlohmann-json3-dev
  xvfb xauth locales
  dataset-fashion-mnist opencv-doc mate-backgrounds plasma-workspace-wallpapers
)
if [[ "$mode" == "test" ]]; then
  # The Python reference's test runs Debian's PyTorch and OpenCV bindings.
  packages+=(python3-torch python3-opencv)
fi

install_missing() {
  local missing=()
  for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return
  fi
  echo "Installing: ${missing[*]}"
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build_project() {
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j "$(nproc)"
}

model_arguments() {
  if [[ ! -f "$root/models/restore-rgb.pt" && -z "${JIIO_MODELS_DIR:-}" ]]; then
    # No trained model ships yet: show the pipeline with an untrained one.
    echo "note: no trained model in models/ yet; using an untrained model (the output shows the pipeline, not restoration quality)" >&2
    "$build/bin/jiio" init --output "$build/untrained-rgb.pt" --seed 0 >/dev/null
    echo "--model" "$build/untrained-rgb.pt"
  fi
}

run_sample() {
  local samples="$root/resources/samples"
  local model_args
  read -r -a model_args <<<"$(model_arguments)"
  if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    exec "$build/bin/jiio-workbench" "$samples/fruits-masked.png" --mask "$samples/fruits-mask.png" "${model_args[@]}"
  fi
  echo "no display: restoring the sample with the command-line tool instead of opening the workbench"
  "$build/bin/jiio" restore --task inpaint \
    --input "$samples/fruits-masked.png" --mask "$samples/fruits-mask.png" \
    --reference "$samples/fruits-clean.png" \
    --output "$build/fruits-restored.png" "${model_args[@]}"
}

install_missing
build_project
if [[ "$mode" == "run" ]]; then
  run_sample
else
  cd "$build"
  ctest --output-on-failure --timeout 1800
fi
