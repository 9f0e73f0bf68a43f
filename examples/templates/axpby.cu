// axpby: y = a * x + b * z elementwise, a user template (see axpby.yaml and docs/TEMPLATES.md).
// Compiled only by NVRTC.
//
// Semantics: the elements are widened to float, a * x and b * z are each rounded to float, their
// sum is rounded to float (__fmul_rn and __fadd_rn: never contracted into an fma, so a host
// computing (float)(a * x) + (float)(b * z) in IEEE single precision gets the same bits), and the
// result is rounded once to the element type. NVRTC's defaults keep subnormals (no flush to zero).
//
// Every variant is correct for any n and any element-aligned pointers. When x, z and y share
// their offset from a VEC-element boundary, the kernel peels a head up to x's next 128-byte
// boundary, runs the vector body and finishes a tail; when they do not, vector accesses would be
// misaligned, so every element takes the scalar path. Each element is read and written by one
// thread, reads first, so y may also be x or z (in place).
// kt_convert.cuh comes from kerntune's support folder (templates/support), on every template's
// include path: to_float and from_float<T>.
#include "kt_convert.cuh"

namespace kt_example {

using kt::from_float;
using kt::to_float;

/// The per-element function, shared by the tuned kernel and the reference.
template <typename T> __device__ __forceinline__ T axpby_element(T x, T z, float a, float b) {
    return from_float<T>(__fadd_rn(__fmul_rn(a, to_float(x)), __fmul_rn(b, to_float(z))));
}

template <typename T, int VEC> struct alignas(sizeof(T) * VEC) vector_of {
    T v[VEC];
};

template <typename T, int VEC>
__device__ __forceinline__ vector_of<T, VEC> axpby_vector(const vector_of<T, VEC>& x, const vector_of<T, VEC>& z,
                                                          float a, float b) {
    vector_of<T, VEC> r;
#pragma unroll
    for (int k = 0; k < VEC; ++k) r.v[k] = axpby_element(x.v[k], z.v[k], a, b);
    return r;
}

/// The tuned kernel: BLOCK threads per block, VEC elements per access, UNROLL vectors of each
/// input loaded before any result is stored. A block handles tiles of BLOCK * UNROLL vectors,
/// striding by the whole grid, so one code path serves a grid of one tile per block and a capped
/// grid (the launch rule in axpby.yaml picks the grid; any grid is correct).
template <typename T, int BLOCK, int VEC, int UNROLL>
__global__ void __launch_bounds__(BLOCK)
    axpby(const T* x, const T* z, T* y, long long n, float a, float b) {
    using vec_t = vector_of<T, VEC>;
    constexpr unsigned long long vec_bytes = sizeof(vec_t);  // 4, 8 or 16: a power of two
    constexpr long long tile = static_cast<long long>(BLOCK) * UNROLL;

    const unsigned long long xa = reinterpret_cast<unsigned long long>(x);
    const unsigned long long za = reinterpret_cast<unsigned long long>(z);
    const unsigned long long ya = reinterpret_cast<unsigned long long>(y);
    // Elements before x reaches a 128-byte boundary, so that a warp's vectors cover whole cache
    // lines (leaky_relu measured peeling only to a vector boundary 5 % slower on misaligned
    // views). z and y must sit at the same offset from a vector boundary as x to vectorize; the
    // differences wrap modulo 2^64, which keeps their residue modulo a power of two.
    constexpr unsigned long long line_bytes = 128;
    long long head = static_cast<long long>(((line_bytes - xa % line_bytes) % line_bytes) / sizeof(T));
    const bool vectorizable = (za - xa) % vec_bytes == 0 && (ya - xa) % vec_bytes == 0;
    if (!vectorizable || head > n) head = n;
    const long long body_vectors = (n - head) / VEC;
    const long long tail_begin = head + body_vectors * VEC;

    const long long thread = static_cast<long long>(blockIdx.x) * BLOCK + threadIdx.x;
    const long long threads = static_cast<long long>(gridDim.x) * BLOCK;
    for (long long i = thread; i < head; i += threads) y[i] = axpby_element(x[i], z[i], a, b);
    for (long long i = tail_begin + thread; i < n; i += threads) y[i] = axpby_element(x[i], z[i], a, b);

    // Only dereferenced when body_vectors > 0, that is when the three are vector-aligned here.
    const vec_t* xv = reinterpret_cast<const vec_t*>(x + head);
    const vec_t* zv = reinterpret_cast<const vec_t*>(z + head);
    vec_t* yv = reinterpret_cast<vec_t*>(y + head);
    for (long long base = static_cast<long long>(blockIdx.x) * tile; base < body_vectors;
         base += static_cast<long long>(gridDim.x) * tile) {
        vec_t rx[UNROLL], rz[UNROLL];
        const bool full = base + tile <= body_vectors;
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long i = base + u * BLOCK + threadIdx.x;
            if (full || i < body_vectors) {
                rx[u] = xv[i];
                rz[u] = zv[i];
            }
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long i = base + u * BLOCK + threadIdx.x;
            if (full || i < body_vectors) yv[i] = axpby_vector(rx[u], rz[u], a, b);
        }
    }
}

/// The reference: one element per thread, nothing clever.
template <typename T>
__global__ void axpby_reference(const T* x, const T* z, T* y, long long n, float a, float b) {
    const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = axpby_element(x[i], z[i], a, b);
}

} // namespace kt_example
