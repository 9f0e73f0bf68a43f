// softmax and log_softmax over the `reduce` axis of a contiguous [outer, reduce, inner] tensor,
// with torch's formula: in float, m = max(x), s = sum(exp(x - m)), then y = exp(x - m) / s
// (softmax) or y = (x - m) - log(s) (log_softmax), rounded once to T.
//
// inner == 1 (the last dim; rows are contiguous): a row group of THREADS threads (part of a
// warp, a warp or several) owns a row, ROWS groups per block; with a cluster of C blocks
// (launch parameter CLUSTER) the C blocks split a row and combine their partial max and sum
// through distributed shared memory; with a workspace (launch parameter SPLIT, few rows) a
// team of the grid's blocks splits each row and combines them through the workspace
// (row_team). Each block keeps its part of the row in dynamic shared memory when the launch
// gave it room (one read of the row from memory); otherwise it reads the row twice: an online
// pass for the max and the sum, then the outputs.
// Rows of at most 4 KiB (PATH held_*): each row group holds its part of a row in registers and
// reads it once (softmax_held).
// inner > 1: each thread owns one (outer, inner) column and walks it, coalesced across threads.
// PATH (kt_reduce.cuh's row_path) says which of these codes a kernel is compiled with.
#include "kt_reduce.cuh"

