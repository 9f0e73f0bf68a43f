// The elementwise skeleton: out[i] = f(in0[i], in1[i], ...) for i < n, over k inputs (k may be
// 0) and one output, each with its own element type. Every elementwise template (leaky_relu,
// the generated expressions) is a functor over it, so the data movement is written and tuned
// once. (#include "kt_elementwise.cuh": templates/support is on every template's include path.)
//
// The functor takes and gives float: each element is widened to float, f computes in float and
// the result is rounded once to the output type (kt_convert.cuh), as PyTorch computes
// elementwise ops on 16-bit types.
//
// Correct for any n and any element-aligned pointers, the output equal to an input included:
// when every pointer sits at the same offset from a VEC-element boundary as the first one (the
// anchor: the first input, else the output) the kernel peels a head up to the anchor's next
// 128-byte boundary, runs the vector body and finishes a tail; otherwise vector accesses would
// fault, so it takes the scalar path for everything.
#pragma once
#include "kt_convert.cuh"

namespace kt {

template <typename T, int VEC> struct alignas(sizeof(T) * VEC) vector_of {
    T v[VEC];
};

/// The LOAD parameter's values, as the specs declare them.
enum load_path { plain_loads = 0, bulk_loads = 1 };

/// One VEC-element vector of each input, held in registers: a tuple (NVRTC has no <tuple>).
template <int VEC, typename... In> struct vectors {};
template <int VEC, typename First, typename... Rest> struct vectors<VEC, First, Rest...> {
    vector_of<First, VEC> first;
    vectors<VEC, Rest...> rest;
};

/// Input I's vector of a `vectors`.
template <int I> struct input_vector {
    template <typename V> __device__ __forceinline__ static auto& of(V& v) { return input_vector<I - 1>::of(v.rest); }
};
template <> struct input_vector<0> {
    template <typename V> __device__ __forceinline__ static auto& of(V& v) { return v.first; }
};

/// 0, 1, ..., N - 1 as a type (NVRTC has no <utility>).
template <int... I> struct index_list {};
template <int N, int... I> struct make_index_list : make_index_list<N - 1, N - 1, I...> {};
template <int... I> struct make_index_list<0, I...> {
    using type = index_list<I...>;
};

template <int VEC> __device__ __forceinline__ void load_vectors(vectors<VEC>&, long long) {}
/// Vector i of every input.
template <int VEC, typename First, typename... Rest>
__device__ __forceinline__ void load_vectors(vectors<VEC, First, Rest...>& r, long long i, const First* first,
                                             const Rest*... rest) {
    r.first = reinterpret_cast<const vector_of<First, VEC>*>(first)[i];
    load_vectors(r.rest, i, rest...);
}

/// The output vector for a vector of each input.
template <typename Out, int VEC, typename F, typename... In, int... I>
__device__ __forceinline__ vector_of<Out, VEC> apply(const F& f, vectors<VEC, In...>& r, index_list<I...>) {
    vector_of<Out, VEC> o;
#pragma unroll
    for (int k = 0; k < VEC; ++k) o.v[k] = from_float<Out>(f(to_float(input_vector<I>::of(r).v[k])...));
    return o;
}

template <typename Out, int VEC, typename F, typename... In>
__device__ __forceinline__ vector_of<Out, VEC> apply(const F& f, vectors<VEC, In...>& r) {
    return apply<Out>(f, r, typename make_index_list<sizeof...(In)>::type{});
}

/// Whether p, once `head` elements in, starts a VEC-element vector.
template <int VEC, typename T> __device__ __forceinline__ bool vector_aligned(const T* p, long long head) {
    return (reinterpret_cast<unsigned long long>(p) + head * sizeof(T)) % (VEC * sizeof(T)) == 0;
}

template <typename Anchor> __device__ __forceinline__ const void* first_of(const Anchor* out) { return out; }
template <typename Anchor, typename First, typename... Rest>
__device__ __forceinline__ const void* first_of(const Anchor*, const First* first, const Rest*...) {
    return first;
}
template <typename Anchor> __device__ __forceinline__ int size_of_first() { return sizeof(Anchor); }
template <typename Anchor, typename First, typename... Rest> __device__ __forceinline__ int size_of_first() {
    return sizeof(First);
}

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

/// The one arrival of this phase of `barrier`, which completes when `bytes` more have landed.
__device__ __forceinline__ void expect_bytes(unsigned long long* barrier, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;" ::"r"(shared_address(barrier)),
                 "r"(bytes)
                 : "memory");
}

