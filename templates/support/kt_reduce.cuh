// Reductions across the threads of a row group, a block and a team of blocks (a thread-block
// cluster, or a team of a cooperative grid), for the row-wise templates (softmax, log_softmax,
// sum, mean, layer_norm, rms_norm). A row group is THREADS consecutive
// threads of a block (a warp, several warps or the whole block); a block holds ROWS groups.
// Every function here is called by every thread of the block the same number of times (the
// row loops are uniform across the block), because they synchronise the block.
#pragma once
#include "kt_convert.cuh"

namespace kt {

struct max_op {
    // fmaxf drops a NaN operand; a NaN in a row still makes its sum and every output NaN.
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
    __device__ __forceinline__ static float identity() { return -__int_as_float(0x7f800000); }  // -inf
};

struct sum_op {
    template <typename V> __device__ __forceinline__ V operator()(V a, V b) const { return a + b; }
    __device__ __forceinline__ static float identity() { return 0.0f; }
};

/// A value of another lane of the warp (__shfl_xor_sync): float for the kernels, double for the
/// float64 references.
__device__ __forceinline__ float shuffle_xor(float v, int offset) { return __shfl_xor_sync(0xffffffffu, v, offset); }
__device__ __forceinline__ double shuffle_xor(double v, int offset) { return __shfl_xor_sync(0xffffffffu, v, offset); }

/// A compensated (Kahan) float sum: each addition's rounding error is carried into the next, so
/// a long serial run of additions stays within a few ulps instead of growing with its length.
/// (NVRTC compiles without reassociation, which would cancel the compensation.) An infinite sum
/// stays infinite: its carry, (inf - sum) - inf, would be NaN, and is dropped.
struct compensated_sum {
    float sum = 0.0f, carry = 0.0f;
    __device__ __forceinline__ void add(float x) {
        const float y = x - carry;
        const float t = sum + y;
        const float c = (t - sum) - y;
        carry = c == c ? c : 0.0f;
        sum = t;
    }
};

/// A long sum in two levels: K plain float accumulators (independent, so that additions
/// overlap), each folded into a compensated total after at most SPAN terms (the caller folds).
/// SPAN 1 compensates every term (sum, mean: within a few ulps of the exact sum for any length;
/// with SPAN 16, the plain sums of 16 lost twice torch's accuracy on rows of 393216 floats).
/// A longer SPAN costs about as little as a plain sum (see norm.cu).
template <int K, int SPAN> struct folded_sum {
    float partial[K] = {};
    compensated_sum total;
    __device__ __forceinline__ void fold() {
#pragma unroll
        for (int k = 0; k < K; ++k) {
            total.add(partial[k]);
            partial[k] = 0.0f;
        }
    }
    __device__ __forceinline__ float result() {
        fold();
        return total.sum;
    }
};

/// The identity, as the transform of a plain sum (part_sum, column_sum).
struct as_is {
    __device__ __forceinline__ float operator()(float v) const { return v; }
};

/// The sum of f(src[r * stride]) for r < reduce (a column of a [outer, reduce, inner] tensor:
/// stride inner), in column_batch accumulators, so that a thread keeps that many loads in
/// flight, folded as folded_sum says.
constexpr int batch = 4;
constexpr int column_batch = 8;  // a thread per column: its loads are all the memory parallelism there is

template <int SPAN, typename T, typename F>
__device__ __forceinline__ float column_sum(const T* src, long long reduce, long long stride, F f) {
    folded_sum<column_batch, SPAN> s;
    long long r = 0;
    for (int rounds = 1; r + column_batch <= reduce; r += column_batch, ++rounds) {
#pragma unroll
        for (int b = 0; b < column_batch; ++b) s.partial[b] += f(to_float(src[(r + b) * stride]));
        if (rounds % SPAN == 0) s.fold();
    }
    for (; r < reduce; ++r) s.partial[0] += f(to_float(src[r * stride]));
    return s.result();
}

/// Copies a column (reduce elements, stride apart) to dst (dst_stride apart), column_batch
/// loads in flight at a time.
template <typename T>
__device__ __forceinline__ void copy_column(T* dst, long long dst_stride, const T* src, long long reduce, long long stride) {
    long long r = 0;
    for (; r + column_batch <= reduce; r += column_batch) {
        T v[column_batch];
#pragma unroll
        for (int b = 0; b < column_batch; ++b) v[b] = src[(r + b) * stride];
#pragma unroll
        for (int b = 0; b < column_batch; ++b) dst[(r + b) * dst_stride] = v[b];
    }
    for (; r < reduce; ++r) dst[r * dst_stride] = src[r * stride];
}

/// v reduced over aligned groups of WIDTH lanes of a warp (WIDTH a power of two up to 32).
template <int WIDTH = 32, typename V, typename Op> __device__ __forceinline__ V warp_reduce(V v, Op op) {
#pragma unroll
    for (int offset = WIDTH / 2; offset > 0; offset >>= 1) v = op(v, shuffle_xor(v, offset));
    return v;
}

/// v reduced over the THREADS threads of the calling thread's row group, returned to all of
/// them (V: float, or double for sums whose rounding must not grow with the tree). Groups of up
/// to a warp use shuffles only; larger ones also scratch: 32 values per group of the block
/// (static shared memory, scratch_size<THREADS, ROWS>).
template <int THREADS, typename V, typename Op> __device__ __forceinline__ V group_reduce(V v, Op op, V* scratch) {
    v = warp_reduce<(THREADS < 32 ? THREADS : 32)>(v, op);
    if (THREADS <= 32) return v;
    const int lane = threadIdx.x % 32, warp = (threadIdx.x % THREADS) / 32;
    V* mine = scratch + (threadIdx.x / THREADS) * 32;
    if (lane == 0) mine[warp] = v;
    __syncthreads();
    v = lane < THREADS / 32 ? mine[lane] : Op::identity();
    __syncthreads();  // every thread has read its group's partials before they are rewritten
    return warp_reduce(v, op);
}

/// The scratch group_reduce needs for ROWS groups of THREADS threads (1: none).
template <int THREADS, int ROWS> __host__ __device__ constexpr int scratch_size() { return THREADS > 32 ? ROWS * 32 : 1; }

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

/// The address of `slot` in the shared memory of block `rank` of the cluster, and the value (a
/// float, a double or a pair of floats) there.
__device__ __forceinline__ unsigned remote_address(const void* slot, unsigned rank) {
    unsigned remote = 0;
#if __CUDA_ARCH__ >= 900
    const unsigned local = static_cast<unsigned>(__cvta_generic_to_shared(slot));
    asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(local), "r"(rank));
#endif
    return remote;
}

