/* kerntune C ABI: launch the kernel tuned for this GPU, op, dtype and size.
 *
 * Compiles as C99. Every function returns a status; on a non-OK status, kt_last_error() gives
 * the message for the calling thread. No function aborts or throws, and none writes to stdout
 * (warnings go to stderr or a callback: see Logging below).
 *
 *   kt_runtime* rt = NULL;
 *   if (kt_runtime_create(NULL, &rt) != KT_OK) { fprintf(stderr, "%s\n", kt_last_error()); ... }
 *   kt_leaky_relu(rt, KT_F32, x, y, n, 0.01f, stream);   // x, y: device pointers; y == x allowed
 *   kt_runtime_destroy(rt);
 */
#ifndef KERNTUNE_H
#define KERNTUNE_H

#include <cuda.h>
#include <stddef.h>
#include <stdint.h>

#include "kerntune/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A runtime: the tuning database, loaded kernels and their launch cache. Thread-safe. */
typedef struct kt_runtime kt_runtime;

/** Element types: T of a template. KT_I32 and KT_I64 serve templates written for integers. */
typedef enum kt_dtype { KT_F32 = 0, KT_F16 = 1, KT_BF16 = 2, KT_I32 = 3, KT_I64 = 4 } kt_dtype;

typedef enum kt_status {
    KT_OK = 0,
    KT_ERROR_INVALID_ARGUMENT = 1, /**< null pointer, negative n, unknown dtype or op, wrong buffer count */
    KT_ERROR_NO_DEVICE = 2,        /**< no CUDA driver or no GPU */
    KT_ERROR_CUDA = 3,             /**< a CUDA driver call failed (the message names it) */
    KT_ERROR_COMPILE = 4,          /**< NVRTC could not compile a kernel (the message has the log) */
    KT_ERROR_INTERNAL = 5          /**< anything else; the message says what */
} kt_status;

/** How the config used for a call was found. */
typedef enum kt_match {
    KT_MATCH_EXACT = 0,   /**< tuned for this op, dtype, size, GPU, template and NVRTC version */
    KT_MATCH_NEAREST = 1, /**< tuned on this GPU for the nearest size (log scale) */
    KT_MATCH_DEFAULT = 2, /**< nothing tuned applies: the template's default config */
    KT_MATCH_FAMILY = 3   /**< an elementwise expression nobody tuned: the tuned config of another
                               expression of its family (same inputs and dtype) on this GPU */
} kt_match;

/** Creates a runtime on the tuning database at db_path (NULL: $KERNTUNE_DB, else the default
 *  path). A missing or unusable database is not an error: calls fall back to default configs. */
kt_status kt_runtime_create(const char* db_path, kt_runtime** out);

/** Destroys a runtime (NULL is allowed). Kernels in flight are not waited for. */
void kt_runtime_destroy(kt_runtime* rt);

/** Adds every template (*.yaml with its source) of `folder` to the runtime's catalogue, beside
 *  the built-in ones and those of $KERNTUNE_TEMPLATES (a ':'-separated list of folders read at
 *  kt_runtime_create). All or nothing: a folder that is missing or unreadable, a spec that does
 *  not load, or a template name already taken is KT_ERROR_INVALID_ARGUMENT (kt_last_error names
 *  the file and line), and the catalogue stays as it was. Kernels compile on first launch; a
 *  template that fails to compile is KT_ERROR_COMPILE then, with the NVRTC log. */
kt_status kt_runtime_add_templates(kt_runtime* rt, const char* folder);

/** y = x > 0 ? x : x * negative_slope, exactly as torch.nn.functional.leaky_relu: computed in
 *  float, rounded once. x and y are device pointers of n elements; y == x is allowed; any
 *  element alignment works; n == 0 launches nothing. Asynchronous on `stream` (0: the legacy
 *  default stream), in the context current on the calling thread (else device 0's primary). */
kt_status kt_leaky_relu(kt_runtime* rt, kt_dtype dtype, const void* x, void* y, int64_t n,
                        float negative_slope, CUstream stream);

/** Launches a template whose problem is one axis, n (the elementwise ops). buffers: device
 *  pointers for the spec's buffer arguments, in declaration order; scalars: the spec's
 *  caller scalars, in order (NULL with num_scalars 0: their defaults). n == 0 launches nothing. */
kt_status kt_launch(kt_runtime* rt, const char* op, kt_dtype dtype, int64_t n, void* const* buffers,
                    int num_buffers, const float* scalars, int num_scalars, CUstream stream);

