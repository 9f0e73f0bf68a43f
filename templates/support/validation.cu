// Kernels the tuner's worker uses to check candidates, compiled only by NVRTC.
//
// Fills: fill_random writes fresh signed data: mostly random bit patterns (every exponent, NaN
// payloads and subnormals included), with +-0, +-inf, the NaNs, the smallest subnormals and the
// largest finite values mixed in at a fixed rate (for int and long long: 0, +-1, the minimum,
// the maximum and their neighbours). fill_finite writes finite normal values with a random
// sign and a chosen spread of exponents, for ops whose inputs must be finite (softmax, norms).
//
// Comparisons: compare_bits counts elements whose bits differ; compare_ulp those more than
// max_ulp units in the last place apart; compare_tolerance those outside atol + rtol * |e|.
// Each adds its count to result[0] and lowers result[1] to the first differing index (the
// caller sets result to {0, n} first). All are generic over the element type of a template.
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
// Integers: random bit patterns cover the values; these are the edges arithmetic gets wrong.
template <> struct bits_of<int> {
    using type = unsigned int;
    // 0, -1, 1, minimum, maximum, minimum + 1, maximum - 1
    static constexpr type specials[7] = {0x00000000u, 0xffffffffu, 0x00000001u, 0x80000000u,
                                         0x7fffffffu, 0x80000001u, 0x7ffffffeu};
};
template <> struct bits_of<long long> {
    using type = unsigned long long;
    static constexpr type specials[7] = {0x0000000000000000ull, 0xffffffffffffffffull,
                                         0x0000000000000001ull, 0x8000000000000000ull,
                                         0x7fffffffffffffffull, 0x8000000000000001ull,
                                         0x7ffffffffffffffeull};
};

// The layout of a floating-point T: a sign bit, then exponent_bits, then mantissa_bits.
template <typename T> struct format_of;
template <> struct format_of<float> {
    using bits = unsigned int;
    static constexpr int exponent_bits = 8, mantissa_bits = 23;
};
template <> struct format_of<__half> {
    using bits = unsigned short;
    static constexpr int exponent_bits = 5, mantissa_bits = 10;
};
template <> struct format_of<__nv_bfloat16> {
    using bits = unsigned short;
    static constexpr int exponent_bits = 8, mantissa_bits = 7;
};

// Facts derived from format_of<T>, on T's bits.
template <typename T> struct float_traits {
    using bits = typename format_of<T>::bits;
    static constexpr int mantissa_bits = format_of<T>::mantissa_bits;
    static constexpr int bias = (1 << (format_of<T>::exponent_bits - 1)) - 1;
    static constexpr int min_exponent = 1 - bias;  // of the smallest normal value
    static constexpr int max_exponent = bias;      // of the largest finite value
    static constexpr bits sign = static_cast<bits>(1u << (format_of<T>::exponent_bits + mantissa_bits));
    static constexpr bits magnitude = static_cast<bits>(sign - 1u);
    static constexpr bits infinity =
        static_cast<bits>(((1u << format_of<T>::exponent_bits) - 1u) << mantissa_bits);
    static __device__ __forceinline__ bool is_nan(bits x) { return (x & magnitude) > infinity; }
    static __device__ __forceinline__ bool is_inf(bits x) { return (x & magnitude) == infinity; }
    // Sign-magnitude bits as an integer in the order of the values: +0 and -0 both map to 0,
    // and neighbouring values of T (subnormals, across exponents, across 0) to neighbours.
    static __device__ __forceinline__ long long ordered(bits x) {
        const long long m = static_cast<long long>(x & magnitude);
        return (x & sign) != 0 ? -m : m;
    }
};

__device__ __forceinline__ double to_double(float x) { return static_cast<double>(x); }
__device__ __forceinline__ double to_double(__half x) { return static_cast<double>(__half2float(x)); }
__device__ __forceinline__ double to_double(__nv_bfloat16 x) {
    return static_cast<double>(__bfloat162float(x));
}

// splitmix64: a cheap, well-mixed hash of (seed, index), so every element is independent.
__device__ __forceinline__ unsigned long long mix(unsigned long long z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// The random pattern fill_random writes from an element's hash r: its high half for elements of
// up to 32 bits (r's low bits choose the specials), and a second hash of r for 64-bit ones.
template <typename Bits>
__device__ __forceinline__ Bits random_pattern(unsigned long long r) {
    if constexpr (sizeof(Bits) == 8) {
        return mix(r);
    } else {
        return static_cast<Bits>(r >> 32);
    }
}

template <typename T>
__global__ void fill_random(T* data, long long n, unsigned long long seed) {
    using bits = typename bits_of<T>::type;
    constexpr unsigned long long special_count =
        sizeof(bits_of<T>::specials) / sizeof(bits_of<T>::specials[0]);
    bits* out = reinterpret_cast<bits*>(data);
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const unsigned long long r = mix(seed ^ mix(static_cast<unsigned long long>(i)));
        // One element in 8 is a special value; the rest are random bit patterns. The sentinel
        // the worker poisons outputs with is a signalling NaN, never produced by arithmetic.
        out[i] = (r & 7) == 0 ? bits_of<T>::specials[(r >> 8) % special_count] : random_pattern<bits>(r);
    }
}

