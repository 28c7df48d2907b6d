// Shared device helpers of the kernel families: dtype codes, loads/stores converting to and from F32,
// and the strided-geometry struct the Java side packs (dev.clipvil.backend.cuda.Geometry).
// Self-contained on purpose (no <cuda_bf16.h>): NVRTC compiles these sources without system headers.
#pragma once

// dtype codes: keep in sync with dev.clipvil.backend.cuda.DTypes
#define DT_F32 0
#define DT_BF16 1
#define DT_F16 2
#define DT_I32 3
#define DT_I64 4
#define DT_BOOL 5

#define MAX_RANK 8
#define MAX_OPERANDS 4

// A broadcast iteration space: the output shape and each operand's element strides (0 where broadcast).
// Layout (must match Geometry.java): int rank; int numel; int dims[8]; int st[4][8]  = 168 bytes.
struct Geom {
    int rank;
    int numel;
    int dims[MAX_RANK];
    int st[MAX_OPERANDS][MAX_RANK];
};
// The Java side packs this struct byte for byte (backend/cuda/Geometry.BYTES; KernelArgsTest reads this line).
static_assert(sizeof(Geom) == 168, "Geom must be 4 * (2 + MAX_RANK + MAX_OPERANDS * MAX_RANK) bytes, as Geometry.BYTES");

// Element offset of operand k at linear (row-major) output index i.
__device__ __forceinline__ int geom_offset(const Geom& g, int k, int i) {
    int off = 0;
    for (int d = g.rank - 1; d >= 0; --d) {
        int n = g.dims[d];
        int c = i % n;
        i /= n;
        off += c * g.st[k][d];
    }
    return off;
}

// All operands' offsets at once (one index decomposition).
__device__ __forceinline__ void geom_offsets(const Geom& g, int nops, int i, int* off) {
    for (int k = 0; k < nops; ++k) off[k] = 0;
    for (int d = g.rank - 1; d >= 0; --d) {
        int n = g.dims[d];
        int c = i % n;
        i /= n;
        for (int k = 0; k < nops; ++k) off[k] += c * g.st[k][d];
    }
}

__device__ __forceinline__ float bf16_to_f32(unsigned short h) {
    return __uint_as_float(((unsigned int) h) << 16);
}

// Round to nearest even; NaN stays a (quiet) NaN.
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short) ((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (unsigned short) (u >> 16);
}

#ifdef CLIPVIL_HOST_EMULATION
// kernels/host-emulation: the host has no cvt instructions; the same IEEE conversions in integer
// arithmetic (exact: every half is a float; float -> half rounds to nearest even, overflow to infinity,
// NaN stays a quiet NaN with the sign and top payload bits).
__device__ __forceinline__ float f16_to_f32(unsigned short h) {
    unsigned int sign = ((unsigned int) h & 0x8000u) << 16, e = ((unsigned int) h >> 10) & 0x1fu, m = (unsigned int) h & 0x3ffu;
    if (e == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (m << 13));
    if (e == 0u) {
        float f = (float) m * 5.9604644775390625e-8f;  // m * 2^-24, exact
        return sign ? -f : f;
    }
    return __uint_as_float(sign | ((e + 112u) << 23) | (m << 13));
}

__device__ __forceinline__ unsigned short f32_to_f16(float f) {
    unsigned int u = __float_as_uint(f);
    unsigned int sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (unsigned short) (sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) return (unsigned short) (sign | 0x7c00u);  // >= 65520 (halfway to 2^16): infinity
    if (a >= 0x38800000u) {                                          // a normal half
        unsigned int h = (a - 0x38000000u) >> 13, rem = a & 0x1fffu;
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
        return (unsigned short) (sign | h);
    }
    if (a <= 0x33000000u) return (unsigned short) sign;               // <= 2^-25: rounds to zero
    int shift = 126 - (int) (a >> 23);                                // a subnormal half: units of 2^-24
    unsigned int mant = (a & 0x7fffffu) | 0x800000u;
    unsigned int h = mant >> shift, rem = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) h++;
    return (unsigned short) (sign | h);
}
#else
__device__ __forceinline__ float f16_to_f32(unsigned short h) {
    float f;
    asm("{ cvt.f32.f16 %0, %1; }" : "=f"(f) : "h"(h));
    return f;
}

__device__ __forceinline__ unsigned short f32_to_f16(float f) {
    unsigned short h;
    asm("{ cvt.rn.f16.f32 %0, %1; }" : "=h"(h) : "f"(f));
    return h;
}
#endif