/// Starts copying `bytes` (a multiple of 16, both addresses 16-byte aligned) into shared memory,
/// counted on `barrier`.
__device__ __forceinline__ void bulk_copy(void* to, const void* from, unsigned bytes, unsigned long long* barrier) {
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

/// Bulk copies of tile t of every input into stage `s` (16-byte vectors, `tile` of them each).
template <unsigned B, typename... In>
__device__ __forceinline__ void load_tiles(unsigned char (*stage)[B], long long t, unsigned long long* barrier,
                                           const In*... in) {
    expect_bytes(barrier, B * sizeof...(In));
    int j = 0;  // the comma operator sequences the copies: input j into row j
    (bulk_copy(stage[j++], reinterpret_cast<const unsigned char*>(in) + t * B, B, barrier), ...);
}

template <int VEC, unsigned B> __device__ __forceinline__ void load_from_stage(vectors<VEC>&, unsigned char (*)[B], int) {}
/// Vector v of every input's tile in a stage (one row of B bytes per input).
template <int VEC, unsigned B, typename First, typename... Rest>
__device__ __forceinline__ void load_from_stage(vectors<VEC, First, Rest...>& r, unsigned char (*stage)[B], int v) {
    r.first = reinterpret_cast<const vector_of<First, VEC>*>(stage[0])[v];
    load_from_stage(r.rest, stage + 1, v);
}

/// The vector body with bulk loads: the block's tiles of BLOCK * UNROLL 16-byte vectors of each
/// input go through two shared-memory stages, the next tile loading while this one is
/// processed. The vectors after the last whole tile take plain loads. The output may be an
/// input: a tile is read whole before any of it is written, and no other tile overlaps it.
template <int BLOCK, int VEC, int UNROLL, typename F, typename Out, typename... In>
__device__ __forceinline__ void bulk_body(const F& f, Out* out, long long vectors_n, const In*... in) {
    constexpr int k = sizeof...(In);
    constexpr int tile = BLOCK * UNROLL;
    constexpr unsigned tile_bytes = tile * 16;
    __shared__ alignas(128) unsigned char stage[2][k][tile_bytes];
    __shared__ unsigned long long landed[2];
    const long long tiles = vectors_n / tile;
    if (threadIdx.x == 0) {
        barrier_init(&landed[0]);
        barrier_init(&landed[1]);
        fence_barrier_init();
        if (blockIdx.x < tiles) load_tiles(stage[0], blockIdx.x, &landed[0], in...);
    }
    __syncthreads();
    int round = 0;
    for (long long t = blockIdx.x; t < tiles; t += gridDim.x, ++round) {
        const int s = round & 1;
        // The other stage was released by the barrier that ended the previous tile.
        const long long next = t + gridDim.x;
        if (threadIdx.x == 0 && next < tiles) load_tiles(stage[s ^ 1], next, &landed[s ^ 1], in...);
        barrier_wait(&landed[s], (round >> 1) & 1);
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int v = u * BLOCK + threadIdx.x;
            vectors<VEC, In...> r;
            load_from_stage(r, stage[s], v);
            reinterpret_cast<vector_of<Out, VEC>*>(out)[t * tile + v] = apply<Out>(f, r);
        }
        __syncthreads();  // stage s is refilled next round
    }
    for (long long i = tiles * tile + static_cast<long long>(blockIdx.x) * BLOCK + threadIdx.x; i < vectors_n;
         i += static_cast<long long>(gridDim.x) * BLOCK) {
        vectors<VEC, In...> r;
        load_vectors(r, i, in...);
        reinterpret_cast<vector_of<Out, VEC>*>(out)[i] = apply<Out>(f, r);
    }
}
#endif

