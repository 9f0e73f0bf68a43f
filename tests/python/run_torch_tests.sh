#!/usr/bin/env bash
# gpu label: tests/python/test_torch_*.py (the operators; the named ops' documented accuracy) with
# a Python that has torch ($KERNTUNE_PYTHON, else python3), against the build tree's libkerntune
# and a fresh tuning database. Exit 77 (skipped) where torch does not import or sees no GPU. A
# shell script, not a cmake script: the GPU machine runs the build tree with another cmake than the
# one that made it.
#   tests/python/run_torch_tests.sh BUILD_DIR SOURCE_DIR
set -u
build="$1" source="$2"
python="${KERNTUNE_PYTHON:-python3}"
if ! why=$("$python" -c "import torch; assert torch.cuda.is_available(), 'torch sees no GPU'" 2>&1); then
    echo "SKIPPED: $python cannot run the torch tests: ${why##*$'\n'}"
    exit 77
fi
export KERNTUNE_LIB="$build/src/runtime/libkerntune.so" PYTHONPATH="$source/python"
export KERNTUNE_DB="$build/tests/python_torch_tests.db"
rm -f "$KERNTUNE_DB"*
exec "$python" -X faulthandler -m unittest discover -v -s "$source/tests/python" -p 'test_torch_*.py'