// Finite normal values: a random sign, a mantissa of random bits (every value of T in [1, 2)
// equally likely) and an exponent uniform over [min_exponent, max_exponent] (in either order),
// clamped to T's normal range. Built from T's bits, so each value is exact in T and none rounds
// up into infinity; zeros, subnormals, infinities and NaNs never occur.
template <typename T>
__global__ void fill_finite(T* data, long long n, unsigned long long seed, int min_exponent,
                            int max_exponent) {
    using traits = float_traits<T>;
    using bits = typename traits::bits;
    auto clamp = [](int e) {
        return e < traits::min_exponent   ? traits::min_exponent
               : e > traits::max_exponent ? traits::max_exponent
                                          : e;
    };
    const int low = clamp(min_exponent < max_exponent ? min_exponent : max_exponent);
    const int high = clamp(min_exponent < max_exponent ? max_exponent : min_exponent);
    const auto span = static_cast<unsigned long long>(high - low + 1);
    bits* out = reinterpret_cast<bits*>(data);
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        const unsigned long long r = mix(seed ^ mix(static_cast<unsigned long long>(i)));
        // Disjoint bits of r: the mantissa from the low 23 at most, the sign from bit 31, the
        // exponent from the high half (its modulo bias is below 2^-24 for any span).
        const auto mantissa = static_cast<unsigned int>(r & ((1ull << traits::mantissa_bits) - 1));
        const unsigned int sign = ((r >> 31) & 1) != 0 ? traits::sign : 0u;
        const int exponent = low + static_cast<int>((r >> 32) % span);
        const auto biased = static_cast<unsigned int>(exponent + traits::bias);  // 1 .. 2 * bias
        out[i] = static_cast<bits>(sign | (biased << traits::mantissa_bits) | mantissa);
    }
}

// The grid-stride loop of the comparisons: adds the number of indices i < n where same(i) is
// false to result[0] and lowers result[1] to the first of them, one atomic each per thread.
template <typename Same>
__device__ __forceinline__ void count_mismatches(long long n, unsigned long long* result, Same same) {
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    unsigned long long mismatches = 0;
    unsigned long long first = static_cast<unsigned long long>(n);
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
        if (!same(i)) {
            ++mismatches;
            if (static_cast<unsigned long long>(i) < first) first = static_cast<unsigned long long>(i);
        }
    }
    if (mismatches != 0) {
        atomicAdd(&result[0], mismatches);
        atomicMin(&result[1], first);
    }
}

// result[0]: number of differing elements; result[1]: lowest differing index (or n).
template <typename Bits>
__global__ void compare_bits(const Bits* actual, const Bits* expected, long long n,
                             unsigned long long* result) {
    count_mismatches(n, result, [&](long long i) { return actual[i] == expected[i]; });
}

// The comparisons' rule for the special values: equal when both are NaN (any payload or sign)
// or both the same infinity; a NaN or an infinity never matches anything else. Finite pairs are
// equal when finite_same(actual bits, expected bits, i) says so.
template <typename T, typename FiniteSame>
__device__ __forceinline__ void compare_floats(const T* actual, const T* expected, long long n,
                                               unsigned long long* result, FiniteSame finite_same) {
    using traits = float_traits<T>;
    using bits = typename traits::bits;
    const bits* a = reinterpret_cast<const bits*>(actual);
    const bits* e = reinterpret_cast<const bits*>(expected);
    count_mismatches(n, result, [=](long long i) {
        const bits x = a[i], y = e[i];
        if (traits::is_nan(x) || traits::is_nan(y)) return traits::is_nan(x) && traits::is_nan(y);
        // The largest finite value is 1 apart from infinity in the order of the bits.
        if (traits::is_inf(x) || traits::is_inf(y)) return x == y;
        return finite_same(x, y, i);
    });
}

// Equal by compare_floats' rule for NaN and infinities, else when at most max_ulp values of T
// apart (+0 and -0 are 0 apart; the smallest subnormals of either sign 2).
template <typename T>
__global__ void compare_ulp(const T* actual, const T* expected, long long n, unsigned long long* result,
                            long long max_ulp) {
    using traits = float_traits<T>;
    using bits = typename traits::bits;
    compare_floats(actual, expected, n, result, [=](bits x, bits y, long long) {
        const long long distance = traits::ordered(x) - traits::ordered(y);  // |distance| < 2^32: no overflow
        return (distance < 0 ? -distance : distance) <= max_ulp;
    });
}

// Equal by compare_floats' rule for NaN and infinities (an infinity never matches a finite value,
// whatever the tolerances, an infinite atol included), else when
// |actual - expected| <= atol + rtol * |expected|, computed in double.
template <typename T>
__global__ void compare_tolerance(const T* actual, const T* expected, long long n, unsigned long long* result,
                                  double atol, double rtol) {
    using bits = typename float_traits<T>::bits;
    compare_floats(actual, expected, n, result, [=](bits, bits, long long i) {
        const double expected_value = to_double(expected[i]);
        return fabs(to_double(actual[i]) - expected_value) <= atol + rtol * fabs(expected_value);
    });
}

} // namespace kt_validation
