// The device semantics of kerntune's elementwise expression language (docs/EXPRESSIONS.md):
// the functors that src/elementwise/cuda_functor emits call these and nothing else, so every
// numerical choice lives here. elementwise_expression::evaluate is their host mirror; keep the
// two alike. Float32 throughout, PyTorch's CUDA formulas where it has one, no fast math and no
// flush-to-zero (NVRTC's defaults, which src/cuda/nvrtc.cpp states).
#pragma once

namespace kt_math {

// + - * / through the _rn intrinsics, which the compiler never contracts: NVRTC fuses a * b + c
// into one fma by default (-fmad=true), which rounds once where torch, an op at a time, rounds
// twice.
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float div(float a, float b) { return __fdiv_rn(a, b); }

// torch.minimum and torch.maximum: a NaN operand is the result (fminf and fmaxf alone would
// return the other operand), the first one when both are.
__device__ __forceinline__ float min(float a, float b) { return a != a ? a : b != b ? b : fminf(a, b); }
__device__ __forceinline__ float max(float a, float b) { return a != a ? a : b != b ? b : fmaxf(a, b); }
// torch.clamp(x, lo, hi): hi when lo > hi; a NaN in any of the three is the result.
__device__ __forceinline__ float clamp(float x, float lo, float hi) { return min(max(x, lo), hi); }

// a * b + c rounded once: what nvcc's contraction makes of a * b + c in torch's own kernels.
__device__ __forceinline__ float fma(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ float pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ float abs(float a) { return fabsf(a); }
__device__ __forceinline__ float exp(float a) { return expf(a); }
__device__ __forceinline__ float exp2(float a) { return exp2f(a); }
__device__ __forceinline__ float log(float a) { return logf(a); }
__device__ __forceinline__ float log2(float a) { return log2f(a); }
__device__ __forceinline__ float log1p(float a) { return log1pf(a); }
__device__ __forceinline__ float expm1(float a) { return expm1f(a); }
__device__ __forceinline__ float sqrt(float a) { return sqrtf(a); }
__device__ __forceinline__ float rsqrt(float a) { return rsqrtf(a); }
__device__ __forceinline__ float tanh(float a) { return tanhf(a); }
// torch.sigmoid's CUDA formula: 1 / (1 + exp(-a)), a correctly rounded division. A correctly
// rounded reciprocal is that division bit for bit (both are 1/d rounded once), in fewer
// instructions.
__device__ __forceinline__ float sigmoid(float a) { return __frcp_rn(add(1.0f, expf(-a))); }
__device__ __forceinline__ float erf(float a) { return erff(a); }
__device__ __forceinline__ float sin(float a) { return sinf(a); }
__device__ __forceinline__ float cos(float a) { return cosf(a); }
__device__ __forceinline__ float floor(float a) { return floorf(a); }
__device__ __forceinline__ float ceil(float a) { return ceilf(a); }
// torch.round: halves to even (2.5 gives 2), as nearbyintf in the default rounding mode.
__device__ __forceinline__ float round(float a) { return nearbyintf(a); }

} // namespace kt_math
