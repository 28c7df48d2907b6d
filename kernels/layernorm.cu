// Layer norm over the last dimension: forward, backward, and a fused residual-add forward.
// Statistics and arithmetic in F32; data F32 or BF16; weight and bias always F32 (a BF16 model's
// norm parameters are cast once by the caller, matching the F32-norms mixed-precision policy).
// Semantics match backend/cpu/CpuLayerNorm.java: mean and rstd = 1 / sqrt(var + eps) per row
// (population variance), y = (x - mean) * rstd * w + b.
//
// No system headers (NVRTC compiles it at run time, with common.cuh). BF16 = raw 16-bit words.
//
// ---------------------------------------------------------------------------------------------
// ENTRY POINTS (device pointers; all tensors contiguous [rows, C]; w, b may be null (0): then
// no scale / no shift; sizes int). T = float for *_f32, unsigned short (bf16 bits) for *_bf16.
//
//   clipvil_ln_fwd_{f32,bf16}(const T* x, const float* w, const float* b, T* y,
//                             float* mean, float* rstd, int rows, int C, float eps)
//   clipvil_ln_fwd_residual_{f32,bf16}(const T* x, const T* r, const float* w, const float* b,
//                             T* y, T* sum, float* mean, float* rstd, int rows, int C, float eps)
//        sum = x + r (rounded to T), y = LN(sum): the pre-norm residual stream in one pass.
//     Both: one warp per row, block 128 threads (4 rows), grid (ceil(rows/4), 1, 1).
//     128-bit loads when C is a multiple of 16/sizeof(T) and every pointer is 16-byte aligned.
//
//   clipvil_ln_bwd_dx_{f32,bf16}(const T* gy, const T* x, const float* w, const float* mean,
//                             const float* rstd, T* gx, int rows, int C)
//        gx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = gy * w. Same launch shape as fwd.
//   clipvil_ln_bwd_params_partial_{f32,bf16}(const T* gy, const T* x, const float* mean,
//                             const float* rstd, float* pw, float* pb, int rows, int C, int rowsPerChunk)
//        pw[chunk][c] = sum over the chunk's rows of gy * xhat, pb[chunk][c] = sum of gy.
//        block (32, 8, 1), grid (ceil(C/32), chunks = ceil(rows/rowsPerChunk), 1).
//   clipvil_ln_bwd_params_reduce(const float* pw, const float* pb, float* gw, float* gb, int chunks, int C)
//        gw[c] = sum_chunk pw[chunk][c] (fixed order: deterministic), same for gb. gw/gb F32.
//        block 256, grid (ceil(C/256), 1, 1).
// ---------------------------------------------------------------------------------------------

// common.cuh: bf16_to_f32 / f32_to_bf16 (round to nearest even) and warp_sum, shared with the other
// families (also under the host emulator, kernels/host-emulation).
#include "common.cuh"

typedef unsigned short bf16_t;
typedef long long i64;


__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(bf16_t x) { return bf16_to_f32(x); }
template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16_t from_f32<bf16_t>(float x) { return f32_to_bf16(x); }

// ---- 16-byte vectors: 4 floats or 8 bf16 ------------------------------------------------------
template <typename T> struct Vec { static constexpr int N = 16 / sizeof(T); };