namespace kt {

/// exp(x - max) for elements of T. float: expf, within an ulp, as torch. 16-bit T: the hardware
/// exp2 on (x - max) * log2(e), whose error (a few float ulps) is far below T's rounding.
template <typename T> __device__ __forceinline__ float exp_shifted(float x, float max) {
    if (sizeof(T) == 4) return expf(x - max);
    float result;
    asm("ex2.approx.f32 %0, %1;" : "=f"(result) : "f"((x - max) * 1.4426950408889634f));
    return result;
}

/// e / sum, given reciprocal = 1 / sum rounded. float: one Newton step on e * reciprocal, which
/// gives the rounded quotient (torch divides) in all but rare cases, within an ulp in all, for
/// 3 instructions instead of a division's dozen. 16-bit T: e * reciprocal.
template <typename T> __device__ __forceinline__ float divide(float e, float sum, float reciprocal) {
    const float q = e * reciprocal;
    return sizeof(T) == 4 ? fmaf(fmaf(-sum, q, e), reciprocal, q) : q;
}

// Without a cache the row's max and sum are gathered in one pass (online softmax), so that a
// row is read twice, not three times: a running max m and the sum of exp(x - m), rescaled by
// exp(m - m') when the max grows to m'. While the max is -inf the sum is taken against 0, so
// that -inf elements add 0 (exp(-inf - -inf) would be NaN) and a NaN anywhere still makes the
// sum, and so every output, NaN, as in the three passes.

/// The factor that takes a sum of exp(x - from) to one of exp(x - to), for to >= from.
template <typename T> __device__ __forceinline__ float rescale_factor(float from, float to) {
    return from == to ? 1.0f : (from == max_op::identity() ? 0.0f : exp_shifted<T>(from, to));
}

/// A max and the sum of exp(x - max) of some elements of a row.
struct softmax_stats {
    float max, sum;
};

__device__ __forceinline__ softmax_stats shuffle_xor(softmax_stats v, int offset) {
    return {shuffle_xor(v.max, offset), shuffle_xor(v.sum, offset)};
}

template <typename T> struct combine_stats {
    __device__ __forceinline__ softmax_stats operator()(softmax_stats a, softmax_stats b) const {
        const float m = fmaxf(a.max, b.max);
        return {m, a.sum * rescale_factor<T>(a.max, m) + b.sum * rescale_factor<T>(b.max, m)};
    }
    __device__ __forceinline__ static softmax_stats identity() { return {max_op::identity(), 0.0f}; }
};

// The passes over a row part; functors, because NVRTC compiles no generic lambdas.

/// The online pass: the running max and the sums of exp(x - max) in 4 x N accumulators.
template <typename T, int N> struct accumulate_exponentials {
    float max = max_op::identity();
    float partial[batch][N] = {};
    __device__ __forceinline__ void operator()(long long, const elements<T, N>& e, int b) {
        float m = max;
#pragma unroll
        for (int k = 0; k < N; ++k) m = fmaxf(m, to_float(e.v[k]));
        if (m != max) {  // rare after a row's first steps
            const float factor = rescale_factor<T>(max, m);
#pragma unroll
            for (int p = 0; p < batch; ++p)
#pragma unroll
                for (int k = 0; k < N; ++k) partial[p][k] *= factor;
            max = m;
        }
        const float shift = max == max_op::identity() ? 0.0f : max;
#pragma unroll
        for (int k = 0; k < N; ++k) partial[b][k] += exp_shifted<T>(to_float(e.v[k]), shift);
    }
    __device__ __forceinline__ softmax_stats stats() const {
        float s = 0.0f;
#pragma unroll
        for (int p = 0; p < batch; ++p)
#pragma unroll
            for (int k = 0; k < N; ++k) s += partial[p][k];
        return {max, s};
    }
};
template <typename T, int N> struct add_exponentials {
    float max;
    T* keep;                  // where softmax keeps exp(x - max) in place of x (a float cache), or null
    float partial[batch][N];  // the thread's sums, one per batch place and vector lane
    __device__ __forceinline__ void operator()(long long i, const elements<T, N>& e, int b) {
        elements<T, N> exponentials;
#pragma unroll
        for (int k = 0; k < N; ++k) {
            const float exponential = exp_shifted<T>(to_float(e.v[k]), max);
            partial[b][k] += exponential;
            exponentials.v[k] = from_float<T>(exponential);  // exact when T is float
        }
        if (keep) *reinterpret_cast<elements<T, N>*>(keep + i) = exponentials;
    }
};

template <typename T, int N, bool LOG> struct write_outputs {
    float max, sum, reciprocal, log_sum;
    T* dst;
    bool exponentials_kept;  // the data holds exp(x - max), not x
    __device__ __forceinline__ write_outputs(float row_max, float row_sum, T* out, bool kept)
        : max(row_max), sum(row_sum), reciprocal(1.0f / row_sum), log_sum(logf(row_sum)), dst(out),
          exponentials_kept(kept) {}
    /// The output of an element v (x, or exp(x - max) when kept).
    __device__ __forceinline__ T output(float v) const {
        return from_float<T>(LOG ? (v - max) - log_sum
                                 : divide<T>(exponentials_kept ? v : exp_shifted<T>(v, max), sum, reciprocal));
    }
    __device__ __forceinline__ void operator()(long long i, const elements<T, N>& e, int) const {
        elements<T, N> out;
#pragma unroll
        for (int k = 0; k < N; ++k) out.v[k] = output(to_float(e.v[k]));
        *reinterpret_cast<elements<T, N>*>(dst + i) = out;
    }
};

/// A row's max and sum of exponentials from each thread's (m, s): over the row group, then the
/// team. The sum's tree adds in double, so that the row's sum is rounded once, not at every
/// level: with float, rows of 127 floats came out at twice torch's error (on the H200). A double
/// takes a softmax_stats' room, in the scratch and in the second slot; the max takes the first.
template <int THREADS> __device__ __forceinline__ float row_max(float m, row_team& team, softmax_stats* scratch, softmax_stats* slots) {
    return team.reduce(group_reduce<THREADS>(m, max_op{}, reinterpret_cast<float*>(scratch)), max_op{},
                       reinterpret_cast<float*>(slots));
}
template <int THREADS> __device__ __forceinline__ float row_sum(double s, row_team& team, softmax_stats* scratch, softmax_stats* slots) {
    return static_cast<float>(team.reduce(group_reduce<THREADS>(s, sum_op{}, reinterpret_cast<double*>(scratch)),
                                          sum_op{}, reinterpret_cast<double*>(&slots[1])));
}

/// One row part: max, sum of exp(x - max), then the outputs; the row group's and the cluster's
/// partial results combined in between. With a `cache` (shared memory for the part) the part
/// is copied in once (cache_part; PEEL: as it says) and read from there in three passes; float
/// softmax keeps the exponentials in it too. Without, the part is read from memory twice: the
/// online pass, then the outputs. Sums go to 4 x N accumulators per thread (fewer roundings in
/// a row). `slots`: two per row (the cluster's reductions): the online pass's by row parity;
/// the cached passes' max in the first, their sum in the second.
// Tried on the H200: a second buffer with the next row's part copied in while this one is
// written; it halved the blocks per SM and was slower at every shape measured. The online pass
// over a cached part (max and sum while the copies land) was slower at every shape measured:
// its rescaling costs more than the pass over shared memory it saves.
/// A row part read twice from memory: the online pass, then the outputs (softmax_part without
/// a cache).
template <typename T, int THREADS, int N, bool LOG>
__device__ __forceinline__ void softmax_uncached_part(const T* src, T* dst, long long count, bool valid, row_team& team,
                                                      softmax_stats* scratch, softmax_stats* slots, int parity) {
    accumulate_exponentials<T, N> online;
    if (valid) for_my_elements<THREADS, T, N>(src, count, online);
    const softmax_stats row = team.reduce(group_reduce<THREADS>(online.stats(), combine_stats<T>{}, scratch),
                                          combine_stats<T>{}, &slots[parity]);
    const write_outputs<T, N, LOG> write(row.max, row.sum, dst, false);
    if (valid) for_my_elements<THREADS, T, N>(src, count, write);
}

template <typename T, int THREADS, int N, bool PEEL, bool LOG>
__device__ __forceinline__ void softmax_part(const T* src, T* dst, T* cache, long long count, bool valid,
                                             row_team& team, softmax_stats* scratch, softmax_stats* slots, int parity) {
    if (!cache) return softmax_uncached_part<T, THREADS, N, LOG>(src, dst, count, valid, team, scratch, slots, parity);
    T* const part = cache_part<THREADS, T, N, PEEL>(cache, src, valid ? count : 0);
    float m = max_op::identity();
    if (valid)
        for_my_elements<THREADS, T, N>(part, count, [&](long long, const elements<T, N>& e, int) {
#pragma unroll
            for (int k = 0; k < N; ++k) m = fmaxf(m, to_float(e.v[k]));
        });
    m = row_max<THREADS>(m, team, scratch, slots);

    const bool keep = !LOG && sizeof(T) == 4;
    add_exponentials<T, N> adder{m, keep ? part : nullptr, {}};
    if (valid) for_my_elements<THREADS, T, N>(part, count, adder);
    float s = 0.0f;
#pragma unroll
    for (int b = 0; b < batch; ++b)
#pragma unroll
        for (int k = 0; k < N; ++k) s += adder.partial[b][k];
    s = row_sum<THREADS>(s, team, scratch, slots);

    const write_outputs<T, N, LOG> write(m, s, dst, keep);
    if (valid) for_my_elements<THREADS, T, N>(part, count, write);
}

/// A row part held in registers (PATH held_*) in V-element steps whatever its offset: its body,
/// from the part's first V-element boundary on, in whole steps (held_part), and the fewer than V
/// elements before it (the head) and after it (the tail, peel), thread t holding head and tail
/// elements t, t + THREADS, ... (EDGE of each at most). V = 16 / sizeof(T): 16-byte loads and
/// stores for rows of any length and offset (32768 rows of 450 bf16 took 61.5 us in single
/// 2-byte steps on the H200, 23 % of the copy rate, and 26.9 us so); V = 1: single elements,
/// for an output whose offset from the input is not a multiple of 16 bytes.
template <int THREADS, int ITEMS, typename T, int V> struct held_row_part {
    static constexpr int EDGE = V > 1 ? (V - 2 + THREADS) / THREADS : 1;  // 1 when V is 1: names the arrays
    int count, head, tail;  ///< the part's length; where its body starts and where it ends (a held row fits an int)
    held_part<THREADS, ITEMS, T, V> body;
    float edge[2][EDGE];  ///< the thread's head elements, then its tail elements (absent: `absent`)

    /// Loads the part (count elements from src; 0 for a group without a row).
    __device__ __forceinline__ held_row_part(const T* src, long long elements, float absent)
        : count(static_cast<int>(elements)), head(V > 1 ? static_cast<int>(peel(src, elements).head) : 0),
          tail(head + (count - head) / V * V),
          body(src + head, tail - head, absent) {
#pragma unroll
        for (int j = 0; j < EDGE; ++j) {
            const int h = edge_index(0, j), t = edge_index(1, j);
            edge[0][j] = present(0, h) ? to_float(src[h]) : absent;
            edge[1][j] = present(1, t) ? to_float(src[t]) : absent;
        }
    }
    /// The place in the part of the thread's j-th head (side 0) or tail (side 1) element.
    __device__ __forceinline__ int edge_index(int side, int j) const {
        return (side ? tail : 0) + threadIdx.x % THREADS + j * THREADS;
    }
    __device__ __forceinline__ bool present(int side, int i) const { return V > 1 && i < (side ? count : head); }

    /// Calls f(v) for every value the thread holds, absent ones (`absent`) included.
    template <typename F> __device__ __forceinline__ void for_all(F&& f) {
#pragma unroll
        for (int s = 0; s < body.steps; ++s)
#pragma unroll
            for (int k = 0; k < V; ++k) f(body.v[s][k]);
#pragma unroll
        for (int j = 0; j < EDGE; ++j) {
            f(edge[0][j]);
            f(edge[1][j]);
        }
    }
    /// Calls f(v, i) for the value of every element the thread holds (v may be changed), i its
    /// place among the thread's values (a constant once unrolled).
    template <typename F> __device__ __forceinline__ void for_present(F&& f) {
#pragma unroll
        for (int s = 0; s < body.steps && s < body.present; ++s)
#pragma unroll
            for (int k = 0; k < V; ++k) f(body.v[s][k], s * V + k);
#pragma unroll
        for (int j = 0; j < EDGE; ++j)
#pragma unroll
            for (int side = 0; side < 2; ++side)
                if (present(side, edge_index(side, j))) f(edge[side][j], body.steps * V + 2 * j + side);
    }
    /// Stores out(v) of every element the thread holds at its place in dst (the part's output).
    template <typename F> __device__ __forceinline__ void store(T* dst, F&& out) const {
        T* const mine = dst + head + body.first;
#pragma unroll
        for (int s = 0; s < body.steps && s < body.present; ++s) {
            elements<T, V> e;
#pragma unroll
            for (int k = 0; k < V; ++k) e.v[k] = out(body.v[s][k]);
            *reinterpret_cast<elements<T, V>*>(mine + s * body.step) = e;
        }
#pragma unroll
        for (int j = 0; j < EDGE; ++j)
#pragma unroll
            for (int side = 0; side < 2; ++side) {
                const int i = edge_index(side, j);
                if (present(side, i)) dst[i] = out(edge[side][j]);
            }
    }
};

/// One row part held in registers (PATH held_*; it fits, held_part::fits): read once, then the
/// max, the exponentials (kept in place of x for softmax) and their sum, and the outputs, with
/// the row group's and the team's results combined in between as softmax_part does.
template <typename T, int THREADS, int ITEMS, int V, bool LOG>
__device__ __forceinline__ void softmax_held(const T* src, T* dst, long long count, bool valid, row_team& team,
                                             softmax_stats* scratch, softmax_stats* slots) {
    held_row_part<THREADS, ITEMS, T, V> part(src, valid ? count : 0, max_op::identity());
    float m = max_op::identity();
    part.for_all([&](float& v) { m = fmaxf(m, v); });
    m = row_max<THREADS>(m, team, scratch, slots);

    // Each thread adds its exponentials to 4 float sums by turns, which it adds in double: with
    // one float sum, a row group of 8 threads holding rows of 100 to 128 floats (16 a thread)
    // came out over twice torch's error on 2 to 4.5 % of random rows on the H200, worst 3.6
    // times. A double sum a thread (a conversion an element) cost bf16 rows of 100 to 450 5 to
    // 8 % of their time.
    constexpr int SUMS = 4;
    float sums[SUMS] = {};
    part.for_present([&](float& v, int i) {  // absent values would add 0
        const float exponential = exp_shifted<T>(v, m);
        sums[i % SUMS] += exponential;
        if (!LOG) v = exponential;
    });
    double sum = 0.0;
#pragma unroll
    for (int i = 0; i < SUMS; ++i) sum += sums[i];
    sum = row_sum<THREADS>(sum, team, scratch, slots);

    const write_outputs<T, 1, LOG> write(m, sum, dst, !LOG);
    part.store(dst, [&](float v) { return write.output(v); });
}

/// Whether a and b lie the same number of bytes past a 16-byte boundary, so that a row's
/// 16-byte steps in one are 16-byte steps in the other.
__device__ __forceinline__ bool same_offset_16(const void* a, const void* b) {
    return (reinterpret_cast<unsigned long long>(a) - reinterpret_cast<unsigned long long>(b)) % 16 == 0;
}

template <typename T, int THREADS, int ROWS, int PATH, bool LOG>
__device__ __forceinline__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, long long outer, long long cols,
                                             unsigned* workspace) {
    constexpr int V = 16 / sizeof(T);
    __shared__ softmax_stats scratch[scratch_size<THREADS, ROWS>()];
    __shared__ softmax_stats slots[2];
    row_team team(workspace);
    const row_part part = my_row_part(team, cols, V);
    // Held rows (PATH held_*) in 16-byte steps between a head and a tail when the output lies
    // as far past 16 bytes as the input, else element by element. Other rows in 16-byte steps
    // when compiled in and every row starts on 16 bytes; else peeled or single elements, as
    // PATH says. A held kernel's rows always fit its registers: PATH is derived
    // from the row's length at every launch, and a part is never longer than its row rounded up
    // to V. Were one longer, the kernel traps rather than write wrong outputs; a fallback that
    // read it twice took bf16 rows of 128 to 58 registers a thread instead of 40. A held class
    // whose row group is too small for it (over 32 elements a thread, ITEMS 0: a config
    // borrowed from another shape) caches its rows, peeled: the vector code beside it took the
    // kernel to 120 registers instead of 62. A vectors kernel called on rows that do not start on
    // 16 bytes (a view into its storage) reads them element by element and twice, uncached: its
    // cached code for them doubled the kernel's compile time (NVRTC 13.0, f32: 1.05 s, 0.54 s
    // without). A loop for each code: in one loop, the values each
    // code keeps across it took held rows to 64 registers a thread instead of 32 to 40 (nvcc
    // 13.0, sm_90).
    constexpr int ITEMS = held_items<THREADS, PATH>();
    const bool vector = PATH == vectors_path && cols % V == 0 && aligned_16(x, y);
    const bool held = ITEMS > 0 && held_part<THREADS, ITEMS, T, 1>::fits(part.chunk);
    const auto offset = [&](long long row, bool valid) { return (valid ? row : 0) * cols + part.begin; };
    if (held && same_offset_16(x, y)) {
        for_my_rows<THREADS, ROWS>(team, outer, [&](long long row, bool valid) {
            const long long at = offset(row, valid);
            softmax_held<T, THREADS, ITEMS, V, LOG>(x + at, y + at, part.count, valid, team, scratch, slots);
        });
    } else if (held) {
        for_my_rows<THREADS, ROWS>(team, outer, [&](long long row, bool valid) {
            const long long at = offset(row, valid);
            softmax_held<T, THREADS, ITEMS, 1, LOG>(x + at, y + at, part.count, valid, team, scratch, slots);
        });
    } else {
        T* cache = row_cache<THREADS, ROWS, T>(part);
        int parity = 0;
        for_my_rows<THREADS, ROWS>(team, outer, [&](long long row, bool valid) {
            const long long at = offset(row, valid);
            if (ITEMS > 0)  // (here rather than before the loop: 48 registers instead of 56 for some)
                __trap();
            else if (held_row<PATH>() > 0)
                softmax_part<T, THREADS, 1, true, LOG>(x + at, y + at, cache, part.count, valid, team, scratch, slots, parity);
            else if (vector)
                softmax_part<T, THREADS, V, peels<PATH>(), LOG>(x + at, y + at, cache, part.count, valid, team, scratch, slots, parity);
            else if (PATH == vectors_path)  // a row not on 16 bytes: uncached, see above
                softmax_uncached_part<T, THREADS, 1, LOG>(x + at, y + at, part.count, valid, team, scratch, slots, parity);
            else
                softmax_part<T, THREADS, 1, peels<PATH>(), LOG>(x + at, y + at, cache, part.count, valid, team, scratch, slots, parity);
            parity ^= 1;
        });
    }
}

