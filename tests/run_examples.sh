#!/usr/bin/env bash
# gpu label: runs every example against the install tree that
# Packaging.ConsumersBuildAgainstTheInstallTree (label nvrtc) built in WORK_DIR: examples/cpp,
# examples/templates/app and, where PyTorch imports ($KERNTUNE_PYTHON, else python3), examples/python. A shell script, not a cmake
# script, because the GPU machine runs the build tree with another cmake than the one that made
# it. Exit 77 (skipped) without a GPU; each example checks its own results and exits 0.
#   tests/run_examples.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -u
build="$1" source="$2" work="$3"
if ! "$build/tools/kerntune" devices >/dev/null 2>&1; then
    echo "SKIPPED: no GPU (kerntune devices failed)"
    exit 77
fi
for example in "$work/example/leaky_relu_example" "$work/templates_app/axpby_example"; do
    if [ ! -x "$example" ]; then
        echo "missing $example: run the nvrtc label first (Packaging.ConsumersBuildAgainstTheInstallTree builds it)"
        exit 1
    fi
done
export KERNTUNE_DB="$work/examples.db"  # a fresh database: every example works without one
rm -f "$KERNTUNE_DB"*
unset KERNTUNE_TEMPLATES
status=0
run() {
    echo "\$ $*"
    "$@" || { echo "example failed (exit $?): $*"; status=1; }
}
run "$work/example/leaky_relu_example"
run "$work/templates_app/axpby_example" "$source/examples/templates"
python="${KERNTUNE_PYTHON:-python3}"  # one with torch
if "$python" -c "import torch" >/dev/null 2>&1; then
    export KERNTUNE_LIB="$build/src/runtime/libkerntune.so" PYTHONPATH="$source/python"
    for example in leaky_relu_torch.py torch_compile.py kernelbench_leaky_relu.py; do
        run "$python" "$source/examples/python/$example"
    done
else
    echo "examples/python not run: $python cannot import torch here"
fi
exit $status
