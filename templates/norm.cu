// layer_norm and rms_norm over the `reduce` axis of a contiguous [outer, reduce, inner] tensor,
// as torch.nn.functional.layer_norm and rms_norm (the normalized dims flattened into `reduce`,
// inner == 1; rms_norm over one inner dim k: inner > 1), in float, rounded once to T:
//   layer_norm: y = (x - mean) * rsqrt(var + eps) * weight + bias   (var biased: / reduce)
//   rms_norm:   y = x * rsqrt(mean(x^2) + eps) * weight
// weight and bias (reduce elements each) are optional: NULL leaves their term out.
//
// inner == 1: a row group of THREADS threads owns a row, ROWS groups per block; a cluster of
// CLUSTER blocks splits a row and combines the blocks' statistics through distributed shared
// memory, or with a workspace (SPLIT, few rows) a team of the grid's blocks through it
// (row_team). Each block keeps its part of the row in dynamic shared memory when the launch
// gave it room (one read of the row from memory); otherwise it reads the row in each pass (two
// for rms_norm, three for layer_norm).
// inner > 1: a thread per (outer, inner) column, cached in shared memory when it fits.
#include "kt_reduce.cuh"

namespace kt {

/// The statistics' sums fold plain runs of 16 terms (folded_sum): compensating every term made
/// the bf16 rms_norm of 65536 x 4096 7 % slower on the H200 (324 against 302 us), and the
/// accuracy tests pass with either.
constexpr int norm_span = 16;

/// (v - center)^2, summed for the variance (layer_norm: around the mean) or the mean square
/// (rms_norm: around 0).
struct squared_from {
    float center;
    __device__ __forceinline__ float operator()(float v) const {
        const float d = v - center;
        return d * d;
    }
};

/// 1 / sqrt(v) from the correctly rounded square root and division, within an ulp; rsqrtf is
/// within 2, and with it a 35-element layer_norm had 2.5 x torch's error on the H200. Once a row.
__device__ __forceinline__ float inverse_root(float v) { return 1.0f / sqrtf(v); }

/// The affine part: weight and bias (either may be NULL), indexed by position in the row.
template <typename T> struct affine {
    const T* weight;
    const T* bias;
    /// v[k] * weight[i + k] + bias[i + k] for an N-element step at i (16-byte aligned if N > 1).
    template <int N> __device__ __forceinline__ void apply(float (&v)[N], long long i) const {
        if (weight) {
            const elements<T, N> w = *reinterpret_cast<const elements<T, N>*>(weight + i);
#pragma unroll
            for (int k = 0; k < N; ++k) v[k] *= to_float(w.v[k]);
        }
        if (bias) {
            const elements<T, N> b = *reinterpret_cast<const elements<T, N>*>(bias + i);
#pragma unroll
            for (int k = 0; k < N; ++k) v[k] += to_float(b.v[k]);
        }
    }
};

/// A float summed over the row: the row group's partial sums, then the team's, added in
/// double (so the tree adds no rounding: the total is rounded once); `turn` counts the row
/// reductions of the block, whose team slots alternate (a slot is rewritten only after a
/// barrier that every reader of its last value has passed).
template <int THREADS>
__device__ __forceinline__ float row_total(float partial, row_team& team, double* scratch, double* slots, int& turn) {
    const double total = team.reduce(group_reduce<THREADS>(static_cast<double>(partial), sum_op{}, scratch), sum_op{},
                                     &slots[turn++ & 1]);
    return static_cast<float>(total);
}

/// One row part, in two passes for the statistics (CENTER: the mean, then the squares around
/// it; else the squares alone), both compensated sums: exact to a few ulps for any offset and
/// length, where a one-pass Welford update lost more than twice torch's accuracy on rows of
/// 4099 floats and longer (on the H200). Then the outputs. `coefficients` points at the part's
/// first column.
template <bool CENTER, typename T, int THREADS, int N, bool PEEL>
__device__ __forceinline__ void norm_part(const T* src, T* dst, const affine<T>& coefficients, T* cache, long long count,
                                          long long cols, float eps, bool valid, row_team& team, double* scratch,
                                          double* slots, int& turn) {
    const T* data = cache ? cache_part<THREADS, T, N, PEEL>(cache, src, valid ? count : 0) : src;
    float center = 0.0f;
    if (CENTER) {
        const float sum = valid ? part_sum<norm_span, THREADS, T, N>(data, count, as_is{}) : 0.0f;
        center = row_total<THREADS>(sum, team, scratch, slots, turn) / static_cast<float>(cols);
    }
    const float squares = valid ? part_sum<norm_span, THREADS, T, N>(data, count, squared_from{center}) : 0.0f;
    const float scale = inverse_root(row_total<THREADS>(squares, team, scratch, slots, turn) / static_cast<float>(cols) + eps);
    if (!valid) return;
    for_my_elements<THREADS, T, N>(data, count, [&](long long i, const elements<T, N>& e, int) {
        float v[N];
#pragma unroll
        for (int k = 0; k < N; ++k) v[k] = (to_float(e.v[k]) - center) * scale;
        coefficients.apply(v, i);
        elements<T, N> out;
#pragma unroll
        for (int k = 0; k < N; ++k) out.v[k] = from_float<T>(v[k]);
        *reinterpret_cast<elements<T, N>*>(dst + i) = out;
    });
}

template <bool CENTER, typename T, int THREADS, int ROWS, int PATH>
__device__ __forceinline__ void norm_rows(const T* __restrict__ x, const affine<T>& coefficients, T* __restrict__ y,
                                          long long outer, long long cols, float eps, unsigned* workspace) {
    constexpr int V = 16 / sizeof(T);
    __shared__ double scratch[scratch_size<THREADS, ROWS>()];
    __shared__ double slots[2];
    row_team team(workspace);
    const row_part part = my_row_part(team, cols, V);
    // 16-byte steps when compiled in and every row, the weight and the bias start on 16 bytes;
    // else peeled or single elements, as PATH says.
    const bool vector = PATH == vectors_path && cols % V == 0 && aligned_16(x, y, coefficients.weight, coefficients.bias);
    T* cache = row_cache<THREADS, ROWS, T>(part);
    const affine<T> mine{coefficients.weight ? coefficients.weight + part.begin : nullptr,
                         coefficients.bias ? coefficients.bias + part.begin : nullptr};
    int turn = 0;
    for_my_rows<THREADS, ROWS>(team, outer, [&](long long row, bool valid) {
        const long long offset = (valid ? row : 0) * cols + part.begin;
        if (vector)
            norm_part<CENTER, T, THREADS, V, peels<PATH>()>(x + offset, y + offset, mine, cache, part.count, cols, eps, valid, team, scratch,
                                             slots, turn);
        else
            norm_part<CENTER, T, THREADS, 1, peels<PATH>()>(x + offset, y + offset, mine, cache, part.count, cols, eps, valid, team, scratch,
                                             slots, turn);
    });
}

/// A thread per column. When the launch gave the block room (blockDim.x * reduce elements), each
/// thread copies its column into shared memory (element r at r * blockDim.x + threadIdx.x: no
/// bank conflicts) and the later passes read it there: one read of the column from memory.
template <bool CENTER, typename T>
__device__ __forceinline__ void norm_columns(const T* __restrict__ x, const affine<T>& coefficients, T* __restrict__ y,
                                             long long outer, long long reduce, long long inner, float eps) {
    extern __shared__ __align__(16) unsigned char dynamic_shared[];
    const bool cached = dynamic_shared_bytes() >= blockDim.x * reduce * sizeof(T);
    T* cache = reinterpret_cast<T*>(dynamic_shared) + threadIdx.x;
    for_my_columns(outer, reduce, inner, [&](long long, long long offset) {
        const T* src = x + offset;
        if (cached) copy_column(cache, blockDim.x, src, reduce, inner);
        const T* data = cached ? cache : src;
        const long long stride = cached ? blockDim.x : inner;
        const float center = CENTER ? column_sum<norm_span>(data, reduce, stride, as_is{}) / static_cast<float>(reduce) : 0.0f;
        const float scale = inverse_root(column_sum<norm_span>(data, reduce, stride, squared_from{center}) / static_cast<float>(reduce) + eps);
#pragma unroll 4
        for (long long r = 0; r < reduce; ++r) {
            float v[1] = {(to_float(data[r * stride]) - center) * scale};
            coefficients.apply(v, r);
            y[offset + r * inner] = from_float<T>(v[0]);
        }
    });
}

template <bool CENTER, typename T, int THREADS, int ROWS, int PATH>
__device__ __forceinline__ void norm_any(const T* x, const affine<T>& coefficients, T* y, long long outer, long long reduce,
                                         long long inner, float eps, unsigned* workspace) {
    if (takes_rows<PATH>(inner))
        norm_rows<CENTER, T, THREADS, ROWS, PATH>(x, coefficients, y, outer, reduce, eps, workspace);
    else
        norm_columns<CENTER, T>(x, coefficients, y, outer, reduce, inner, eps);
}

template <typename T, int THREADS, int ROWS, int PATH>
__global__ void __launch_bounds__(THREADS * ROWS)
    layer_norm(const T* x, const T* weight, const T* bias, T* y, long long outer, long long reduce, long long inner, float eps,
               unsigned* workspace) {
    norm_any<true, T, THREADS, ROWS, PATH>(x, affine<T>{weight, bias}, y, outer, reduce, inner, eps, workspace);
}

template <typename T, int THREADS, int ROWS, int PATH>
__global__ void __launch_bounds__(THREADS * ROWS)
    rms_norm(const T* x, const T* weight, T* y, long long outer, long long reduce, long long inner, float eps,
             unsigned* workspace) {
    norm_any<false, T, THREADS, ROWS, PATH>(x, affine<T>{weight, nullptr}, y, outer, reduce, inner, eps, workspace);
}

// The references: one warp per (outer, inner) column, in double (two passes: the mean, then the
// variance around it), rounded once to T. They take the kernels' arguments; their launch has no
// workspace.
template <typename T, bool CENTER>
__device__ __forceinline__ void norm_reference(const T* x, const T* weight, const T* bias, T* y, long long outer,
                                               long long reduce, long long inner, float eps) {
    const long long column = reference_column(outer, inner);
    if (column < 0) return;  // the whole warp
    const long long offset = column_offset(column, reduce, inner);
    const int lane = threadIdx.x % 32;
    double mean = 0.0;
    if (CENTER) {
        for (long long r = lane; r < reduce; r += 32) mean += to_float(x[offset + r * inner]);
        mean = warp_reduce(mean, sum_op{}) / static_cast<double>(reduce);
    }
    double squares = 0.0;
    for (long long r = lane; r < reduce; r += 32) {
        const double d = to_float(x[offset + r * inner]) - mean;
        squares += d * d;
    }
    const double scale = 1.0 / sqrt(warp_reduce(squares, sum_op{}) / static_cast<double>(reduce) + eps);
    for (long long r = lane; r < reduce; r += 32) {
        double v = (to_float(x[offset + r * inner]) - mean) * scale;
        if (weight) v *= to_float(weight[r]);
        if (bias) v += to_float(bias[r]);
        y[offset + r * inner] = from_float<T>(static_cast<float>(v));
    }
}

template <typename T>
__global__ void layer_norm_reference(const T* x, const T* weight, const T* bias, T* y, long long outer, long long reduce,
                                     long long inner, float eps, unsigned*) {
    norm_reference<T, true>(x, weight, bias, y, outer, reduce, inner, eps);
}

template <typename T>
__global__ void rms_norm_reference(const T* x, const T* weight, T* y, long long outer, long long reduce, long long inner,
                                   float eps, unsigned*) {
    norm_reference<T, false>(x, weight, nullptr, y, outer, reduce, inner, eps);
}

} // namespace kt