/** Launches any template on a problem given by one extent per axis the spec declares (its
 *  `problem:` field, e.g. {rows, cols}). scalars: the caller scalars as doubles, each converted
 *  to its declared type (i32, i64: whole numbers in range; f32: rounded), or NULL with
 *  num_scalars 0 for their defaults. An extent of 0 launches nothing. */
kt_status kt_launch_problem(kt_runtime* rt, const char* op, kt_dtype dtype, const int64_t* extents,
                            int num_extents, void* const* buffers, int num_buffers, const double* scalars,
                            int num_scalars, CUstream stream);

/** Which config a call with (op, dtype, n) uses on the current device, and how it was found.
 *  label receives the canonical config label (truncated to label_size, NUL-terminated).
 *  It also loads (or compiles) that kernel in the current context, so that a later launch with
 *  the same op, dtype and extents does nothing but launch.
 *
 *  CUDA graphs: a launch is captured like any kernel launch once its kernel is loaded. The first
 *  launch of an (op, dtype, extents) in a context loads or compiles its kernel, which cannot be
 *  captured: on a stream that is capturing it is KT_ERROR_INVALID_ARGUMENT, the capture left
 *  intact. Call kt_query (or launch once) for every key before capturing. */
kt_status kt_query(kt_runtime* rt, const char* op, kt_dtype dtype, int64_t n, kt_match* match,
                   char* label, size_t label_size);

/** kt_query for a problem given by its extents (see kt_launch_problem). */
kt_status kt_query_problem(kt_runtime* rt, const char* op, kt_dtype dtype, const int64_t* extents,
                           int num_extents, kt_match* match, char* label, size_t label_size);

/** What kt_query_choice says about a call. Set `size` to sizeof(kt_choice) before the call:
 *  kerntune writes only the fields that fit in `size`, so that a later kerntune may add fields
 *  at the end and a program compiled against this header still works with it. */
typedef struct kt_choice {
    size_t size;    /**< in: sizeof(kt_choice) as the caller was compiled */
    kt_match match; /**< how the config was found (as kt_query's match) */
    int shipped;    /**< 1: the config is from the shipped tuning results installed with kerntune
                         (share/kerntune/tuning_db, read beneath the user's database, as an exact or
                         nearest match); 0: from the user's database or the default */
} kt_choice;

/** kt_query_problem reporting in a kt_choice (label as kt_query's). A NULL choice, or a size
 *  smaller than the first version of kt_choice (the three fields above), is
 *  KT_ERROR_INVALID_ARGUMENT. */
kt_status kt_query_choice(kt_runtime* rt, const char* op, kt_dtype dtype, const int64_t* extents,
                          int num_extents, kt_choice* choice, char* label, size_t label_size);

/* ---- Elementwise expressions ---------------------------------------------------------------
 * An elementwise op written as an expression of kerntune's language (docs/EXPRESSIONS.md), e.g.
 * "x * sigmoid(alpha * x)" with the scalar alpha: parsed strictly, generated into a kernel from
 * the parsed tree (no character of the text reaches the source), tuned and cached like any
 * template. Inputs x, y, z, ... and the output are device buffers of n elements of one dtype.
 *
 *   const char* names[] = {"alpha"}; const float defaults[] = {1.0f};
 *   kt_expression* e = NULL;
 *   kt_expression_create(rt, "x * sigmoid(alpha * x)", names, defaults, 1, &e);
 *   const void* in[] = {x};
 *   kt_expression_launch(e, KT_F32, n, in, 1, y, NULL, 0, stream);   // alpha = 1
 *   kt_expression_destroy(e);
 */

/** A parsed expression, registered with its runtime. Destroy it before the runtime. Thread-safe. */
typedef struct kt_expression kt_expression;

/** Parses `text` with num_scalars scalars, scalar_names[i] defaulting to scalar_defaults[i], and
 *  registers it with rt as an op (kt_expression_op). Nothing is compiled until the first launch
 *  or query. A syntax error, an unknown name, a bad scalar name or default:
 *  KT_ERROR_INVALID_ARGUMENT, kt_last_error() one line naming the column. The same text (up to
 *  white space and the spelling of literals) with the same scalars is the same op, tuned once. */
kt_status kt_expression_create(kt_runtime* rt, const char* text, const char* const* scalar_names,
                               const float* scalar_defaults, int num_scalars, kt_expression** out);

/** Destroys a handle (NULL is allowed); the op stays registered with its runtime. */
void kt_expression_destroy(kt_expression* expression);

