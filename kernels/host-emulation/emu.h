// A small host emulator of the CUDA features the clipvil kernels use, so that their index
// arithmetic, tiling, masking and reductions can be run and checked on a machine with no GPU.
// Every CUDA thread of a block is a fiber (a ucontext with its own stack, all on one OS thread: a
// switch costs no system call, and a run is deterministic); __syncthreads is a block barrier; warp
// shuffles and mma.sync go through per-warp buffers and warp barriers. The scheduler runs one warp
// as far as it can go (to a block barrier) before the next, warps in forward order in one sweep and in
// reverse order in the next, so a read of shared memory that lacks a barrier sees stale data or a
// later phase's write in one direction or the other; a barrier that some threads never reach (a
// divergent __syncthreads) is reported as a deadlock. Blocks run one after another (so
// `__shared__` arrays become function statics; dynamic shared memory is a per-block buffer,
// LAUNCH_SMEM). mma.sync m16n8k16 is emulated from the PTX ISA's
// fragment layout table: this checks the kernels against that table, not the table itself.
// Slow and for small shapes only. Used by run.sh in this folder; not part of the build.
//
// Without CLIPVIL_HOST_EMULATION (compiled by nvcc as CUDA, `run.sh --gpu`), the same drivers run the
// kernels on a real GPU: buffers are CUDA managed memory and LAUNCH is a <<<grid, block>>> launch
// followed by a checked synchronisation.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#ifdef CLIPVIL_HOST_EMULATION
#include <ucontext.h>

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint4 {
    unsigned x, y, z, w;
};
struct float4 {
    float x, y, z, w;
};
inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __grid_constant__

using std::max;
using std::min;

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }

inline dim3 threadIdx, blockIdx;  // of the running fiber (set by the scheduler at each switch)
inline dim3 blockDim, gridDim;
inline int emu_tid;

// The fibers of the running block and the scheduler's context.
struct EmuBarrier;
struct EmuFiber {
    ucontext_t ctx;
    bool done;
    const EmuBarrier* wait;  // the barrier it waits at (the scheduler skips it until that opens)
    unsigned long long waitGen;
};
inline std::vector<EmuFiber> emu_fibers;
inline ucontext_t emu_sched;
inline unsigned long long emu_progress;  // barrier arrivals and finished threads: a sweep without any is a deadlock

// Back to the scheduler (the running thread waits at a barrier).
inline void emu_yield() { swapcontext(&emu_fibers[emu_tid].ctx, &emu_sched); }

// A barrier of n threads: the last arrival opens it (a new generation); the others wait for that.
struct EmuBarrier {
    int n, arrived = 0;
    unsigned long long gen = 0;
    explicit EmuBarrier(int n_) : n(n_) {}
    void arrive_and_wait() {
        unsigned long long g = gen;
        emu_progress++;
        if (++arrived == n) {
            arrived = 0;
            gen++;
            return;
        }
        emu_fibers[emu_tid].wait = this;
        emu_fibers[emu_tid].waitGen = g;
        while (gen == g) emu_yield();
        emu_fibers[emu_tid].wait = nullptr;
    }
};

struct EmuWarp {
    std::unique_ptr<EmuBarrier> bar;
    unsigned long long shfl[32];
    unsigned a[32][4], b[32][2];
};
struct EmuBlock {
    std::unique_ptr<EmuBarrier> bar;
    std::vector<EmuWarp> warps;
    // The block's dynamic shared memory (extern __shared__; new[] aligns it to 16), filled with 0xff
    // bytes (a bf16 / f32 NaN pattern) so that a read of a byte the kernel never wrote shows up as
    // NaN in the outputs.
    std::unique_ptr<unsigned char[]> dyn;
    EmuBlock(int n, size_t dynBytes) : bar(new EmuBarrier(n)), warps(n / 32), dyn(new unsigned char[dynBytes + 1]) {
        for (auto& w : warps) w.bar.reset(new EmuBarrier(32));
        std::memset(dyn.get(), 0xff, dynBytes + 1);
    }
};
inline EmuBlock* emu_block;
inline std::mutex emu_atomic;

inline void __syncthreads() { emu_block->bar->arrive_and_wait(); }

// The running block's dynamic shared memory: what `extern __shared__ unsigned char smem[]` names on
// the GPU (the kernel files spell it through a macro that expands to this call under emulation).
inline unsigned char* clipvil_emu_dynamic_smem() { return emu_block->dyn.get(); }

// A warp exchange of any 4- or 8-byte value (float, int, double, ...) through the warp's buffer.
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int off) {
    static_assert(sizeof(T) <= sizeof(unsigned long long), "shuffle of at most 8 bytes");
    EmuWarp& w = emu_block->warps[emu_tid >> 5];
    int lane = emu_tid & 31;
    std::memcpy(&w.shfl[lane], &v, sizeof(T));
    w.bar->arrive_and_wait();
    T r;
    std::memcpy(&r, &w.shfl[lane ^ off], sizeof(T));
    w.bar->arrive_and_wait();
    return r;
}

