// Linked into every test program: the shipped tuning files (tuning_db/, which a binary of the
// build tree reads) are off unless a test turns them on, so that what a test expects of its own
// database (a default, a nearest match) does not change when tuning_db/ gains rows for the GPU
// it runs on. Not overwritten when set: KERNTUNE_SHIPPED_DB=FILE runs the tests over that file.
#include <stdlib.h>

namespace {
const int shipped_rows_off = setenv("KERNTUNE_SHIPPED_DB", "off", 0);
}
