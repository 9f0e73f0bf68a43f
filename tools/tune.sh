#!/usr/bin/env bash
# The main job: sets up and builds, then tunes leaky_relu for f32, f16 and bf16 at the default
# shapes on GPU 0 into the default database and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
build/tools/kerntune tune --op leaky_relu --dtype f32,f16,bf16 --device 0 "$@"