template <typename T, bool LOG>
__device__ __forceinline__ void softmax_columns(const T* __restrict__ x, T* __restrict__ y, long long outer,
                                                long long reduce, long long inner) {
    for_my_columns(outer, reduce, inner, [&](long long, long long offset) {
        const T* src = x + offset;
        T* dst = y + offset;
        float m = max_op::identity();
#pragma unroll 4
        for (long long r = 0; r < reduce; ++r) m = fmaxf(m, to_float(src[r * inner]));
        float s = 0.0f;
#pragma unroll 4
        for (long long r = 0; r < reduce; ++r) s += exp_shifted<T>(to_float(src[r * inner]), m);
        const float reciprocal = 1.0f / s, log_sum = logf(s);
#pragma unroll 4
        for (long long r = 0; r < reduce; ++r) {
            const float v = to_float(src[r * inner]);
            dst[r * inner] = from_float<T>(LOG ? (v - m) - log_sum : divide<T>(exp_shifted<T>(v, m), s, reciprocal));
        }
    });
}

template <typename T, int THREADS, int ROWS, int PATH, bool LOG>
__device__ __forceinline__ void softmax_any(const T* x, T* y, long long outer, long long reduce, long long inner,
                                            unsigned* workspace) {
    if (takes_rows<PATH>(inner))
        softmax_rows<T, THREADS, ROWS, PATH, LOG>(x, y, outer, reduce, workspace);
    else
        softmax_columns<T, LOG>(x, y, outer, reduce, inner);
}

