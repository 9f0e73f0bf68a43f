#!/usr/bin/env bash
# Installs the Debian packages kerntune builds with, and configures and builds it in Release.
# Usage: tools/setup.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"

# pkgconf: the packaging test builds a consumer with `pkg-config --cflags --libs kerntune`.
# python3: the Python package's torch-free tests (tests/python).
packages=(cmake ninja-build g++ libspdlog-dev libfmt-dev libyaml-cpp-dev libsqlite3-dev libgtest-dev pkgconf libcli11-dev
          nlohmann-json3-dev python3)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    sudo_if_needed=""
    [ "$(id -u)" -ne 0 ] && sudo_if_needed="sudo"
    $sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq "${missing[@]}"
fi
if [ ! -x /usr/local/cuda/bin/nvcc ] && [ ! -f /usr/local/cuda/include/nvrtc.h ]; then
    echo "kerntune needs the CUDA toolkit (NVRTC and headers) in /usr/local/cuda" >&2
    exit 1
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCUDAToolkit_ROOT=/usr/local/cuda
cmake --build "$build_dir" -j "$(nproc)"
