// Reductions across the threads of a row group, a block and a thread-block cluster, for the
// row-wise templates (softmax, log_softmax, sum, mean). A row group is THREADS consecutive
// threads of a block (a warp, several warps or the whole block); a block holds ROWS groups.
// Every function here is called by every thread of the block the same number of times (the
// row loops are uniform across the block), because they synchronise the block.
#pragma once

namespace kt {

struct max_op {
    // fmaxf drops a NaN operand; a NaN in a row still makes its sum and every output NaN.
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
    __device__ __forceinline__ static float identity() { return -__int_as_float(0x7f800000); }  // -inf
};

struct sum_op {
    __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
    __device__ __forceinline__ static float identity() { return 0.0f; }
};

/// A compensated (Kahan) float sum: each addition's rounding error is carried into the next, so
/// a long serial run of additions stays within a few ulps instead of growing with its length.
/// (NVRTC compiles without reassociation, which would cancel the compensation.)
struct compensated_sum {
    float sum = 0.0f, carry = 0.0f;
    __device__ __forceinline__ void add(float x) {
        const float y = x - carry;
        const float t = sum + y;
        carry = (t - sum) - y;
        sum = t;
    }
};

/// v reduced over aligned groups of WIDTH lanes of a warp (WIDTH a power of two up to 32).
template <int WIDTH = 32, typename Op> __device__ __forceinline__ float warp_reduce(float v, Op op) {
#pragma unroll
    for (int offset = WIDTH / 2; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

/// v reduced over the THREADS threads of the calling thread's row group, returned to all of
/// them. Groups of up to a warp use shuffles only; larger ones also scratch: 32 floats per
/// group of the block (static shared memory, ROWS * 32).
template <int THREADS, typename Op> __device__ __forceinline__ float group_reduce(float v, Op op, float* scratch) {
    v = warp_reduce<(THREADS < 32 ? THREADS : 32)>(v, op);
    if (THREADS <= 32) return v;
    const int lane = threadIdx.x % 32, warp = (threadIdx.x % THREADS) / 32;
    float* mine = scratch + (threadIdx.x / THREADS) * 32;
    if (lane == 0) mine[warp] = v;
    __syncthreads();
    v = lane < THREADS / 32 ? mine[lane] : Op::identity();
    __syncthreads();  // every thread has read its group's partials before they are rewritten
    return warp_reduce(v, op);
}

/// Copies 16 bytes from global to shared memory without passing through registers (cp.async,
/// sm_80 and later; a plain copy before). The copies of a thread are visible to that thread
/// after async_copies_commit() and async_copies_wait().
__device__ __forceinline__ void async_copy_16(void* shared, const void* global) {
#if __CUDA_ARCH__ >= 800
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(address), "l"(global) : "memory");
#else
    *static_cast<int4*>(shared) = *static_cast<const int4*>(global);
#endif
}

/// Ends a group of this thread's copies (they go on in the background).
__device__ __forceinline__ void async_copies_commit() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

/// Waits for every copy this thread committed.
__device__ __forceinline__ void async_copies_wait() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group 0;" ::: "memory");
#endif
}

// Thread-block clusters (sm_90 and later), in PTX rather than cooperative_groups, whose headers
// need libcu++ on the include path. Before sm_90 every block is a cluster of one.

/// This block's rank in its cluster, and the cluster's size in blocks.
__device__ __forceinline__ unsigned cluster_rank() {
#if __CUDA_ARCH__ >= 900
    unsigned rank;
    asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
    return rank;
#else
    return 0;
#endif
}

__device__ __forceinline__ unsigned cluster_size() {
#if __CUDA_ARCH__ >= 900
    unsigned blocks;
    asm volatile("mov.u32 %0, %%cluster_nctarank;" : "=r"(blocks));
    return blocks;
#else
    return 1;
#endif
}

/// Every thread of every block of the cluster arrives; shared memory written before is visible
/// to the other blocks after.
__device__ __forceinline__ void cluster_sync() {
#if __CUDA_ARCH__ >= 900
    asm volatile("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;" ::: "memory");
#endif
}

/// The float at `slot` in the shared memory of block `rank` of the cluster.
__device__ __forceinline__ float load_from_block(const float* slot, unsigned rank) {
#if __CUDA_ARCH__ >= 900
    const unsigned local = static_cast<unsigned>(__cvta_generic_to_shared(slot));
    unsigned remote;
    float value;
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(local), "r"(rank));
    asm volatile("ld.shared::cluster.f32 %0, [%1];" : "=f"(value) : "r"(remote) : "memory");
    return value;
#else
    return *slot;
#endif
}

