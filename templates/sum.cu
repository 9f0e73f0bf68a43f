// sum and mean over the `reduce` axis of a contiguous [outer, reduce, inner] tensor, as
// torch.sum(x, dim) and torch.mean(x, dim): accumulated in float, mean = sum * (1 / reduce),
// rounded once to T; the output is [outer, inner] (keepdim only changes its shape).
//
// inner == 1: a row group of THREADS threads sums a row, ROWS groups per block; a cluster of
// CLUSTER blocks splits a row and adds the blocks' partial sums through distributed shared
// memory, or with a workspace (SPLIT) a team of the grid's blocks through it (for few, long
// rows). inner > 1: ROWS threads per (outer, inner) column, THREADS columns a block. PATH
// (kt_reduce.cuh's row_path) says which of these codes a kernel is compiled with.
#include "kt_reduce.cuh"

namespace kt {

/// Every term of the sum is compensated (folded_sum's SPAN 1): the sum is the result.
constexpr int every_term = 1;

template <typename T, int THREADS, int ROWS, int PATH, bool MEAN>
__device__ __forceinline__ void sum_rows(const T* __restrict__ x, T* __restrict__ y, long long outer, long long cols,
                                         unsigned* workspace) {
    constexpr int V = 16 / sizeof(T);
    // The tree adds in double: the row's sum is rounded once, at the end.
    __shared__ double scratch[scratch_size<THREADS, ROWS>()];
    __shared__ double slots[2];  // by row parity: a slot is rewritten only after a barrier its readers passed
    row_team team(workspace);
    const row_part part = my_row_part(team, cols, V);
    const bool vector = PATH == vectors_path && cols % V == 0 && aligned_16(x, nullptr);
    int parity = 0;
    for_my_rows<THREADS, ROWS>(team, outer, [&](long long row, bool valid) {
        const T* src = x + (valid ? row : 0) * cols + part.begin;
        double s = 0.0;
        if (valid)
            s = vector ? part_sum<every_term, THREADS, T, V>(src, part.count, as_is{})
                       : peels<PATH>() ? peeled_part_sum<every_term, THREADS>(src, part.count, as_is{})
                                       : part_sum<every_term, THREADS, T, 1>(src, part.count, as_is{});
        s = team.reduce(group_reduce<THREADS>(s, sum_op{}, scratch), sum_op{}, &slots[parity]);
        parity ^= 1;
        if (valid && team.rank() == 0 && threadIdx.x % THREADS == 0)
            y[row] = from_float<T>(MEAN ? static_cast<float>(s) * (1.0f / static_cast<float>(cols)) : static_cast<float>(s));
    });
}

/// inner > 1: a block sums THREADS adjacent columns at a time, its ROWS slices of THREADS
/// threads each taking every ROWS-th element of them (slice k: elements k, k + ROWS, ...), the
/// slices' sums added in double through shared memory: a column split over a block's threads as
/// torch's reduce splits it (block.y), so that more loads are in flight than a thread a column
/// keeps. The block strides over the column groups past the grid.
template <typename T, int THREADS, int ROWS, bool MEAN>
__device__ __forceinline__ void sum_columns(const T* __restrict__ x, T* __restrict__ y, long long outer, long long reduce,
                                            long long inner) {
    __shared__ double slices[ROWS][THREADS];
    const int lane = threadIdx.x % THREADS, slice = threadIdx.x / THREADS;
    const long long columns = outer * inner, groups = (columns + THREADS - 1) / THREADS;
    const long long count = reduce > slice ? (reduce - slice + ROWS - 1) / ROWS : 0;  // the slice's elements of a column
    for (long long group = blockIdx.x; group < groups; group += gridDim.x) {
        const long long c = group * THREADS + lane;
        double s = c < columns ? column_sum<every_term>(x + column_offset(c, reduce, inner) + slice * inner, count, inner * ROWS, as_is{})
                               : 0.0;
        if (ROWS > 1) {
            slices[slice][lane] = s;
            __syncthreads();
            if (slice == 0)
                for (int k = 1; k < ROWS; ++k) s += slices[k][lane];
            __syncthreads();  // the next group rewrites the slots
        }
        if (slice == 0 && c < columns)
            y[c] = from_float<T>(MEAN ? static_cast<float>(s) * (1.0f / static_cast<float>(reduce)) : static_cast<float>(s));
    }
}

template <typename T, int THREADS, int ROWS, int PATH, bool MEAN>
__device__ __forceinline__ void sum_any(const T* x, T* y, long long outer, long long reduce, long long inner,
                                        unsigned* workspace) {
    if (takes_rows<PATH>(inner))
        sum_rows<T, THREADS, ROWS, PATH, MEAN>(x, y, outer, reduce, workspace);
    else
        sum_columns<T, THREADS, ROWS, MEAN>(x, y, outer, reduce, inner);
}

template <typename T, int THREADS, int ROWS, int PATH>
__global__ void __launch_bounds__(THREADS * ROWS)
    sum(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned* workspace) {
    sum_any<T, THREADS, ROWS, PATH, false>(x, y, outer, reduce, inner, workspace);
}

template <typename T, int THREADS, int ROWS, int PATH>
__global__ void __launch_bounds__(THREADS * ROWS)
    mean(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned* workspace) {
    sum_any<T, THREADS, ROWS, PATH, true>(x, y, outer, reduce, inner, workspace);
}

// The references: one warp per (outer, inner) column, in double, rounded once to T. They take
// the kernels' arguments; their launch has no workspace.
template <typename T, bool MEAN>
__device__ __forceinline__ void sum_reference_any(const T* x, T* y, long long outer, long long reduce, long long inner) {
    const long long column = reference_column(outer, inner);
    if (column < 0) return;  // the whole warp
    const long long offset = column_offset(column, reduce, inner);
    const int lane = threadIdx.x % 32;
    double s = 0.0;
    for (long long r = lane; r < reduce; r += 32) s += to_float(x[offset + r * inner]);
    s = warp_reduce(s, sum_op{});
    if (lane == 0) y[column] = from_float<T>(static_cast<float>(MEAN ? s / static_cast<double>(reduce) : s));
}

template <typename T>
__global__ void sum_reference(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned*) {
    sum_reference_any<T, false>(x, y, outer, reduce, inner);
}

template <typename T>
__global__ void mean_reference(const T* x, T* y, long long outer, long long reduce, long long inner, unsigned*) {
    sum_reference_any<T, true>(x, y, outer, reduce, inner);
}

} // namespace kt
