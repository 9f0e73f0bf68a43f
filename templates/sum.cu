// sum and mean over the `reduce` axis of a contiguous [outer, reduce, inner] tensor, as
// torch.sum(x, dim) and torch.mean(x, dim): accumulated in float, mean = sum * (1 / reduce),
// rounded once to T; the output is [outer, inner] (keepdim only changes its shape).
//
// inner == 1: a row group of THREADS threads sums a row, ROWS groups per block; a cluster of
// CLUSTER blocks splits a row and adds the blocks' partial sums through distributed shared
// memory (for few, long rows). inner > 1: a thread per (outer, inner) column.
#include "kt_convert.cuh"
#include "kt_reduce.cuh"

namespace kt {

/// The thread's partial sum of a part: 4 x N compensated accumulators (a thread may add a
/// million elements of a row: plain float sums lost twice torch's accuracy there, on the H200).
template <typename T, int THREADS, int N> __device__ __forceinline__ float part_sum(const T* src, long long count) {
    compensated_sum partial[batch][N];
    for_my_elements<THREADS, T, N>(src, count, [&](long long, const elements<T, N>& e, int b) {
#pragma unroll
        for (int k = 0; k < N; ++k) partial[b][k].add(to_float(e.v[k]));
    });
    compensated_sum s;
#pragma unroll
    for (int b = 0; b < batch; ++b)
#pragma unroll
        for (int k = 0; k < N; ++k) s.add(partial[b][k].sum);
    return s.sum;
}

template <typename T, int THREADS, int ROWS, bool MEAN>
__device__ __forceinline__ void sum_rows(const T* __restrict__ x, T* __restrict__ y, long long outer, long long cols) {
    constexpr int V = 16 / sizeof(T);
    __shared__ float scratch[ROWS * 32];
    __shared__ float slots[2];  // by row parity: a slot is rewritten only after a barrier its readers passed
    const unsigned blocks_per_row = cluster_size();
    const row_part part = my_row_part(cols, V);
    const bool vector = cols % V == 0 && reinterpret_cast<unsigned long long>(x) % 16 == 0;
    const int group = threadIdx.x / THREADS;
    const long long row_blocks = (outer + ROWS - 1) / ROWS;
    int parity = 0;
    // Uniform across the block: every thread runs every iteration (the reductions synchronise).
    for (long long row_block = blockIdx.x / blocks_per_row; row_block < row_blocks; row_block += gridDim.x / blocks_per_row) {
        const long long row = row_block * ROWS + group;
        const bool valid = row < outer;
        const T* src = x + (valid ? row : 0) * cols + part.begin;
        float s = 0.0f;
        if (valid) s = vector ? part_sum<T, THREADS, V>(src, part.count) : part_sum<T, THREADS, 1>(src, part.count);
        s = cluster_reduce(group_reduce<THREADS>(s, sum_op{}, scratch), sum_op{}, &slots[parity]);
        parity ^= 1;
        if (valid && cluster_rank() == 0 && threadIdx.x % THREADS == 0)
            y[row] = from_float<T>(MEAN ? s * (1.0f / static_cast<float>(cols)) : s);
    }
    cluster_done();
}

template <typename T, bool MEAN>
__device__ __forceinline__ void sum_columns(const T* __restrict__ x, T* __restrict__ y, long long outer, long long reduce,
                                            long long inner) {
    const long long columns = outer * inner;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    for (long long c = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; c < columns; c += stride) {
        const long long o = c / inner;
        const T* src = x + o * reduce * inner + (c - o * inner);
        compensated_sum partial[batch];
        long long r = 0;
        for (; r + batch <= reduce; r += batch)
#pragma unroll
            for (int b = 0; b < batch; ++b) partial[b].add(to_float(src[(r + b) * inner]));
        for (; r < reduce; ++r) partial[0].add(to_float(src[r * inner]));
        compensated_sum total;
#pragma unroll
        for (int b = 0; b < batch; ++b) total.add(partial[b].sum);
        const float s = total.sum;
        y[c] = from_float<T>(MEAN ? s * (1.0f / static_cast<float>(reduce)) : s);
    }
}

template <typename T, int THREADS, int ROWS, bool MEAN>
__device__ __forceinline__ void sum_any(const T* x, T* y, long long outer, long long reduce, long long inner) {
    if (inner == 1)
        sum_rows<T, THREADS, ROWS, MEAN>(x, y, outer, reduce);
    else
        sum_columns<T, MEAN>(x, y, outer, reduce, inner);
}

template <typename T, int THREADS, int ROWS>
__global__ void __launch_bounds__(THREADS * ROWS) sum(const T* x, T* y, long long outer, long long reduce, long long inner) {
    sum_any<T, THREADS, ROWS, false>(x, y, outer, reduce, inner);
}

template <typename T, int THREADS, int ROWS>
__global__ void __launch_bounds__(THREADS * ROWS) mean(const T* x, T* y, long long outer, long long reduce, long long inner) {
    sum_any<T, THREADS, ROWS, true>(x, y, outer, reduce, inner);
}

// The references: one warp per (outer, inner) column, in double, rounded once to T.
template <typename T, bool MEAN>
__device__ __forceinline__ void sum_reference_any(const T* x, T* y, long long outer, long long reduce, long long inner) {
    const long long column = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    const int lane = threadIdx.x % 32;
    if (column >= outer * inner) return;  // the whole warp
    const long long o = column / inner;
    const long long offset = o * reduce * inner + (column - o * inner);
    double s = 0.0;
    for (long long r = lane; r < reduce; r += 32) s += to_float(x[offset + r * inner]);
    for (int d = 16; d > 0; d >>= 1) s += __shfl_xor_sync(0xffffffffu, s, d);
    if (lane == 0) y[column] = from_float<T>(static_cast<float>(MEAN ? s / static_cast<double>(reduce) : s));
}

template <typename T> __global__ void sum_reference(const T* x, T* y, long long outer, long long reduce, long long inner) {
    sum_reference_any<T, false>(x, y, outer, reduce, inner);
}

template <typename T> __global__ void mean_reference(const T* x, T* y, long long outer, long long reduce, long long inner) {
    sum_reference_any<T, true>(x, y, outer, reduce, inner);
}

} // namespace kt