/** The op the expression is registered as, for kt_query, kt_launch and `kerntune tune --op`
 *  (a name derived from its canonical form, e.g. "ew1_..."). A string the handle owns. */
const char* kt_expression_op(const kt_expression* expression);

/** How many inputs it reads (x up to the highest input letter it uses) and how many scalars it
 *  declares. */
int kt_expression_num_inputs(const kt_expression* expression);
int kt_expression_num_scalars(const kt_expression* expression);

/** output[i] = the expression of inputs[0][i], inputs[1][i], ... for i < n, computed in float32
 *  and rounded once to dtype (KT_F32, KT_F16 or KT_BF16). num_inputs must be
 *  kt_expression_num_inputs; output may be one of the inputs; any element alignment works.
 *  scalars: every declared scalar in order, or NULL with num_scalars 0 for the defaults.
 *  Asynchronous on `stream`, as kt_leaky_relu. */
kt_status kt_expression_launch(kt_expression* expression, kt_dtype dtype, int64_t n, const void* const* inputs,
                               int num_inputs, void* output, const float* scalars, int num_scalars,
                               CUstream stream);

/** kt_query for the expression. */
kt_status kt_expression_query(kt_expression* expression, kt_dtype dtype, int64_t n, kt_match* match, char* label,
                              size_t label_size);

/** The message for the calling thread's last non-OK status ("" if none). */
const char* kt_last_error(void);

/* ---- Logging ---------------------------------------------------------------------------------
 * kerntune never writes to stdout. What it has to say (a $KERNTUNE_TEMPLATES folder that does
 * not load, an unusable tuning database, a tuned row it refuses; at debug, which config each key
 * uses) goes by default to stderr, warnings and errors only, one line each:
 *   kerntune: warning: ignoring the tuning database: ...; using default configs
 * $KERNTUNE_LOG_LEVEL (off, error, warn, info or debug, in any case; read once, at kerntune's
 * first message or logging call) sets the level; an unknown value is reported once on stderr and
 * the default kept. The setters below are process-wide and thread-safe. */

/** Log levels, from silent to the most detailed. A level logs its own messages and those of the
 *  levels before it (KT_LOG_WARN: warnings and errors). */
typedef enum kt_log_level {
    KT_LOG_OFF = 0,   /**< nothing at all */
    KT_LOG_ERROR = 1, /**< failures kerntune cannot work around */
    KT_LOG_WARN = 2,  /**< the default: something was ignored and kerntune carried on (a broken
                           template folder, an unusable database, a refused tuned row) */
    KT_LOG_INFO = 3,  /**< notable events */
    KT_LOG_DEBUG = 4  /**< what each call chose and why */
} kt_log_level;

/** Receives one message: its level and its text (one line, without the "kerntune: " prefix or a
 *  newline; valid only during the call). user_data is the pointer given to kt_set_log_callback. */
typedef void (*kt_log_callback)(kt_log_level level, const char* message, void* user_data);

/** Sends every message the log level admits to `callback` instead of stderr; NULL restores
 *  stderr. The callback may be called from any thread that calls into kerntune, one call at a
 *  time (kerntune holds a lock meanwhile), so it must be quick and must not call
 *  kt_set_log_callback or kt_set_log_level (they return KT_ERROR_INVALID_ARGUMENT there);
 *  messages kerntune would log from inside it are dropped. Once this returns, the previous
 *  callback is not running and is never called again, so its user_data may be freed. */
kt_status kt_set_log_callback(kt_log_callback callback, void* user_data);

/** Sets the most detailed level logged, process-wide, overriding $KERNTUNE_LOG_LEVEL. A level
 *  outside KT_LOG_OFF..KT_LOG_DEBUG is KT_ERROR_INVALID_ARGUMENT and changes nothing. */
kt_status kt_set_log_level(kt_log_level level);
/** The name of a status: "ok", "invalid argument", "no device", "CUDA error", "compile error",
 *  "internal error"; "unknown status" for a value that is none of these. A static string, never
 *  NULL; kt_last_error() says what went wrong in the call that returned the status. */
const char* kt_status_string(kt_status status);

/** The version of the libkerntune this process runs, "MAJOR.MINOR.PATCH" (e.g. "0.2.0"). Compare
 *  it with KERNTUNE_VERSION_STRING (kerntune/version.h), the header the application was compiled
 *  with. A static string, never NULL. */
const char* kt_get_version(void);

#ifdef __cplusplus
}
#endif

#endif /* KERNTUNE_H */