// Atomics: one lock for all (each returns the old value, as on the GPU).
template <class T, class U>
inline T atomicAdd(T* p, U v) {
    std::lock_guard<std::mutex> l(emu_atomic);
    T old = *p;
    *p = old + v;
    return old;
}
inline int atomicMin(int* p, int v) {
    std::lock_guard<std::mutex> l(emu_atomic);
    int old = *p;
    if (v < old) *p = v;
    return old;
}
inline int atomicMax(int* p, int v) {
    std::lock_guard<std::mutex> l(emu_atomic);
    int old = *p;
    if (v > old) *p = v;
    return old;
}
template <class T, class U, class V>
inline T atomicCAS(T* p, U compare, V v) {
    std::lock_guard<std::mutex> l(emu_atomic);
    T old = *p;
    if (old == compare) *p = v;
    return old;
}

// kernels/common.cuh (bf16/f16 conversions, loads and stores, warp and block reductions) compiles
// on the host too: under CLIPVIL_HOST_EMULATION its PTX conversions have integer equivalents.

inline float emu_bf16(unsigned bits) { return __uint_as_float((bits & 0xffffu) << 16); }

// D = A B + C for one warp, A 16x16 (row), B 16x8 (col), bf16 in, f32 accumulate.
inline void clipvil_emu_mma_bf16_16816(float* c, const unsigned* a, unsigned b0, unsigned b1) {
    EmuWarp& w = emu_block->warps[emu_tid >> 5];
    int lane = emu_tid & 31;
    for (int r = 0; r < 4; r++) w.a[lane][r] = a[r];
    w.b[lane][0] = b0;
    w.b[lane][1] = b1;
    w.bar->arrive_and_wait();
    auto A = [&](int row, int k) {
        int l = (row % 8) * 4 + (k % 8) / 2, reg = (k >= 8 ? 2 : 0) + (row >= 8 ? 1 : 0);
        return emu_bf16(w.a[l][reg] >> (16 * (k % 2)));
    };
    auto B = [&](int k, int n) {
        int l = n * 4 + (k % 8) / 2, reg = k >= 8 ? 1 : 0;
        return emu_bf16(w.b[l][reg] >> (16 * (k % 2)));
    };
    int g = lane >> 2, t = lane & 3;
    float out[4];
    for (int e = 0; e < 4; e++) {
        int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
        float s = 0.f;
        for (int k = 0; k < 16; k++) s += A(row, k) * B(k, col);
        out[e] = c[e] + s;
    }
    w.bar->arrive_and_wait();
    for (int e = 0; e < 4; e++) c[e] = out[e];
}

inline bool waiting(const EmuFiber& f) { return f.wait != nullptr && f.wait->gen == f.waitGen; }

// Fiber stacks, allocated once for the largest block and reused by every launch.
inline constexpr size_t EMU_STACK = 256 * 1024;
inline std::vector<std::unique_ptr<char[]>> emu_stacks;
inline void (*emu_body)(void*);
inline void* emu_body_arg;
inline void emu_fiber_main() {
    emu_body(emu_body_arg);
    emu_fibers[emu_tid].done = true;
    emu_progress++;
}  // returns to uc_link: the scheduler

template <class F>
void emu_launch(dim3 grid, dim3 block, F f, size_t dynamicSmemBytes = 0) {
    blockDim = block;
    gridDim = grid;
    int nt = block.x * block.y * block.z;
    while ((int)emu_stacks.size() < nt) emu_stacks.emplace_back(new char[EMU_STACK]);
    emu_body = [](void* a) { (*(F*)a)(); };
    emu_body_arg = &f;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                EmuBlock b(nt, dynamicSmemBytes);
                emu_block = &b;
                blockIdx = dim3(x, y, z);
                emu_fibers.assign(nt, EmuFiber{});
                for (int i = 0; i < nt; i++) {
                    EmuFiber& fb = emu_fibers[i];
                    getcontext(&fb.ctx);
                    fb.ctx.uc_stack.ss_sp = emu_stacks[i].get();
                    fb.ctx.uc_stack.ss_size = EMU_STACK;
                    fb.ctx.uc_link = &emu_sched;
                    makecontext(&fb.ctx, emu_fiber_main, 0);
                }
                int live = nt;
                const int nw = (nt + 31) / 32;
                for (int sweep = 0; live > 0; sweep++) {
                    unsigned long long before = emu_progress;
                    for (int kw = 0; kw < nw; kw++) {
                        // Each warp runs as far as it can (until all its threads wait at a block barrier or
                        // are done) before the next one starts: a warp running ahead of the others shows
                        // a missing block barrier.
                        const int w = sweep % 2 ? nw - 1 - kw : kw, lo = w * 32, hi = std::min(nt, lo + 32);
                        for (bool moved = true; moved;) {
                            moved = false;
                            for (int k = lo; k < hi; k++) {
                                int i = sweep % 2 ? hi - 1 - (k - lo) : k;
                                if (emu_fibers[i].done || waiting(emu_fibers[i])) continue;
                                threadIdx = dim3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
                                emu_tid = i;
                                swapcontext(&emu_sched, &emu_fibers[i].ctx);
                                if (emu_fibers[i].done) live--;
                                moved = true;
                            }
                        }
                    }
                    if (live > 0 && emu_progress == before) {
                        std::fprintf(stderr, "FAIL deadlock in block (%u, %u, %u): %d threads wait at a barrier that the others never reach\n", x, y, z, live);
                        std::exit(3);
                    }
                }
            }
}

