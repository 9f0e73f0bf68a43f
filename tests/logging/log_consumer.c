/* A C99 application of libkerntune that makes the library warn without a GPU: run with
 * KERNTUNE_TEMPLATES=/nonexistent, kt_runtime_create skips that folder with a warning, then fails
 * with KT_ERROR_NO_DEVICE (or succeeds, on a machine with a GPU). It never writes to stdout
 * itself, so tests/logging/run_log_consumer.cmake, which runs it and captures stdout and stderr
 * apart, can require stdout to be empty and stderr to hold exactly what the library logged.
 *
 *   log_consumer stderr N          create N runtimes, logging to stderr
 *   log_consumer set-level-off     kt_set_log_level(KT_LOG_OFF), then create one
 *   log_consumer callback          create one with a callback set: it must get the warning
 *   log_consumer callback-then-null  the same, then kt_set_log_callback(NULL) and create another
 *
 * Failures are reported on stderr with exit status 1. */
#include <kerntune/kerntune.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(condition)                                                                            \
    do {                                                                                            \
        if (!(condition)) {                                                                         \
            fprintf(stderr, "log_consumer: %s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
            ++failures;                                                                             \
        }                                                                                           \
    } while (0)

/* Creates and destroys one runtime; no GPU here is fine. */
static void create_runtime(void) {
    kt_runtime* rt = NULL;
    const kt_status status = kt_runtime_create("/nonexistent/kerntune.db", &rt);
    if (status != KT_OK && status != KT_ERROR_NO_DEVICE)
        fprintf(stderr, "log_consumer: kt_runtime_create: status %d: %s\n", (int)status, kt_last_error());
    CHECK(status == KT_OK || status == KT_ERROR_NO_DEVICE);
    kt_runtime_destroy(rt);
}

struct received {
    int count;
    kt_log_level level;
    char message[1024];
};

static void remember(kt_log_level level, const char* message, void* user_data) {
    struct received* got = (struct received*)user_data;
    ++got->count;
    got->level = level;
    strncpy(got->message, message, sizeof got->message - 1);
    got->message[sizeof got->message - 1] = '\0';
}

/* Levels outside KT_LOG_OFF..KT_LOG_DEBUG are refused with a message and change nothing. */
static void check_bad_levels(void) {
    CHECK(kt_set_log_level((kt_log_level)-1) == KT_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(kt_last_error(), "not a log level") != NULL);
    CHECK(kt_set_log_level((kt_log_level)(KT_LOG_DEBUG + 1)) == KT_ERROR_INVALID_ARGUMENT);
}

static void check_callback(int then_null) {
    struct received got;
    memset(&got, 0, sizeof got);
    CHECK(kt_set_log_callback(remember, &got) == KT_OK);
    check_bad_levels();
    create_runtime();
    CHECK(got.count == 1);
    CHECK(got.level == KT_LOG_WARN);
    CHECK(strstr(got.message, "ignoring the template folder /nonexistent from KERNTUNE_TEMPLATES") != NULL);
    CHECK(strncmp(got.message, "kerntune", 8) != 0); /* the prefix is stderr's, not the callback's */
    if (failures > 0)
        fprintf(stderr, "log_consumer: the callback got %d messages, the last: '%s'\n", got.count, got.message);
    if (then_null) {
        CHECK(kt_set_log_callback(NULL, NULL) == KT_OK);
        create_runtime(); /* this warning goes to stderr again */
        CHECK(got.count == 1);
    }
}

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "stderr") == 0) {
        int runtimes = argc > 2 ? atoi(argv[2]) : 1;
        while (runtimes-- > 0) create_runtime();
    } else if (strcmp(mode, "set-level-off") == 0) {
        CHECK(kt_set_log_level(KT_LOG_OFF) == KT_OK);
        create_runtime();
    } else if (strcmp(mode, "callback") == 0) {
        check_callback(0);
    } else if (strcmp(mode, "callback-then-null") == 0) {
        check_callback(1);
    } else {
        fprintf(stderr, "log_consumer: unknown mode '%s'\n", mode);
        return 2;
    }
    return failures == 0 ? 0 : 1;
}