__device__ __forceinline__ float load_f(const void* p, int dt, int i) {
    switch (dt) {
        case DT_F32: return ((const float*) p)[i];
        case DT_BF16: return bf16_to_f32(((const unsigned short*) p)[i]);
        case DT_F16: return f16_to_f32(((const unsigned short*) p)[i]);
        case DT_I32: return (float) ((const int*) p)[i];
        case DT_I64: return (float) ((const long long*) p)[i];
        default: return (float) ((const unsigned char*) p)[i];
    }
}

__device__ __forceinline__ void store_f(void* p, int dt, int i, float v) {
    switch (dt) {
        case DT_F32: ((float*) p)[i] = v; break;
        case DT_BF16: ((unsigned short*) p)[i] = f32_to_bf16(v); break;
        case DT_F16: ((unsigned short*) p)[i] = f32_to_f16(v); break;
        case DT_I32: ((int*) p)[i] = (int) v; break;
        case DT_I64: ((long long*) p)[i] = (long long) v; break;
        default: ((unsigned char*) p)[i] = v != 0.0f ? 1 : 0; break;
    }
}

__device__ __forceinline__ bool is_int_dt(int dt) { return dt >= DT_I32; }

__device__ __forceinline__ long long load_i(const void* p, int dt, int i) {
    switch (dt) {
        case DT_I32: return ((const int*) p)[i];
        case DT_I64: return ((const long long*) p)[i];
        case DT_BOOL: return ((const unsigned char*) p)[i];
        default: return (long long) load_f(p, dt, i);
    }
}

__device__ __forceinline__ void store_i(void* p, int dt, int i, long long v) {
    switch (dt) {
        case DT_I32: ((int*) p)[i] = (int) v; break;
        case DT_I64: ((long long*) p)[i] = v; break;
        case DT_BOOL: ((unsigned char*) p)[i] = v != 0 ? 1 : 0; break;
        default: store_f(p, dt, i, (float) v); break;
    }
}

// Grid-stride loop over n items.
#define FOR_N(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// Block-wide sum / max of one float per thread (blockDim.x a multiple of 32, at most 1024).
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float block_sum(float v) {
    __shared__ float sh_sum[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) sh_sum[w] = v;
    __syncthreads();
    v = lane < nw ? sh_sum[lane] : 0.0f;
    if (w == 0) v = warp_sum(v);
    if (threadIdx.x == 0) sh_sum[0] = v;
    __syncthreads();
    return sh_sum[0];
}

__device__ __forceinline__ float block_max(float v) {
    __shared__ float sh_max[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) sh_max[w] = v;
    __syncthreads();
    v = lane < nw ? sh_max[lane] : -__int_as_float(0x7f800000);
    if (w == 0) v = warp_max(v);
    if (threadIdx.x == 0) sh_max[0] = v;
    __syncthreads();
    return sh_max[0];
}

// Block-wide double sum (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double block_sum_d(double v) {
    __shared__ double sh_sum_d[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) sh_sum_d[w] = v;
    __syncthreads();
    v = lane < nw ? sh_sum_d[lane] : 0.0;
    if (w == 0) v = warp_sum_d(v);
    if (threadIdx.x == 0) sh_sum_d[0] = v;
    __syncthreads();
    return sh_sum_d[0];
}

// NaN-propagating float max/min (like Java's Math.max).
__device__ __forceinline__ float nan_max(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b); }
__device__ __forceinline__ float nan_min(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b); }

__device__ __forceinline__ float block_reduce_max_nan(float v) {
    __shared__ float sh_mx[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) sh_mx[w] = v;
    __syncthreads();
    v = lane < nw ? sh_mx[lane] : -__int_as_float(0x7f800000);
    if (w == 0) for (int o = 16; o > 0; o >>= 1) v = nan_max(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) sh_mx[0] = v;
    __syncthreads();
    return sh_mx[0];
}

__device__ __forceinline__ float block_reduce_min_nan(float v) {
    __shared__ float sh_mn[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v = nan_min(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) sh_mn[w] = v;
    __syncthreads();
    v = lane < nw ? sh_mn[lane] : __int_as_float(0x7f800000);
    if (w == 0) for (int o = 16; o > 0; o >>= 1) v = nan_min(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) sh_mn[0] = v;
    __syncthreads();
    return sh_mn[0];
}