template <class T> using vec = std::vector<T>;
#define LAUNCH(K, GRID, BLOCK, ...) emu_launch(GRID, BLOCK, [&] { K(__VA_ARGS__); })
// A launch with SMEM bytes of dynamic shared memory.
#define LAUNCH_SMEM(K, GRID, BLOCK, SMEM, ...) emu_launch(GRID, BLOCK, [&] { K(__VA_ARGS__); }, (size_t)(SMEM))
#else
#include <cuda_runtime.h>

// std::vector storage in CUDA managed memory: the drivers fill and read buffers on the host, kernels use .data().
template <class T>
struct ManagedAlloc {
    using value_type = T;
    ManagedAlloc() = default;
    template <class U> ManagedAlloc(const ManagedAlloc<U>&) {}
    T* allocate(size_t n) {
        void* p = nullptr;
        if (cudaMallocManaged(&p, n * sizeof(T) + 16) != cudaSuccess) { std::fprintf(stderr, "cudaMallocManaged failed\n"); std::exit(2); }
        return (T*)p;
    }
    void deallocate(T* p, size_t) { cudaFree(p); }
    template <class U> bool operator==(const ManagedAlloc<U>&) const { return true; }
    template <class U> bool operator!=(const ManagedAlloc<U>&) const { return false; }
};
template <class T> using vec = std::vector<T, ManagedAlloc<T>>;

inline void emu_sync(const char* kernel) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaDeviceSynchronize();
    if (e != cudaSuccess) { std::fprintf(stderr, "FAIL %s: %s\n", kernel, cudaGetErrorString(e)); std::exit(2); }
}
#define LAUNCH(K, GRID, BLOCK, ...) do { K<<<GRID, BLOCK>>>(__VA_ARGS__); emu_sync(#K); } while (0)
// Above 48 KB a kernel must opt in to its dynamic shared memory first (as the Java side does once per function).
#define LAUNCH_SMEM(K, GRID, BLOCK, SMEM, ...)                                                             \
    do {                                                                                                  \
        if (cudaFuncSetAttribute(K, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)(SMEM)) != cudaSuccess) \
            emu_sync("cudaFuncSetAttribute(" #K ")");                                                     \
        K<<<GRID, BLOCK, (size_t)(SMEM)>>>(__VA_ARGS__);                                                  \
        emu_sync(#K);                                                                                     \
    } while (0)
#endif

// ---- test helpers ---------------------------------------------------------------------------
inline unsigned emu_f2u(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float emu_u2f(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned short emu_to_bf16(float f) {
    unsigned u = emu_f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}
inline float emu_from_bf16(unsigned short h) { return emu_u2f(((unsigned)h) << 16); }

inline vec<float> emu_random(size_t n, unsigned seed, float lo, float hi, bool bf16) {
    std::mt19937 r(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    vec<float> v(n);
    for (auto& x : v) {
        x = d(r);
        if (bf16) x = emu_from_bf16(emu_to_bf16(x));
    }
    return v;
}
inline vec<unsigned short> emu_bits(const vec<float>& v) {
    vec<unsigned short> o(v.size());
    for (size_t i = 0; i < v.size(); i++) o[i] = emu_to_bf16(v[i]);
    return o;
}
inline vec<float> emu_floats(const vec<unsigned short>& v) {
    vec<float> o(v.size());
    for (size_t i = 0; i < v.size(); i++) o[i] = emu_from_bf16(v[i]);
    return o;
}

inline int emu_failures = 0;
// max |got - want| <= tol * max(max |want|, 1e-3); NaN in got fails; infinities must match exactly.
inline void emu_check(const char* what, const vec<float>& got, const std::vector<double>& want, double tol) {
    double maxRef = 1e-3, maxErr = 0;
    size_t worst = 0;
    bool bad = got.size() != want.size();
    for (size_t i = 0; !bad && i < got.size(); i++) {
        if (std::isnan(got[i])) { bad = true; worst = i; break; }
        if (std::isinf(want[i]) || std::isinf(got[i])) {
            if ((double)got[i] != want[i]) { bad = true; worst = i; break; }
            continue;
        }
        maxRef = std::max(maxRef, std::fabs(want[i]));
    }
    for (size_t i = 0; !bad && i < got.size(); i++) {
        if (std::isinf(want[i])) continue;
        double e = std::fabs(got[i] - want[i]);
        if (e > maxErr) { maxErr = e; worst = i; }
    }
    double rel = maxErr / maxRef;
    bad = bad || !(rel <= tol);
    std::printf("%s %-60s rel %.3g (tol %.0g)%s\n", bad ? "FAIL" : "ok  ", what, rel, tol,
                bad ? "" : "");
    if (bad) {
        emu_failures++;
        if (worst < got.size() && worst < want.size()) std::printf("      worst at %zu: got %.8g want %.8g\n", worst, got[worst], want[worst]);
    }
}
