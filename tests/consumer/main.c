/* A C99 consumer of kerntune.h, built against the install tree by tests/install_consumer.cmake.
 * It checks that the library is the version of the headers it was compiled with. Without a GPU
 * it must fail cleanly with a message; with one it runs LeakyReLU on 0 elements. */
#include <kerntune/kerntune.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    kt_runtime* rt = NULL;
    kt_status status;
    if (strcmp(kt_get_version(), KERNTUNE_VERSION_STRING) != 0) {
        printf("libkerntune %s, headers %s\n", kt_get_version(), KERNTUNE_VERSION_STRING);
        return 1;
    }
    status = kt_runtime_create(NULL, &rt);
    if (status != KT_OK) {
        printf("no runtime (%s): %s\n", kt_status_string(status), kt_last_error());
        return status == KT_ERROR_NO_DEVICE ? 0 : 1;
    }
    status = kt_leaky_relu(rt, KT_F32, NULL, NULL, 0, 0.01f, NULL); /* n == 0: nothing to do */
    kt_runtime_destroy(rt);
    printf("kerntune %s: %s\n", kt_get_version(), kt_status_string(status));
    return status == KT_OK ? 0 : 1;
}
