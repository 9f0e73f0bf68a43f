// LeakyReLU kernels, compiled only by NVRTC (see leaky_relu.yaml for the parameter space): a
// functor over the elementwise skeleton (kt_elementwise.cuh), which does the data movement.
//
// Semantics are PyTorch's: the element is widened to float, y = x > 0 ? x : x * slope is
// computed in float and rounded once to the element type. NaN stays NaN, -0.0 stays -0.0,
// infinities keep their sign, subnormals are kept (NVRTC's defaults: no fast math, no
// flush-to-zero). Every variant is correct for any n and any element-aligned pointers,
// including in place (x == y).
#include "kt_elementwise.cuh"

namespace kt {

/// The per-element function, shared by the tuned kernels and the reference.
struct leaky_relu_op {
    float slope;
    __device__ __forceinline__ float operator()(float v) const { return v > 0.0f ? v : v * slope; }
};

/// The tuned kernel: the skeleton's parameters, BLOCK threads per block, VEC elements per
/// access, UNROLL vector loads in flight per thread, LOAD plain or bulk.
template <typename T, int BLOCK, int VEC, int UNROLL, int LOAD>
__global__ void __launch_bounds__(BLOCK)
    leaky_relu(const T* __restrict__ x, T* __restrict__ y, long long n, float slope) {
    elementwise<BLOCK, VEC, UNROLL, LOAD>(leaky_relu_op{slope}, y, n, x);
}

/// The reference: one element per thread, nothing clever.
template <typename T>
__global__ void leaky_relu_reference(const T* x, T* y, long long n, float slope) {
    elementwise_reference(leaky_relu_op{slope}, y, n, x);
}

} // namespace kt
