// LeakyReLU kernels, compiled only by NVRTC (see leaky_relu.yaml for the parameter space).
//
// Semantics are PyTorch's: the element is widened to float, y = x > 0 ? x : x * slope is
// computed in float and rounded once to the element type. NaN stays NaN, -0.0 stays -0.0,
// infinities keep their sign, subnormals are kept (NVRTC's defaults: no fast math, no
// flush-to-zero).
//
// Every variant is correct for any n and any element-aligned pointers, including in-place
// (x == y): when x and y share their offset from a VEC-element boundary the kernel peels a
// head up to x's next 128-byte boundary, runs the vector body and finishes a tail; when they
// don't, vector accesses would fault, so it takes the scalar path for everything.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace kt {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}

/// The per-element function, shared by the tuned kernels and the reference.
template <typename T> __device__ __forceinline__ T leaky_relu_element(T x, float slope) {
    const float v = to_float(x);
    return from_float<T>(v > 0.0f ? v : v * slope);
}

template <typename T, int VEC> struct alignas(sizeof(T) * VEC) vector_of {
    T v[VEC];
};

template <typename T, int VEC> __device__ __forceinline__ vector_of<T, VEC> leaky_relu_vector(vector_of<T, VEC> r, float slope) {
#pragma unroll
    for (int k = 0; k < VEC; ++k) r.v[k] = leaky_relu_element(r.v[k], slope);
    return r;
}

/// The LOAD parameter's values, as the YAML declares them.
enum load_path { plain_loads = 0, bulk_loads = 1 };

#if __CUDA_ARCH__ >= 900
// Hopper's bulk copy (cp.async.bulk, the copy engine behind TMA, here without a tensor map): one
// thread asks for a whole tile to be moved from global into shared memory, and an mbarrier
// counts the bytes as they land.
__device__ __forceinline__ unsigned shared_address(const void* p) {
    return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ void barrier_init(unsigned long long* barrier) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(shared_address(barrier)));
}

/// Makes initialised barriers visible to the copy engine.
__device__ __forceinline__ void fence_barrier_init() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

/// Starts copying `bytes` (a multiple of 16, both addresses 16-byte aligned) into shared memory;
/// `barrier` completes its current phase when they have landed.
__device__ __forceinline__ void bulk_load(void* to, const void* from, unsigned bytes, unsigned long long* barrier) {
    asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(barrier)),
                 "r"(bytes)
                 : "memory");
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];" ::"r"(
                     shared_address(to)),
                 "l"(from), "r"(bytes), "r"(shared_address(barrier))
                 : "memory");
}

__device__ __forceinline__ void barrier_wait(unsigned long long* barrier, unsigned parity) {
    asm volatile(
        "{\n .reg .pred done;\n wait_%=:\n mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n @!done bra wait_%=;\n}" ::"r"(
            shared_address(barrier)),
        "r"(parity)
        : "memory");
}

/// The vector body with bulk loads: the block's tiles of BLOCK * UNROLL 16-byte vectors go
/// through two shared-memory stages, the next tile loading while this one is processed. The
/// vectors after the last whole tile take plain loads. In place is safe: a tile is read
/// whole before any of it is written, and no other tile overlaps it.
template <typename T, int BLOCK, int VEC, int UNROLL>
__device__ __forceinline__ void bulk_body(const vector_of<T, VEC>* xv, vector_of<T, VEC>* yv, long long vectors,
                                          float slope) {
    using vec_t = vector_of<T, VEC>;
    static_assert(sizeof(vec_t) == 16, "bulk tiles are processed in 16-byte vectors");
    constexpr int tile = BLOCK * UNROLL;
    constexpr unsigned tile_bytes = tile * sizeof(vec_t);
    __shared__ alignas(128) vec_t stage[2][tile];
    __shared__ unsigned long long landed[2];
    const long long tiles = vectors / tile;
    if (threadIdx.x == 0) {
        barrier_init(&landed[0]);
        barrier_init(&landed[1]);
        fence_barrier_init();
        if (blockIdx.x < tiles) bulk_load(stage[0], xv + static_cast<long long>(blockIdx.x) * tile, tile_bytes, &landed[0]);
    }
    __syncthreads();
    int k = 0;
    for (long long t = blockIdx.x; t < tiles; t += gridDim.x, ++k) {
        const int s = k & 1;
        // The other stage was released by the barrier that ended the previous tile.
        const long long next = t + gridDim.x;
        if (threadIdx.x == 0 && next < tiles) bulk_load(stage[s ^ 1], xv + next * tile, tile_bytes, &landed[s ^ 1]);
        barrier_wait(&landed[s], (k >> 1) & 1);
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
            yv[t * tile + u * BLOCK + threadIdx.x] = leaky_relu_vector(stage[s][u * BLOCK + threadIdx.x], slope);
        __syncthreads();  // stage s is refilled next round
    }
    for (long long i = tiles * tile + static_cast<long long>(blockIdx.x) * BLOCK + threadIdx.x; i < vectors;
         i += static_cast<long long>(gridDim.x) * BLOCK)
        yv[i] = leaky_relu_vector(xv[i], slope);
}
#endif

