#pragma once
// Regimes: the ranges of problems a config may be borrowed across (DESIGN.md, select_config:
// "exact, then nearest within the same regime"). A spec declares them as an integer expression
// (`regimes:`), its value the regime's number; the heuristics a one-axis spec gets when it
// declares none live here too, beside their reasons.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/dtype.hpp"
#include "core/kernel_spec.hpp"
#include "core/problem.hpp"

namespace kerntune {

/// What a regime expression may read about the GPU, besides the problem's axes, sizeof(T) and
/// bytes_moved (the spec's bytes_moved for the problem): the launch rules' device limits and the
/// L2 size. All of them are known wherever a lookup runs (the runtime queries the device; the
/// GPU identity of a tuned row is the caller's, so its regime is computed with the same facts).
struct regime_device {
    device_limits limits;
    std::int64_t l2_bytes = 0;
};

/// The names a regime expression may read besides the axes: sizeof(T), bytes_moved,
/// sm_count, max_threads_per_sm, shared_memory_per_sm, max_shared_memory_per_block,
/// max_cluster_size and l2_bytes.
const std::set<std::string>& regime_names();

/// The regime of `shape` for `type` on `device`: the spec's expression evaluated; 0 for every
/// problem when the spec declares none (one regime). Nothing when the expression cannot be
/// evaluated for it (an overflow, a division by zero): such a problem is in no regime, so
/// nothing is borrowed into or out of it.
std::optional<std::int64_t> regime_of(const kernel_spec& spec, dtype type, const problem& shape,
                                      const regime_device& device);

/// The regimes of a one-axis spec that declares none (leaky_relu's, whose YAML text keys every
/// row tuned with it, so it cannot gain the field without retiring them):
///   0 launch-bound: bytes_moved <= sm_count * max_threads_per_sm * 32, one wave of resident
///     threads each reading and writing one 16-byte vector (8.6 MB on an H200). Below it the
///     GPU cannot be filled and a launch's fixed costs dominate: on the H200, leaky_relu f32 at
///     n = 2^20 (8.4 MB) ran at 30 % of theoretical with a grid-stride config
///     (blk128.vec1.unr8.plain.stride.w4), where 2^24 ran at 78 % with one tile per block.
///   1 L2-resident: bytes_moved <= l2_bytes: every byte read and written fits in L2 (60 MiB on
///     an H200), so writes need not reach DRAM before the kernel ends.
///   2 DRAM-streaming: the rest; at 2^24 (134 MB) and 1.6e9 elements the winners were tile
///     configs at 78 % and 89 % of theoretical.
std::string default_one_axis_regimes();

/// The shapes a one-axis spec that declares none is tuned at (`kerntune tune` without --shape):
/// at least one point well inside every regime of default_one_axis_regimes for 2- and 4-byte
/// elements on GPUs of H100/H200 size, plus the 4096 x 393216:
///   4096, 65536 and 1048576 (launch-bound: 2^12 a block or two, as small a kernel as a call
///     makes, where the H200's winners were smaller blocks than at 2^16 by 0.2 us of 3.6;
///     2^16 a few blocks, 2^20 about one wave),
///   4194304 (L2: 16.8 MB of f16, 33.6 MB of f32, a factor ~2 from both boundaries),
///   16777216, 134217728 and 1610612736 (DRAM: the ramp after L2, 1 GiB of f32, the issue's
///   size, where the H200's winners differed: a small tile, two in flight, bulk copies).
/// Lean on purpose: the main job tunes every built-in op at its defaults; the six small ones
/// take about a second a dtype, the largest five to seven seconds.
std::vector<tensor_shape> default_one_axis_shapes();

/// The regimes of a row reduction over [outer, reduce, inner], for a spec whose `regimes:` is
/// the word `rows` (softmax, layer_norm, rms_norm and sum share them: one kernel structure, a
/// row group of THREADS threads, ROWS rows a block, CLUSTER blocks a row). By the bytes of a row
/// (reduce * sizeof(T)) in steps of 2 up to 4 KiB, where the winners' row group grows with the
/// row (the H200's: 4 to 8 threads a row for 100 floats, 8 to 16 for 300, a warp for 768), then
/// past 4 KiB by alignment and by the row count, where the winners start to split rows over
/// clusters:
///   0 rows of <= 256 bytes (several rows a warp), 1 <= 512, 2 <= 1 KiB, 3 <= 2 KiB, 4 <= 4 KiB
///     (a warp a row: 32 lanes x 8 16-byte vectors), whatever their count;
///   5 rows past 4 KiB whose bytes are no multiple of 16 (4097 floats): another kernel (PATH
///     peeled: 16-byte steps between a head and a tail of single elements), whatever their count;
///   6 <= 8 KiB, 8 <= 16 KiB, 10 <= 64 KiB: a warp to a block a row, several rows a block;
///   12 rows one block caches in shared memory (up to max_shared_memory_per_block less the
///     4 KiB of static scratch: 223 KiB on an H200);
///   14 longer rows, which only a cluster's blocks cache between them;
///   7, 9, 11, 13, 15: the same rows, fewer than 4 an SM (the H200's winners: clusters of 2 to
///     16 that spread a row over the idle SMs, where 4 rows an SM or more kept one block a row);
///   16 columns (inner > 1): another code path (a thread per column; sum and mean: ROWS).
/// Why steps of 2: with two regimes from 257 bytes to 4 KiB (ending at 1 and 4 KiB), a rung at
/// 768 floats served rows of 300, whose winners hold 2 to 4 times fewer threads a row: 3 to 27 %
/// slower than their own optimum (bench/SWEEP_H200.md, fourteenth session).
std::string row_reduction_regimes();

/// The ladder of `regimes: rows`, tuned by `kerntune tune --op OP` without --shape before the
/// spec's own `shapes`: a shape inside every regime above for 2- and 4-byte elements alike on
/// the H100, H200 and A100, and in every regime of rows up to 4 KiB one of whole 16-byte vectors
/// and one of an odd length (the peeled code: 16-byte steps between a head and a tail), whose
/// winners hold more threads a row (the lookup takes a tuned shape of the wanted one's code
/// first; tests/unit/test_core_regime.cpp checks both), 0.25 to 64 million elements but for the
/// issue's 4096 x 393216, so that the main job stays within minutes. The short rows sit at the
/// middle of their regimes in f32 (1.5 times a power of two bytes, odd ones an element past):
/// regimes (f32, bf16)
///   262144x64 (0, 0), 65536x49 (0, 0: bf16 under 160 bytes, single elements), 65536x96 (1, 0),
///   65536x97 (1, 0), 65536x193 (2, 1), 65536x200 (2, 1), 65536x384 (3, 2), 65536x385 (3, 2),
///   65536x768 (4, 3: LLM hidden size), 65536x769 (4, 3), 32768x1536 (6, 4), 32768x1537 (5, 4),
///   64x1536 (7, 4), 16384x4096 (8, 6), 64x4096 (9, 7), 8192x6144 (10, 8), 64x6144 (11, 9),
///   4096x12288 (10, 10), 64x12288 (11, 11), 2048x36864 (12, 12), 64x36864 (13, 13),
///   4096x393216 (14, 14), 32x1048576 (15, 15), 8192x2049 and 512x32769 (5, 5),
///   64x128x4096 (16, 16).
std::vector<tensor_shape> row_reduction_shapes();

} // namespace kerntune