/// The vector body with plain loads: the UNROLL vectors of every input a thread handles in a
/// tile are all loaded before any is computed, so that they are in flight together.
template <int BLOCK, int VEC, int UNROLL, typename F, typename Out, typename... In>
__device__ __forceinline__ void plain_body(const F& f, Out* out, long long vectors_n, const In*... in) {
    constexpr long long tile = static_cast<long long>(BLOCK) * UNROLL;
    using out_vector = vector_of<Out, VEC>;
    for (long long base = static_cast<long long>(blockIdx.x) * tile; base < vectors_n;
         base += static_cast<long long>(gridDim.x) * tile) {
        vectors<VEC, In...> r[UNROLL];
        const bool full = base + tile <= vectors_n;
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long i = base + u * BLOCK + threadIdx.x;
            if (full || i < vectors_n) load_vectors(r[u], i, in...);
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long i = base + u * BLOCK + threadIdx.x;
            if (full || i < vectors_n) reinterpret_cast<out_vector*>(out)[i] = apply<Out>(f, r[u]);
        }
    }
}

/// The tuned body. BLOCK threads per block, VEC elements per access, UNROLL independent vector
/// loads (of every input) in flight per thread. A block handles tiles of BLOCK * UNROLL
/// vectors, striding by the whole grid, so one code path serves a grid of one tile per block and
/// a capped grid (the spec's launch rule picks the grid). LOAD picks how the vector body loads:
/// plain loads into registers, or bulk copies through shared memory (sm_90 and later, 16-byte
/// vectors of every input; plain loads elsewhere).
template <int BLOCK, int VEC, int UNROLL, int LOAD, typename F, typename Out, typename... In>
__device__ __forceinline__ void elementwise(const F& f, Out* __restrict__ out, long long n,
                                            const In* __restrict__... in) {
    // Elements before the anchor reaches a 128-byte boundary, so that the vectors of a warp
    // cover whole cache lines (peeling only to a vector boundary left misaligned views 5 %
    // slower); every other pointer must then start a vector too.
    constexpr unsigned long long line_bytes = 128;
    const unsigned long long anchor = reinterpret_cast<unsigned long long>(first_of(out, in...));
    long long head = static_cast<long long>(((line_bytes - anchor % line_bytes) % line_bytes) / size_of_first<Out, In...>());
    const bool vectorizable = vector_aligned<VEC>(out, head) && (vector_aligned<VEC>(in, head) && ...);
    if (!vectorizable || head > n) head = n;
    const long long body_vectors = (n - head) / VEC;
    const long long tail_begin = head + body_vectors * VEC;

    const long long thread = static_cast<long long>(blockIdx.x) * BLOCK + threadIdx.x;
    const long long threads = static_cast<long long>(gridDim.x) * BLOCK;
    for (long long i = thread; i < head; i += threads) out[i] = from_float<Out>(f(to_float(in[i])...));
    for (long long i = tail_begin + thread; i < n; i += threads) out[i] = from_float<Out>(f(to_float(in[i])...));

    Out* out_body = out + head;
#if __CUDA_ARCH__ >= 900
    if constexpr (LOAD == bulk_loads && sizeof...(In) > 0 && ((sizeof(vector_of<In, VEC>) == 16) && ...))
        bulk_body<BLOCK, VEC, UNROLL>(f, out_body, body_vectors, (in + head)...);
    else
#endif
        plain_body<BLOCK, VEC, UNROLL>(f, out_body, body_vectors, (in + head)...);
}

/// The reference body: one element per thread, nothing clever.
template <typename F, typename Out, typename... In>
__device__ __forceinline__ void elementwise_reference(const F& f, Out* out, long long n, const In*... in) {
    const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) out[i] = from_float<Out>(f(to_float(in[i])...));
}

} // namespace kt