/// The tuned kernel. BLOCK threads per block, VEC elements per access, UNROLL independent
/// vector loads in flight per thread. A block handles tiles of BLOCK * UNROLL vectors,
/// striding by the whole grid, so one code path serves a grid of one tile per block and a
/// capped grid (the launch rule in the YAML picks the grid). LOAD picks how the vector body
/// loads: plain loads into registers, or bulk copies through shared memory.
template <typename T, int BLOCK, int VEC, int UNROLL, int LOAD>
__global__ void __launch_bounds__(BLOCK)
    leaky_relu(const T* __restrict__ x, T* __restrict__ y, long long n, float slope) {
    using vec_t = vector_of<T, VEC>;
    constexpr unsigned long long vec_bytes = sizeof(vec_t);
    constexpr long long tile = static_cast<long long>(BLOCK) * UNROLL;

    const unsigned long long xa = reinterpret_cast<unsigned long long>(x);
    const unsigned long long ya = reinterpret_cast<unsigned long long>(y);
    // Elements before x reaches a 128-byte boundary, so that the vectors of a warp cover whole
    // cache lines (peeling only to a vector boundary left misaligned views 5 % slower); y must
    // be at the same offset from a vector boundary to vectorize.
    constexpr unsigned long long line_bytes = 128;
    long long head = static_cast<long long>(((line_bytes - xa % line_bytes) % line_bytes) / sizeof(T));
    const bool vectorizable = (ya - xa) % vec_bytes == 0;
    if (!vectorizable || head > n) head = n;
    const long long body_vectors = (n - head) / VEC;
    const long long tail_begin = head + body_vectors * VEC;

    const long long thread = static_cast<long long>(blockIdx.x) * BLOCK + threadIdx.x;
    const long long threads = static_cast<long long>(gridDim.x) * BLOCK;
    for (long long i = thread; i < head; i += threads) y[i] = leaky_relu_element(x[i], slope);
    for (long long i = tail_begin + thread; i < n; i += threads) y[i] = leaky_relu_element(x[i], slope);

    const vec_t* xv = reinterpret_cast<const vec_t*>(x + head);
    vec_t* yv = reinterpret_cast<vec_t*>(y + head);
#if __CUDA_ARCH__ >= 900
    if constexpr (LOAD == bulk_loads) {
        bulk_body<T, BLOCK, VEC, UNROLL>(xv, yv, body_vectors, slope);
        return;
    }
#endif
    for (long long base = static_cast<long long>(blockIdx.x) * tile; base < body_vectors;
         base += static_cast<long long>(gridDim.x) * tile) {
        vec_t r[UNROLL];
        const bool full = base + tile <= body_vectors;
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long i = base + u * BLOCK + threadIdx.x;
            if (full || i < body_vectors) r[u] = xv[i];
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long i = base + u * BLOCK + threadIdx.x;
            if (full || i < body_vectors) yv[i] = leaky_relu_vector(r[u], slope);
        }
    }
}

/// The reference: one element per thread, nothing clever.
template <typename T>
__global__ void leaky_relu_reference(const T* x, T* y, long long n, float slope) {
    const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = leaky_relu_element(x[i], slope);
}

} // namespace kt
