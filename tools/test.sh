#!/usr/bin/env bash
# Sets up, builds and runs the tests that need no GPU (labels unit and nvrtc).
# On a machine with a GPU, also run: ctest --test-dir build -L gpu --output-on-failure
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
ctest --test-dir build -L 'unit|nvrtc' --output-on-failure -j "$(nproc)"