template <typename V> __device__ __forceinline__ V load_from_block(const V* slot, unsigned rank) {
    static_assert(sizeof(V) == 4 || sizeof(V) == 8, "4 or 8 bytes: a float, a double or a pair of floats");
#if __CUDA_ARCH__ >= 900
    V value;
    if constexpr (sizeof(V) == 8) {
        unsigned long long bits;
        asm volatile("ld.shared::cluster.b64 %0, [%1];" : "=l"(bits) : "r"(remote_address(slot, rank)) : "memory");
        memcpy(&value, &bits, 8);
    } else {
        asm volatile("ld.shared::cluster.f32 %0, [%1];" : "=f"(value) : "r"(remote_address(slot, rank)) : "memory");
    }
    return value;
#else
    return *slot;
#endif
}

/// v (the same in every thread of the block) reduced over the blocks of the cluster, returned
/// to every thread of every block; all blocks get the same bits (the ranks are combined in
/// order). slot: one value of static shared memory per call site, so that consecutive
/// reductions never overwrite a value another block has yet to read. A cluster of 1 is v.
template <typename V, typename Op> __device__ __forceinline__ V cluster_reduce(V v, Op op, V* slot) {
    const unsigned blocks = cluster_size();
    if (blocks == 1) return v;
    if (threadIdx.x == 0) *slot = v;
    cluster_sync();
    V total = Op::identity();
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

/// The thread's share of the sum of f(x) over a row part of `count` elements (a multiple of N),
/// in K accumulators folded after every SPAN terms each (folded_sum; a thread may add a million
/// elements of a row: plain float sums lost twice torch's accuracy there, on the H200). K is N,
/// one per element of a step, for wide steps: not N x batch, one per element of a batch, since
/// with 8 16-bit elements a step 32 accumulators took the sum's kernel to 92 registers, and its
/// rows of 33 to twice the time. Single elements take one per step of a batch (K = batch), so
/// that the batch's additions still overlap.
template <int SPAN, int THREADS, typename T, int N, typename F>
__device__ __forceinline__ float part_sum(const T* src, long long count, F f) {
    constexpr int K = N > 1 ? N : batch;
    folded_sum<K, SPAN> s;
    int runs = 0;  // steps for wide steps, batches for single elements: each adds one term an accumulator
    for_my_elements<THREADS, T, N>(src, count, [&](long long, const elements<T, N>& e, int b) {
#pragma unroll
        for (int k = 0; k < N; ++k) s.partial[N > 1 ? k : b] += f(to_float(e.v[k]));
        if ((N > 1 || b == batch - 1) && ++runs % SPAN == 0) s.fold();
    });
    return s.result();
}

/// The blocks that split one row between them (a block alone is a team of one):
/// - without a workspace, the blocks of the block's thread-block cluster, which exchange partial
///   results through distributed shared memory (cluster_reduce);
/// - with one (the spec's workspace argument, non-null only in a cooperative launch, so that
///   every block is resident), the gridDim.x blocks of the same blockIdx.y: gridDim.y teams, each
///   taking rows blockIdx.y, blockIdx.y + gridDim.y, ... and exchanging partial results through
///   the workspace (zeroed by the launch): per team, an arrival counter on its own 128 bytes,
///   then two rounds of gridDim.x 8-byte values. 128 * gridDim.y + 16 * gridDim.x * gridDim.y
///   bytes in all.
/// Every block of a team calls reduce the same number of times (the row loops are uniform).
struct row_team {
    unsigned* workspace;
    unsigned reductions = 0;  ///< a grid team's reductions so far

    __device__ __forceinline__ explicit row_team(unsigned* team_workspace) : workspace(team_workspace) {}

    __device__ __forceinline__ unsigned size() const { return workspace ? gridDim.x : cluster_size(); }
    __device__ __forceinline__ unsigned rank() const { return workspace ? blockIdx.x : cluster_rank(); }
    /// The team's first row block, and the distance to its next (the number of teams).
    __device__ __forceinline__ long long first_row_block() const {
        return workspace ? blockIdx.y : blockIdx.x / cluster_size();
    }
    __device__ __forceinline__ long long row_block_stride() const {
        return workspace ? gridDim.y : gridDim.x / cluster_size();
    }

    /// v (the same in every thread of the block) reduced over the team's blocks, returned to every
    /// thread of every block; all blocks get the same bits (the values are combined in one order
    /// by every block). slot: a value of static shared memory per call site (cluster_reduce).
    template <typename V, typename Op> __device__ __forceinline__ V reduce(V v, Op op, V* slot) {
        return workspace ? grid_reduce(v, op, slot) : cluster_reduce(v, op, slot);
    }

    /// Before a block leaves: a cluster's blocks wait for each other (cluster_done); a grid
    /// team's values stay in the workspace, readable after their writer has left.
    __device__ __forceinline__ void done() const {
        if (!workspace) cluster_done();
    }

private:
    // Thread 0 publishes the block's value, counts its arrival and waits for the team's (the
    // counter only grows: the k-th reduction is complete at k * gridDim.x); then the first warp
    // combines the values, lane by lane in a fixed order, then across the warp. A round's values
    // are rewritten two reductions later, which no block reaches before every block has read them
    // (each reads them before it arrives at the next).
    template <typename V, typename Op> __device__ __forceinline__ V grid_reduce(V v, Op op, V* slot) {
        static_assert(sizeof(V) <= 8, "a value of at most 8 bytes");
        const unsigned blocks = gridDim.x;
        unsigned* arrivals = workspace + blockIdx.y * 32;
        unsigned long long* values =
            reinterpret_cast<unsigned long long*>(workspace + gridDim.y * 32) + (blockIdx.y * 2 + reductions % 2) * blocks;
        ++reductions;
        if (threadIdx.x == 0) {
            unsigned long long bits = 0;
            memcpy(&bits, &v, sizeof(V));
            values[blockIdx.x] = bits;
            __threadfence();
            atomicAdd(arrivals, 1u);
            const unsigned complete = reductions * blocks;
            while (*static_cast<volatile unsigned*>(arrivals) < complete) {
            }
            __threadfence();
        }
        __syncthreads();
        if (threadIdx.x < 32) {
            V total = Op::identity();
            for (unsigned b = threadIdx.x; b < blocks; b += 32) {
                const unsigned long long bits = __ldcg(values + b);  // from L2: L1 is not coherent
                V value;
                memcpy(&value, &bits, sizeof(V));
                total = op(total, value);
            }
            total = warp_reduce(total, op);
            if (threadIdx.x == 0) *slot = total;
        }
        __syncthreads();
        return *slot;
    }
};

/// Where this block's part of a row lies when the blocks of its team split rows of `cols`
/// elements into equal parts of whole V-element steps (the last part may be short or empty).
struct row_part {
    long long chunk;  ///< elements per part: what a block's cache must hold
    long long begin;  ///< this block's first element in the row
    long long count;  ///< this block's elements
};

__device__ __forceinline__ row_part my_row_part(const row_team& team, long long cols, int V) {
    const unsigned blocks = team.size();
    row_part part;
    part.chunk = (cols + blocks * V - 1) / (blocks * V) * V;
    part.begin = team.rank() * part.chunk;
    part.count = part.begin < cols ? min(part.chunk, cols - part.begin) : 0;
    return part;
}

/// Calls body(row, valid) once per row block for this thread's row group: row = the group's row,
/// valid = whether it is one (row < outer; the last block's extra groups still take part).
/// A team takes row blocks of ROWS rows together, striding by the number of teams. Uniform
/// across the block: every thread runs every iteration, because the reductions in body
/// synchronise. Ends with the team's done().
template <int THREADS, int ROWS, typename Body>
__device__ __forceinline__ void for_my_rows(const row_team& team, long long outer, Body&& body) {
    const long long row_blocks = (outer + ROWS - 1) / ROWS;
    for (long long row_block = team.first_row_block(); row_block < row_blocks; row_block += team.row_block_stride()) {
        const long long row = row_block * ROWS + threadIdx.x / THREADS;
        body(row, row < outer);
    }
    team.done();
}

/// The index of the first element of column `column` = o * inner + i of a contiguous [outer,
/// reduce, inner] tensor; its elements lie inner apart.
__device__ __forceinline__ long long column_offset(long long column, long long reduce, long long inner) {
    const long long o = column / inner;
    return o * reduce * inner + (column - o * inner);
}

/// Calls body(column, offset) for each column that falls to this thread (a thread per column,
/// grid-striding), offset = column_offset(column).
template <typename Body>
__device__ __forceinline__ void for_my_columns(long long outer, long long reduce, long long inner, Body&& body) {
    const long long columns = outer * inner;
    const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
    for (long long c = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; c < columns; c += stride)
        body(c, column_offset(c, reduce, inner));
}

/// For the float64 references: the warp's column, a warp per column (grid: cdiv(outer * inner, 8)
/// blocks of 256), numbered as for_my_columns does; -1 past the last.
__device__ __forceinline__ long long reference_column(long long outer, long long inner) {
    const long long column = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
    return column < outer * inner ? column : -1;
}

/// This row group's cache for its part of a row in the block's dynamic shared memory, or null
/// when the launch gave too little (the kernel then reads the row from memory in each pass).
/// ROWS slots of part.chunk elements and one 16-byte step more: a part that does not start on
/// 16 bytes is cached at its offset modulo 16 (cache_part).
template <int THREADS, int ROWS, typename T> __device__ __forceinline__ T* row_cache(const row_part& part) {
    extern __shared__ __align__(16) unsigned char dynamic_shared[];
    const long long slot = part.chunk + 16 / sizeof(T);
    return dynamic_shared_bytes() >= ROWS * slot * sizeof(T)
               ? reinterpret_cast<T*>(dynamic_shared) + (threadIdx.x / THREADS) * slot
               : nullptr;
}

/// Whether every pointer given starts on 16 bytes (NULL does), so 16-byte steps can be taken.
__device__ __forceinline__ bool aligned_16(const void* a, const void* b, const void* c = nullptr, const void* d = nullptr) {
    return ((reinterpret_cast<unsigned long long>(a) | reinterpret_cast<unsigned long long>(b) |
             reinterpret_cast<unsigned long long>(c) | reinterpret_cast<unsigned long long>(d)) % 16) == 0;
}

/// The code a row kernel is compiled with: its PATH template argument, which the problem gives
/// (the specs' derived parameter PATH), so that a kernel carries only the registers of the path
/// it takes (softmax f32 on sm_90: 72 with every path compiled in, 32 with the elements path
/// alone). vectors_path: rows of whole 16-byte vectors in 16-byte steps (a call whose pointers
/// are not on 16 bytes takes the peeled code, also compiled in); peeled_path: other rows, their
/// body in 16-byte steps between a head and a tail of single elements (peel); elements_path:
/// such rows under 160 bytes, an element at a time (the peeled code's steps cost short rows more
/// than they gain: on the H200, 1048576 rows of 33 floats summed in 71.1 us peeled against 65.7
/// element by element, and 262144 rows of 45 floats in 24.4 against 27.5; softmax 147.7 against
/// 147.4, and 44.6 against 46.7);
/// columns_path: inner > 1; held_32 .. held_2048 (softmax): rows of at most 4 KiB and of at most
/// 32, 64, ..., 2048 elements, each row group holding its part in registers (held_part). Any
/// kernel still computes any problem: a rows kernel walks columns
/// when inner > 1, a columns kernel walks rows as columns of inner 1.
enum row_path : int {
    vectors_path = 0, elements_path = 1, columns_path = 2, peeled_path = 3,
    held_32 = 4, held_64, held_128, held_256, held_512, held_1024, held_2048
};

/// PATH held_*: a row group keeps its part of a short row in registers, as float: read from
/// memory once, passed over in registers (torch's short-row softmax does the same, a warp a
/// row). The row's length class (held_row: the length rounded up to a power of two) fixes each
/// thread's share at compile time, so that a kernel holds only the registers its rows need; a
/// share over 32 elements (a few threads a long row) is not held (held_items 0).
template <int PATH> __host__ __device__ constexpr long long held_row() { return PATH >= held_32 ? 32ll << (PATH - held_32) : 0; }
template <int THREADS, int PATH> __host__ __device__ constexpr int held_items() {
    return held_row<PATH>() == 0 || held_row<PATH>() > 32ll * THREADS ? 0 : held_row<PATH>() >= THREADS ? held_row<PATH>() / THREADS : 1;
}

/// This thread's ITEMS elements (or fewer) of a row part held in registers: its steps of N
/// elements as for_my_elements visits them (THREADS * N apart, coalesced across the group for
/// any offset), all loaded at once. v[s] is step s, elements first + s * step on, present when
/// s < present; absent steps hold `absent` (softmax: -inf, which adds nothing to a max).
template <int THREADS, int ITEMS, typename T, int N> struct held_part {
    static constexpr int steps = ITEMS > 0 ? (ITEMS + N - 1) / N : 1;  // 1: a kernel that holds no rows names the type
    static constexpr long long step = static_cast<long long>(THREADS) * N;
    float v[steps][N];
    long long first;
    int present;

    /// Whether a part of `count` elements fits in the group's registers.
    __device__ __forceinline__ static bool fits(long long count) { return count <= steps * step; }

    /// Loads the part (count elements from src, a multiple of N; 0 for a group without a row).
    __device__ __forceinline__ held_part(const T* src, long long count, float absent)
        : first((threadIdx.x % THREADS) * N),
          present(first < count ? static_cast<int>((count - first + step - 1) / step) : 0) {
        const T* mine = src + first;
        // Every value is written before the loads (not only the absent ones after them): a
        // value left unwritten on some path stays live across the row loop, which cost a row
        // group of a warp 100 registers a thread instead of 48 (nvcc 13.0, sm_90).
#pragma unroll
        for (int s = 0; s < steps; ++s)
#pragma unroll
            for (int k = 0; k < N; ++k) v[s][k] = absent;
#pragma unroll
        for (int s = 0; s < steps && s < present; ++s) {
            const elements<T, N> e = *reinterpret_cast<const elements<T, N>*>(mine + s * step);
#pragma unroll
            for (int k = 0; k < N; ++k) v[s][k] = to_float(e.v[k]);
        }
    }
};

/// Whether a kernel compiled for PATH reads rows that are not whole 16-byte steps on 16 bytes
/// peeled (every rows path but elements_path).
template <int PATH> __host__ __device__ constexpr bool peels() { return PATH != elements_path; }

/// Whether a kernel compiled for PATH takes its rows code for a problem of this inner extent.
template <int PATH> __device__ __forceinline__ bool takes_rows(long long inner) { return PATH != columns_path && inner == 1; }

/// Starts copying this thread's 16-byte steps of a part into shared memory (all in flight).
template <int THREADS, typename T> __device__ __forceinline__ void copy_part_async(T* cache, const T* src, long long count) {
    constexpr int N = 16 / sizeof(T);
    for (long long i = (threadIdx.x % THREADS) * N; i < count; i += static_cast<long long>(THREADS) * N)
        async_copy_16(cache + i, src + i);
    async_copies_commit();
}

/// Where a row part of `count` elements that need not start on 16 bytes breaks at 16-byte
/// boundaries: it starts `shift` elements past one; `head` elements up to the next, then `body`
/// elements in whole 16-byte steps, then the tail (fewer than 16 bytes). A pointer to T lies on
/// sizeof(T) bytes.
struct peeled_part {
    long long shift, head, body;
};

template <typename T> __device__ __forceinline__ peeled_part peel(const T* src, long long count) {
    constexpr long long V = 16 / sizeof(T);
    const long long shift = reinterpret_cast<unsigned long long>(src) / sizeof(T) % V;
    const long long head = min((V - shift) % V, count);
    return {shift, head, (count - head) / V * V};
}

/// Every thread of the row group waits for the others; shared memory written before is visible
/// to them after. Called by every thread of the block (a group of at most a warp syncs its warp,
/// a larger one the block).
template <int THREADS> __device__ __forceinline__ void group_sync() {
    if (THREADS <= 32)
        __syncwarp();
    else
        __syncthreads();
}

/// Copies this thread's share of a row part of `count` elements into `cache` (shared memory,
/// row_cache) and returns where the part starts there; for_my_elements<THREADS, T, N> reads it
/// back. N-element steps of 16 bytes: by cp.async, every copy of the thread in flight at once.
/// Smaller steps, PEEL: the part goes to the cache at its offset modulo 16 bytes, so that its
/// body too goes in 16-byte cp.async steps and only its head and tail element by element (4
/// loads of single elements a thread at a time kept rows of 4097 floats at 56 % of the copy
/// rate); threads read back each other's copies, so the row group syncs before (its reads of
/// the last part are over) and after. Without PEEL: element by element through registers, each
/// thread reading back only its own. Called by every thread of the block (count 0 for a row
/// group without a row).
template <int THREADS, typename T, int N, bool PEEL>
__device__ __forceinline__ T* cache_part(T* cache, const T* src, long long count) {
    if (N * sizeof(T) == 16) {
        copy_part_async<THREADS>(cache, src, count);
        async_copies_wait();
        return cache;
    }
    if (!PEEL) {
        for_my_elements<THREADS, T, N>(src, count, [&](long long i, const elements<T, N>& e, int) {
            *reinterpret_cast<elements<T, N>*>(cache + i) = e;
        });
        return cache;
    }
    const peeled_part p = peel(src, count);
    T* const part = cache + p.shift;
    const int t = threadIdx.x % THREADS;
    group_sync<THREADS>();
    copy_part_async<THREADS>(part + p.head, src + p.head, p.body);
    for (long long i = t; i < p.head; i += THREADS) part[i] = src[i];
    for (long long i = p.head + p.body + t; i < count; i += THREADS) part[i] = src[i];
    async_copies_wait();
    group_sync<THREADS>();
    return part;
}

/// part_sum over a row part that need not start on 16 bytes or be whole 16-byte steps: its body
/// in 16-byte steps, its head and tail element by element (peel).
template <int SPAN, int THREADS, typename T, typename F>
__device__ __forceinline__ float peeled_part_sum(const T* src, long long count, F f) {
    const peeled_part p = peel(src, count);
    float s = part_sum<SPAN, THREADS, T, 16 / sizeof(T)>(src + p.head, p.body, f);
    const int t = threadIdx.x % THREADS;
    for (long long i = t; i < p.head; i += THREADS) s += f(to_float(src[i]));
    for (long long i = p.head + p.body + t; i < count; i += THREADS) s += f(to_float(src[i]));
    return s;
}

} // namespace kt