__device__ __forceinline__ void load_vec(const float* p, float* o) {
    const float4 a = *(const float4*)p;
    o[0] = a.x; o[1] = a.y; o[2] = a.z; o[3] = a.w;
}
__device__ __forceinline__ void load_vec(const bf16_t* p, float* o) {
    const uint4 a = *(const uint4*)p;
    const unsigned w[4] = {a.x, a.y, a.z, a.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        o[2 * i] = __uint_as_float(w[i] << 16);
        o[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}
__device__ __forceinline__ void store_vec(float* p, const float* v) {
    const float4 a = {v[0], v[1], v[2], v[3]};  // brace init, not make_float4: no header needed under NVRTC
    *(float4*)p = a;
}
__device__ __forceinline__ void store_vec(bf16_t* p, const float* v) {
    unsigned w[4];
#pragma unroll
    for (int i = 0; i < 4; i++) w[i] = (unsigned)f32_to_bf16(v[2 * i]) | ((unsigned)f32_to_bf16(v[2 * i + 1]) << 16);
    const uint4 a = {w[0], w[1], w[2], w[3]};
    *(uint4*)p = a;
}
// N consecutive F32 parameters (N = 4 or 8), or the neutral value when p is null.
template <int N> __device__ __forceinline__ void load_param(const float* p, int c, float neutral, float* o) {
    if (p == nullptr) {
#pragma unroll
        for (int i = 0; i < N; i++) o[i] = neutral;
        return;
    }
#pragma unroll
    for (int i = 0; i < N; i += 4) load_vec(p + c + i, o + i);
}

__device__ __forceinline__ bool aligned16(const void* p) { return (((unsigned long long)p) & 15) == 0; }


// =============================================================================================
// Forward (optionally fused residual add). One warp per row. Three passes over the row: sum,
// centred sum of squares (no E[x^2] - E[x]^2 cancellation), normalise; passes 2 and 3 re-read a
// row this warp just touched (L1/L2 resident). With RESID, pass 1 writes sum = T(x + r) and the
// later passes read that rounded value back (same thread, same addresses), so the statistics are
// those of the stored residual stream, as an unfused add followed by layer norm would give.
// =============================================================================================
template <typename T, bool RESID>
__device__ __forceinline__ void ln_fwd(const T* __restrict__ x, const T* __restrict__ r, const float* __restrict__ w,
                                       const float* __restrict__ b, T* __restrict__ y, T* sumOut,
                                       float* __restrict__ mean, float* __restrict__ rstd, int rows, int C, float eps) {
    constexpr int V = Vec<T>::N;
    const int lane = threadIdx.x & 31;
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const T* xr = x + row * C;
    const T* rr = RESID ? r + row * C : nullptr;
    T* sr = RESID ? sumOut + row * C : nullptr;
    T* yr = y + row * C;
    const T* src = RESID ? (const T*)sr : xr;  // what passes 2 and 3 normalise

    const bool vec = (C % V) == 0 && aligned16(x) && aligned16(y) && (w == nullptr || aligned16(w)) &&
                     (b == nullptr || aligned16(b)) && (!RESID || (aligned16(r) && aligned16(sumOut)));

    // ---- pass 1: sum (and the residual add)
    float sum = 0.f;
    if (vec) {
        for (int c = lane * V; c < C; c += 32 * V) {
            float a[V];
            load_vec(xr + c, a);
            if (RESID) {
                float e[V];
                load_vec(rr + c, e);
#pragma unroll
                for (int i = 0; i < V; i++) a[i] = to_f32(from_f32<T>(a[i] + e[i]));
                store_vec(sr + c, a);
            }
#pragma unroll
            for (int i = 0; i < V; i++) sum += a[i];
        }
    } else {
        for (int c = lane; c < C; c += 32) {
            float a = to_f32(xr[c]);
            if (RESID) {
                const T s = from_f32<T>(a + to_f32(rr[c]));
                sr[c] = s;
                a = to_f32(s);
            }
            sum += a;
        }
    }
    const float mu = warp_sum(sum) / (float)C;

    // ---- pass 2: centred sum of squares
    float sq = 0.f;
    if (vec) {
        for (int c = lane * V; c < C; c += 32 * V) {
            float a[V];
            load_vec(src + c, a);
#pragma unroll
            for (int i = 0; i < V; i++) {
                const float d = a[i] - mu;
                sq = fmaf(d, d, sq);
            }
        }
    } else {
        for (int c = lane; c < C; c += 32) {
            const float d = to_f32(src[c]) - mu;
            sq = fmaf(d, d, sq);
        }
    }
    const float var = warp_sum(sq) / (float)C;
    const float rs = 1.f / sqrtf(var + eps);

    // ---- pass 3: normalise, scale, shift
    if (vec) {
        for (int c = lane * V; c < C; c += 32 * V) {
            float a[V], ww[V], bb[V];
            load_vec(src + c, a);
            load_param<V>(w, c, 1.f, ww);
            load_param<V>(b, c, 0.f, bb);
#pragma unroll
            for (int i = 0; i < V; i++) a[i] = fmaf((a[i] - mu) * rs, ww[i], bb[i]);
            store_vec(yr + c, a);
        }
    } else {
        for (int c = lane; c < C; c += 32) {
            const float ww = w == nullptr ? 1.f : w[c], bb = b == nullptr ? 0.f : b[c];
            yr[c] = from_f32<T>(fmaf((to_f32(src[c]) - mu) * rs, ww, bb));
        }
    }
    if (lane == 0) {
        mean[row] = mu;
        rstd[row] = rs;
    }
}

// =============================================================================================
// Backward, input gradient. One warp per row; two passes (the two row sums, then gx).
// =============================================================================================
template <typename T>
__device__ __forceinline__ void ln_bwd_dx(const T* __restrict__ gy, const T* __restrict__ x, const float* __restrict__ w,
                                          const float* __restrict__ mean, const float* __restrict__ rstd,
                                          T* __restrict__ gx, int rows, int C) {
    constexpr int V = Vec<T>::N;
    const int lane = threadIdx.x & 31;
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const T* gr = gy + row * C;
    const T* xr = x + row * C;
    T* outr = gx + row * C;
    const float mu = mean[row], rs = rstd[row];
    const bool vec = (C % V) == 0 && aligned16(gy) && aligned16(x) && aligned16(gx) && (w == nullptr || aligned16(w));

    float s1 = 0.f, s2 = 0.f;  // sum g, sum g * xhat
    if (vec) {
        for (int c = lane * V; c < C; c += 32 * V) {
            float gv[V], xv[V], ww[V];
            load_vec(gr + c, gv);
            load_vec(xr + c, xv);
            load_param<V>(w, c, 1.f, ww);
#pragma unroll
            for (int i = 0; i < V; i++) {
                const float g = gv[i] * ww[i];
                s1 += g;
                s2 = fmaf(g, (xv[i] - mu) * rs, s2);
            }
        }
    } else {
        for (int c = lane; c < C; c += 32) {
            const float g = to_f32(gr[c]) * (w == nullptr ? 1.f : w[c]);
            s1 += g;
            s2 = fmaf(g, (to_f32(xr[c]) - mu) * rs, s2);
        }
    }
    const float c1 = warp_sum(s1) / (float)C, c2 = warp_sum(s2) / (float)C;

    if (vec) {
        for (int c = lane * V; c < C; c += 32 * V) {
            float gv[V], xv[V], ww[V];
            load_vec(gr + c, gv);
            load_vec(xr + c, xv);
            load_param<V>(w, c, 1.f, ww);
#pragma unroll
            for (int i = 0; i < V; i++) gv[i] = (gv[i] * ww[i] - c1 - (xv[i] - mu) * rs * c2) * rs;
            store_vec(outr + c, gv);
        }
    } else {
        for (int c = lane; c < C; c += 32) {
            const float g = to_f32(gr[c]) * (w == nullptr ? 1.f : w[c]);
            outr[c] = from_f32<T>((g - c1 - (to_f32(xr[c]) - mu) * rs * c2) * rs);
        }
    }
}

// =============================================================================================
// Backward, weight/bias gradient partials: block (32, 8): threadIdx.x = column within a 32-wide
// strip (coalesced row reads), threadIdx.y strides over the chunk's rows; the 8 partials of a
// column are summed in shared memory in a fixed order.
// =============================================================================================
template <typename T>
__device__ __forceinline__ void ln_bwd_params_partial(const T* __restrict__ gy, const T* __restrict__ x,
                                                      const float* __restrict__ mean, const float* __restrict__ rstd,
                                                      float* __restrict__ pw, float* __restrict__ pb, int rows, int C,
                                                      int rowsPerChunk) {
    __shared__ float sw[8][33], sb[8][33];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int col = blockIdx.x * 32 + tx;
    const int chunk = blockIdx.y;
    const int r0 = chunk * rowsPerChunk;
    const int r1 = min(rows, r0 + rowsPerChunk);
    float aw = 0.f, ab = 0.f;
    if (col < C) {
        for (int r = r0 + ty; r < r1; r += 8) {
            const float g = to_f32(gy[(i64)r * C + col]);
            const float xh = (to_f32(x[(i64)r * C + col]) - mean[r]) * rstd[r];
            aw = fmaf(g, xh, aw);
            ab += g;
        }
    }
    sw[ty][tx] = aw;
    sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && col < C) {
        float tw = 0.f, tb = 0.f;
#pragma unroll
        for (int k = 0; k < 8; k++) {
            tw += sw[k][tx];
            tb += sb[k][tx];
        }
        pw[(i64)chunk * C + col] = tw;
        pb[(i64)chunk * C + col] = tb;
    }
}

// =============================================================================================
// entry points
// =============================================================================================
extern "C" __global__ void clipvil_ln_fwd_f32(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, int rows, int C, float eps) {
    ln_fwd<float, false>(x, nullptr, w, b, y, nullptr, mean, rstd, rows, C, eps);
}
extern "C" __global__ void clipvil_ln_fwd_bf16(const bf16_t* x, const float* w, const float* b, bf16_t* y, float* mean, float* rstd, int rows, int C, float eps) {
    ln_fwd<bf16_t, false>(x, nullptr, w, b, y, nullptr, mean, rstd, rows, C, eps);
}
extern "C" __global__ void clipvil_ln_fwd_residual_f32(const float* x, const float* r, const float* w, const float* b, float* y, float* sum,
                            float* mean, float* rstd, int rows, int C, float eps) {
    ln_fwd<float, true>(x, r, w, b, y, sum, mean, rstd, rows, C, eps);
}
extern "C" __global__ void clipvil_ln_fwd_residual_bf16(const bf16_t* x, const bf16_t* r, const float* w, const float* b, bf16_t* y, bf16_t* sum,
                             float* mean, float* rstd, int rows, int C, float eps) {
    ln_fwd<bf16_t, true>(x, r, w, b, y, sum, mean, rstd, rows, C, eps);
}
extern "C" __global__ void clipvil_ln_bwd_dx_f32(const float* gy, const float* x, const float* w, const float* mean, const float* rstd, float* gx, int rows, int C) {
    ln_bwd_dx<float>(gy, x, w, mean, rstd, gx, rows, C);
}
extern "C" __global__ void clipvil_ln_bwd_dx_bf16(const bf16_t* gy, const bf16_t* x, const float* w, const float* mean, const float* rstd, bf16_t* gx, int rows, int C) {
    ln_bwd_dx<bf16_t>(gy, x, w, mean, rstd, gx, rows, C);
}
extern "C" __global__ void clipvil_ln_bwd_params_partial_f32(const float* gy, const float* x, const float* mean, const float* rstd, float* pw, float* pb,
                                  int rows, int C, int rowsPerChunk) {
    ln_bwd_params_partial<float>(gy, x, mean, rstd, pw, pb, rows, C, rowsPerChunk);
}
extern "C" __global__ void clipvil_ln_bwd_params_partial_bf16(const bf16_t* gy, const bf16_t* x, const float* mean, const float* rstd, float* pw, float* pb,
                                   int rows, int C, int rowsPerChunk) {
    ln_bwd_params_partial<bf16_t>(gy, x, mean, rstd, pw, pb, rows, C, rowsPerChunk);
}
extern "C" __global__ void clipvil_ln_bwd_params_reduce(const float* pw, const float* pb, float* gw, float* gb, int chunks, int C) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= C) return;
    float tw = 0.f, tb = 0.f;
    for (int k = 0; k < chunks; k++) {
        tw += pw[(i64)k * C + col];
        tb += pb[(i64)k * C + col];
    }
    gw[col] = tw;
    gb[col] = tb;
}
