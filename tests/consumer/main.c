/* A C99 consumer of kerntune.h, built against the install tree by tests/install_consumer.cmake.
 * Without a GPU it must fail cleanly with a message; with one it runs LeakyReLU on 3 elements. */
#include <kerntune/kerntune.h>
#include <stdio.h>

int main(void) {
    kt_runtime* rt = NULL;
    kt_status status = kt_runtime_create(NULL, &rt);
    if (status != KT_OK) {
        printf("no runtime (status %d): %s\n", (int)status, kt_last_error());
        return status == KT_ERROR_NO_DEVICE ? 0 : 1;
    }
    status = kt_leaky_relu(rt, KT_F32, NULL, NULL, 0, 0.01f, NULL); /* n == 0: nothing to do */
    kt_runtime_destroy(rt);
    return status == KT_OK ? 0 : 1;
}