template <typename T, int THREADS, int ROWS, int PATH>
__global__ void __launch_bounds__(THREADS * ROWS)
    softmax(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned* workspace) {
    softmax_any<T, THREADS, ROWS, PATH, false>(x, y, outer, reduce, inner, workspace);
}

template <typename T, int THREADS, int ROWS, int PATH>
__global__ void __launch_bounds__(THREADS * ROWS)
    log_softmax(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned* workspace) {
    softmax_any<T, THREADS, ROWS, PATH, true>(x, y, outer, reduce, inner, workspace);
}

// The references: one warp per (outer, inner) column, in double, rounded once to T. They take
// the kernels' arguments; their launch has no workspace.
template <typename T, bool LOG>
__device__ __forceinline__ void softmax_reference_any(const T* x, T* y, long long outer, long long reduce, long long inner) {
    const long long column = reference_column(outer, inner);
    if (column < 0) return;  // the whole warp
    const long long offset = column_offset(column, reduce, inner);
    const int lane = threadIdx.x % 32;
    double m = -__longlong_as_double(0x7ff0000000000000ll);
    for (long long r = lane; r < reduce; r += 32) m = fmax(m, static_cast<double>(to_float(x[offset + r * inner])));
    m = warp_reduce(m, [](double a, double b) { return fmax(a, b); });
    double s = 0.0;
    for (long long r = lane; r < reduce; r += 32) s += exp(static_cast<double>(to_float(x[offset + r * inner])) - m);
    s = warp_reduce(s, sum_op{});
    for (long long r = lane; r < reduce; r += 32) {
        const double v = to_float(x[offset + r * inner]);
        y[offset + r * inner] = from_float<T>(static_cast<float>(LOG ? (v - m) - log(s) : exp(v - m) / s));
    }
}

template <typename T>
__global__ void softmax_reference(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned*) {
    softmax_reference_any<T, false>(x, y, outer, reduce, inner);
}

template <typename T>
__global__ void log_softmax_reference(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned*) {
    softmax_reference_any<T, true>(x, y, outer, reduce, inner);
}

} // namespace kt