/// v (the same in every thread of the block) reduced over the blocks of the cluster, returned
/// to every thread of every block; all blocks get the same bits (the ranks are combined in
/// order). slot: one float of static shared memory per call site, so that consecutive
/// reductions never overwrite a value another block has yet to read. A cluster of 1 is v.
template <typename Op> __device__ __forceinline__ float cluster_reduce(float v, Op op, float* slot) {
    const unsigned blocks = cluster_size();
    if (blocks == 1) return v;
    if (threadIdx.x == 0) *slot = v;
    cluster_sync();
    float total = Op::identity();
    for (unsigned rank = 0; rank < blocks; ++rank) total = op(total, load_from_block(slot, rank));
    return total;
}

/// Before a block of a cluster exits: no block may leave while another could still read its
/// slots. Between rows nothing is needed: a slot is rewritten only after its writer has passed
/// the barrier of the next reduction, which every reader reaches after reading it.
__device__ __forceinline__ void cluster_done() {
    if (cluster_size() > 1) cluster_sync();
}

/// The dynamic shared memory the block was launched with, in bytes.
__device__ __forceinline__ unsigned dynamic_shared_bytes() {
    unsigned bytes;
    asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(bytes));
    return bytes;
}

/// N consecutive elements, loaded and stored as one access (16 bytes when N = 16 / sizeof(T)).
template <typename T, int N> struct alignas(sizeof(T) * N > 16 ? 16 : sizeof(T) * N) elements {
    T v[N];
};

/// Calls use(i, e, b) for this thread's N-element steps e = data[i .. i + N) of a part of
/// `count` elements (a multiple of N), the thread's steps THREADS * N apart, b = 0..3 the step's
/// place in its batch. Loads go in batches of 4, all issued before any is used, so that each
/// thread keeps 4 accesses in flight (a use that stores to shared memory would otherwise wait
/// for each load in turn). Every pass over a part visits the same indices in the same thread,
/// so a thread reads back only what it cached.
constexpr int batch = 4;

template <int THREADS, typename D, int N, typename Use>
__device__ __forceinline__ void for_my_elements(const D* data, long long count, Use&& use) {
    constexpr long long step = static_cast<long long>(THREADS) * N;
    for (long long first = (threadIdx.x % THREADS) * N; first < count; first += step * batch) {
        elements<D, N> e[batch];
#pragma unroll
        for (int b = 0; b < batch; ++b)
            if (first + b * step < count) e[b] = *reinterpret_cast<const elements<D, N>*>(data + first + b * step);
#pragma unroll
        for (int b = 0; b < batch; ++b)
            if (first + b * step < count) use(first + b * step, e[b], b);
    }
}

/// Where this block's part of a row lies when the blocks of its cluster split rows of `cols`
/// elements into equal parts of whole V-element steps (the last part may be short or empty).
struct row_part {
    long long chunk;  ///< elements per part: what a block's cache must hold
    long long begin;  ///< this block's first element in the row
    long long count;  ///< this block's elements
};

__device__ __forceinline__ row_part my_row_part(long long cols, int V) {
    const unsigned blocks = cluster_size();
    row_part part;
    part.chunk = (cols + blocks * V - 1) / (blocks * V) * V;
    part.begin = cluster_rank() * part.chunk;
    part.count = part.begin < cols ? min(part.chunk, cols - part.begin) : 0;
    return part;
}

} // namespace kt
