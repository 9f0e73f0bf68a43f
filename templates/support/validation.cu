// Kernels the tuner's worker uses to check candidates, compiled only by NVRTC.
//
// fill_random writes fresh signed data: mostly random bit patterns (every exponent, NaN
// payloads and subnormals included), with +-0, +-inf, the NaNs, the smallest subnormals and the
// largest finite values mixed in at a fixed rate. compare_bits counts elements whose bits
// differ and finds the first. Both are generic over the element type of a template.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace kt_validation {

template <typename T> struct bits_of;
template <> struct bits_of<float> {
    using type = unsigned int;
    // +0, -0, +inf, -inf, NaN, -NaN, smallest subnormal, -smallest subnormal, max, -max
    static constexpr type specials[10] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u,
                                          0x7fc00000u, 0xffc00000u, 0x00000001u, 0x80000001u,
                                          0x7f7fffffu, 0xff7fffffu};
};
template <> struct bits_of<__half> {
    using type = unsigned short;
    static constexpr type specials[10] = {0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00,
                                          0xfe00, 0x0001, 0x8001, 0x7bff, 0xfbff};
};
template <> struct bits_of<__nv_bfloat16> {
    using type = unsigned short;
    static constexpr type specials[10] = {0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0,
                                          0xffc0, 0x0001, 0x8001, 0x7f7f, 0xff7f};
};

// splitmix64: a cheap, well-mixed hash of (seed, index), so every element is independent.
__device__ __forceinline__ unsigned long long mix(unsigned long long z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

template <typename T>
__global__ void fill_random(T* data, long long n, unsigned long long seed) {
    using bits = typename bits_of<T>::type;
    bits* out = reinterpret_cast<bits*>(data);
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const unsigned long long r = mix(seed ^ mix(static_cast<unsigned long long>(i)));
        // One element in 8 is a special value; the rest are random bit patterns. The sentinel
        // the worker poisons outputs with is a signalling NaN, never produced by arithmetic.
        out[i] = (r & 7) == 0 ? bits_of<T>::specials[(r >> 8) % 10] : static_cast<bits>(r >> 32);
    }
}

// result[0]: number of differing elements; result[1]: lowest differing index (or n).
template <typename Bits>
__global__ void compare_bits(const Bits* actual, const Bits* expected, long long n,
                             unsigned long long* result) {
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    unsigned long long mismatches = 0;
    unsigned long long first = static_cast<unsigned long long>(n);
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        if (actual[i] != expected[i]) {
            ++mismatches;
            if (static_cast<unsigned long long>(i) < first) first = static_cast<unsigned long long>(i);
        }
    }
    if (mismatches != 0) {
        atomicAdd(&result[0], mismatches);
        atomicMin(&result[1], first);
    }
}

} // namespace kt_validation
