// LeakyReLU kernels, compiled only by NVRTC (see leaky_relu.yaml for the parameter space).
//
// Semantics are PyTorch's: the element is widened to float, y = x > 0 ? x : x * slope is
// computed in float and rounded once to the element type. NaN stays NaN, -0.0 stays -0.0,
// infinities keep their sign, subnormals are kept (NVRTC's defaults: no fast math, no
// flush-to-zero).
//
// Every variant is correct for any n and any element-aligned pointers, including in-place
// (x == y): when x and y share their offset from a VEC-element boundary the kernel peels a
// head, runs the vector body and finishes a tail; when they don't, vector accesses would
// fault, so it takes the scalar path for everything.
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

/// The tuned kernel. BLOCK threads per block, VEC elements per access, UNROLL independent
/// vector loads in flight per thread. A block handles tiles of BLOCK * UNROLL vectors,
/// striding by the whole grid, so one code path serves a grid of one tile per block and a
/// capped grid (the launch rule in the YAML picks the grid).
template <typename T, int BLOCK, int VEC, int UNROLL>
__global__ void __launch_bounds__(BLOCK)
    leaky_relu(const T* __restrict__ x, T* __restrict__ y, long long n, float slope) {
    using vec_t = vector_of<T, VEC>;
    constexpr unsigned long long vec_bytes = sizeof(vec_t);
    constexpr long long tile = static_cast<long long>(BLOCK) * UNROLL;

    const unsigned long long xa = reinterpret_cast<unsigned long long>(x);
    const unsigned long long ya = reinterpret_cast<unsigned long long>(y);
    // Elements before x reaches a vector boundary; y must be at the same offset to vectorize.
    long long head = static_cast<long long>(((vec_bytes - xa % vec_bytes) % vec_bytes) / sizeof(T));
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
            if (full || i < body_vectors) {
#pragma unroll
                for (int k = 0; k < VEC; ++k) r[u].v[k] = leaky_relu_element(r[u].v[k], slope);
                yv[i] = r[u];
            }
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
