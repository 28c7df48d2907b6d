// A small host emulator of the CUDA features the clipvil kernels use, so that their index
// arithmetic, tiling, masking and reductions can be run and checked on a machine with no GPU.
// Every CUDA thread of a block is a std::thread; __syncthreads is a block barrier; warp shuffles and
// mma.sync go through per-warp buffers and warp barriers. Blocks run one after another (so
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
#include <barrier>

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

using std::max;
using std::min;

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline thread_local int emu_tid;

struct EmuWarp {
    std::unique_ptr<std::barrier<>> bar;
    float shfl[32];
    unsigned a[32][4], b[32][2];
};
struct EmuBlock {
    std::unique_ptr<std::barrier<>> bar;
    std::vector<EmuWarp> warps;
    // The block's dynamic shared memory (extern __shared__; new[] aligns it to 16), filled with 0xff
    // bytes (a bf16 / f32 NaN pattern) so that a read of a byte the kernel never wrote shows up as
    // NaN in the outputs.
    std::unique_ptr<unsigned char[]> dyn;
    EmuBlock(int n, size_t dynBytes) : bar(new std::barrier<>(n)), warps(n / 32), dyn(new unsigned char[dynBytes + 1]) {
        for (auto& w : warps) w.bar.reset(new std::barrier<>(32));
        std::memset(dyn.get(), 0xff, dynBytes + 1);
    }
};
inline EmuBlock* emu_block;
inline std::mutex emu_atomic;

inline void __syncthreads() { emu_block->bar->arrive_and_wait(); }

// The running block's dynamic shared memory: what `extern __shared__ unsigned char smem[]` names on
// the GPU (the kernel files spell it through a macro that expands to this call under emulation).
inline unsigned char* clipvil_emu_dynamic_smem() { return emu_block->dyn.get(); }

inline float __shfl_xor_sync(unsigned, float v, int off) {
    EmuWarp& w = emu_block->warps[emu_tid >> 5];
    int lane = emu_tid & 31;
    w.shfl[lane] = v;
    w.bar->arrive_and_wait();
    float r = w.shfl[lane ^ off];
    w.bar->arrive_and_wait();
    return r;
}

inline float atomicAdd(float* p, float v) {
    std::lock_guard<std::mutex> l(emu_atomic);
    float old = *p;
    *p = old + v;
    return old;
}

// Stand-ins for the kernels/common.cuh helpers the emulated files use (common.cuh itself carries
// PTX that a host compiler cannot take); same code as there.
inline float bf16_to_f32(unsigned short h) { return __uint_as_float(((unsigned)h) << 16); }
inline unsigned short f32_to_bf16(float f) {
    unsigned u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short)(u >> 16);
}
inline float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

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

template <class F>
void emu_launch(dim3 grid, dim3 block, F f, size_t dynamicSmemBytes = 0) {
    blockDim = block;
    gridDim = grid;
    int nt = block.x * block.y * block.z;
    for (unsigned z = 0; z < grid.z; z++)
        for (unsigned y = 0; y < grid.y; y++)
            for (unsigned x = 0; x < grid.x; x++) {
                EmuBlock b(nt, dynamicSmemBytes);
                emu_block = &b;
                std::vector<std::thread> ts;
                ts.reserve(nt);
                for (int i = 0; i < nt; i++) {
                    ts.emplace_back([&, i] {
                        threadIdx = dim3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
                        blockIdx = dim3(x, y, z);
                        emu_tid = i;
                        f();
                    });
                }
                for (auto& t : ts) t.join();
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
