// 2-D convolution as implicit GEMM (no im2col buffer: each tile gathers its operand elements
// straight from the tensors), forward and both gradients, plus NCHW <-> NHWC layout transforms.
//
//   F32, NCHW (the Backend's layout, backend/Conv2dParams.java): SIMT FMA GEMM tiles, exact F32.
//   BF16, NHWC, forward: tensor cores (mma.sync m16n8k16, F32 accumulation), weight [K, R, S, C/G].
//
// Geometry (PyTorch semantics): x [N, C, H, W], w [K, C/G, R, S], out [N, K, P, Q] with
//   P = (H + 2 ph - dh (R - 1) - 1) / sh + 1, Q likewise; G groups: group gi uses input channels
//   [gi Cg, (gi + 1) Cg) and output channels [gi Kg, (gi + 1) Kg), Cg = C / G, Kg = K / G.
//   out[n, k, p, q] = bias[k] + sum_{c, r, s} x[n, gi Cg + c, p sh - ph + r dh, q sw - pw + s dw] w[k, c, r, s]
//
// No system headers (NVRTC compiles it at run time, with common.cuh). BF16 = raw 16-bit words.
//
// ---------------------------------------------------------------------------------------------
// ENTRY POINTS (device pointers, contiguous tensors, sizes int). Every conv entry point takes the
// same geometry tail GEOM = (int N, int C, int H, int W, int K, int R, int S, int P, int Q,
//                            int sh, int sw, int ph, int pw, int dh, int dw, int G)
//
//   clipvil_conv2d_fwd_nchw_f32(const float* x, const float* w, const float* bias, float* out, GEOM)
//        bias may be null. GEMM M = N*P*Q, N' = Kg, K' = Cg*R*S.
//        block 256, grid (ceil(N*P*Q/64), ceil(Kg/64), G).
//   clipvil_conv2d_bwd_input_nchw_f32(const float* gy, const float* w, float* gx, GEOM)
//        gx [N, C, H, W] fully written. GEMM M = N*H*W, N' = Cg, K' = Kg*R*S.
//        block 256, grid (ceil(N*H*W/64), ceil(Cg/64), G).
//   clipvil_conv2d_bwd_weight_nchw_f32(const float* gy, const float* x, float* gw, int splits, GEOM)
//        gw [K, Cg, R, S]. GEMM M = Kg, N' = Cg*R*S, K' = N*P*Q split into `splits` slices:
//        splits == 1 stores; splits > 1 atomically adds, so the caller zeroes gw first.
//        block 256, grid (ceil(Kg/64), ceil(Cg*R*S/64), G * splits).
//   clipvil_conv2d_fwd_nhwc_bf16(const bf16* x, const bf16* w, const float* bias, bf16* out, GEOM)
//        x [N, H, W, C], w [K, R, S, Cg], out [N, P, Q, K], bias F32 or null.
//        GEMM M = N*P*Q, N' = Kg, K' = R*S*Cg. block 128, grid (ceil(N*P*Q/64), ceil(Kg/64), G).
//        16-byte operand loads when Cg % 8 == 0 (every layer of a ResNet but the stem).
//   clipvil_transpose_batched_{f32,bf16}(const T* src, T* dst, int batch, int rows, int cols)
//        dst[b][c][r] = src[b][r][c]. NCHW -> NHWC: (batch N, rows C, cols H*W);
//        NHWC -> NCHW: (batch N, rows H*W, cols C); weight KCRS -> KRSC: (K, Cg, R*S).
//        block (32, 8), grid (ceil(cols/32), ceil(rows/32), batch).
// ---------------------------------------------------------------------------------------------

// common.cuh: bf16_to_f32 / f32_to_bf16 (round to nearest even) and warp_sum, shared with the other
// families. The host emulator (kernels/host-emulation) supplies its own copies instead.
#ifndef CLIPVIL_HOST_EMULATION
#include "common.cuh"
#endif

typedef unsigned short bf16_t;
typedef long long i64;


__device__ __forceinline__ bool aligned16(const void* p) { return (((unsigned long long)p) & 15) == 0; }

/** The convolution's sizes, as passed. */
struct ConvGeom {
    int N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, G;
    __device__ int Cg() const { return C / G; }
    __device__ int Kg() const { return K / G; }
};

#define GEOM_INIT {N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, G}

// =============================================================================================
// F32 SIMT GEMM tile: C[m][n] = sum_k A(m, k) B(k, n) over k in [kBegin, kEnd). 64 x 64 tile per
// CTA, 256 threads, each a 4 x 4 micro-tile: thread (tx = tid % 16, ty = tid / 16) owns rows
// m0 + tx + 16i and columns n0 + ty + 16j (so consecutive threads store consecutive m).
// Op supplies a(m, k) and b(k, n) (called only in range) and store(m, n, value).
// AKFast / BKFast choose which index runs fastest across threads when a tile is gathered, so
// global reads walk the operand's contiguous direction.
// =============================================================================================
#define CG_BM 64
#define CG_BN 64
#define CG_BK 16

template <bool AKFast, bool BKFast, class Op>
__device__ __forceinline__ void gemm_f32_tile(const Op& op, int M, int Ncols, int kBegin, int kEnd) {
    __shared__ float As[CG_BK][CG_BM + 4];
    __shared__ float Bs[CG_BK][CG_BN + 4];
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.x * CG_BM, n0 = blockIdx.y * CG_BN;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.f;

    for (int k0 = kBegin; k0 < kEnd; k0 += CG_BK) {
        __syncthreads();
#pragma unroll
        for (int x = 0; x < (CG_BM * CG_BK) / 256; x++) {
            const int e = tid + 256 * x;
            const int mm = AKFast ? e / CG_BK : e % CG_BM;
            const int kk = AKFast ? e % CG_BK : e / CG_BM;
            const int m = m0 + mm, k = k0 + kk;
            As[kk][mm] = (m < M && k < kEnd) ? op.a(m, k) : 0.f;
        }
#pragma unroll
        for (int x = 0; x < (CG_BN * CG_BK) / 256; x++) {
            const int e = tid + 256 * x;
            const int nn = BKFast ? e / CG_BK : e % CG_BN;
            const int kk = BKFast ? e % CG_BK : e / CG_BN;
            const int n = n0 + nn, k = k0 + kk;
            Bs[kk][nn] = (n < Ncols && k < kEnd) ? op.b(k, n) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < CG_BK; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][tx + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][ty + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int m = m0 + tx + 16 * i, n = n0 + ty + 16 * j;
            if (m < M && n < Ncols) op.store(m, n, acc[i][j]);
        }
}

// ---- forward, NCHW F32: A(m = (n, p, q), k = (c, r, s)) = x; B(k, ko) = w; out[n, gi Kg + ko, p, q]
struct FwdNchwF32 {
    const float* x;
    const float* w;
    const float* bias;
    float* out;
    ConvGeom g;
    int gi;
    __device__ float a(int m, int k) const {
        const int PQ = g.P * g.Q, RS = g.R * g.S;
        const int n = m / PQ, pq = m - n * PQ, p = pq / g.Q, q = pq - p * g.Q;
        const int c = k / RS, rs = k - c * RS, r = rs / g.S, s = rs - r * g.S;
        const int h = p * g.sh - g.ph + r * g.dh, wv = q * g.sw - g.pw + s * g.dw;
        if (h < 0 || h >= g.H || wv < 0 || wv >= g.W) return 0.f;
        return x[(((i64)n * g.C + gi * g.Cg() + c) * g.H + h) * g.W + wv];
    }
    __device__ float b(int k, int ko) const { return w[(i64)(gi * g.Kg() + ko) * (g.Cg() * g.R * g.S) + k]; }
    __device__ void store(int m, int ko, float v) const {
        const int PQ = g.P * g.Q;
        const int n = m / PQ, pq = m - n * PQ;
        const int kout = gi * g.Kg() + ko;
        out[((i64)n * g.K + kout) * PQ + pq] = v + (bias != nullptr ? bias[kout] : 0.f);
    }
};

// ---- input gradient, NCHW F32: A(m = (n, h, w), k = (ko, r, s)) = gy at the output position that
//      tap (r, s) of pixel (h, w) comes from, when there is one; B(k, c) = w[gi Kg + ko, c, r, s]
struct BwdInputNchwF32 {
    const float* gy;
    const float* w;
    float* gx;
    ConvGeom g;
    int gi;
    __device__ float a(int m, int k) const {
        const int HW = g.H * g.W, RS = g.R * g.S;
        const int n = m / HW, hw = m - n * HW, h = hw / g.W, wv = hw - h * g.W;
        const int ko = k / RS, rs = k - ko * RS, r = rs / g.S, s = rs - r * g.S;
        const int th = h + g.ph - r * g.dh, tw = wv + g.pw - s * g.dw;  // = p * sh, q * sw when aligned
        if (th < 0 || tw < 0) return 0.f;
        if (th % g.sh != 0 || tw % g.sw != 0) return 0.f;
        const int p = th / g.sh, q = tw / g.sw;
        if (p >= g.P || q >= g.Q) return 0.f;
        return gy[(((i64)n * g.K + gi * g.Kg() + ko) * g.P + p) * g.Q + q];
    }
    __device__ float b(int k, int c) const {
        const int RS = g.R * g.S;
        const int ko = k / RS, rs = k - ko * RS;
        return w[((i64)(gi * g.Kg() + ko) * g.Cg() + c) * RS + rs];
    }
    __device__ void store(int m, int c, float v) const {
        const int HW = g.H * g.W;
        const int n = m / HW, hw = m - n * HW;
        gx[((i64)n * g.C + gi * g.Cg() + c) * HW + hw] = v;
    }
};

// ---- weight gradient, NCHW F32: A(ko, k = (n, p, q)) = gy; B(k, (c, r, s)) = x; gw[gi Kg + ko, c, r, s]
struct BwdWeightNchwF32 {
    const float* gy;
    const float* x;
    float* gw;
    ConvGeom g;
    int gi;
    bool atomic;
    __device__ float a(int ko, int k) const {
        const int PQ = g.P * g.Q;
        const int n = k / PQ, pq = k - n * PQ;
        return gy[((i64)n * g.K + gi * g.Kg() + ko) * PQ + pq];
    }
    __device__ float b(int k, int crs) const {
        const int PQ = g.P * g.Q, RS = g.R * g.S;
        const int n = k / PQ, pq = k - n * PQ, p = pq / g.Q, q = pq - p * g.Q;
        const int c = crs / RS, rs = crs - c * RS, r = rs / g.S, s = rs - r * g.S;
        const int h = p * g.sh - g.ph + r * g.dh, wv = q * g.sw - g.pw + s * g.dw;
        if (h < 0 || h >= g.H || wv < 0 || wv >= g.W) return 0.f;
        return x[(((i64)n * g.C + gi * g.Cg() + c) * g.H + h) * g.W + wv];
    }
    __device__ void store(int ko, int crs, float v) const {
        float* dst = &gw[(i64)(gi * g.Kg() + ko) * (g.Cg() * g.R * g.S) + crs];
        if (atomic) atomicAdd(dst, v);
        else *dst = v;
    }
};

extern "C" __global__ void clipvil_conv2d_fwd_nchw_f32(const float* x, const float* w, const float* bias, float* out,
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int sh, int sw, int ph, int pw, int dh,
    int dw, int G) {
    const ConvGeom g = GEOM_INIT;
    const FwdNchwF32 op{x, w, bias, out, g, (int)blockIdx.z};
    gemm_f32_tile<false, true>(op, N * P * Q, g.Kg(), 0, g.Cg() * R * S);
}

extern "C" __global__ void clipvil_conv2d_bwd_input_nchw_f32(const float* gy, const float* w, float* gx,
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int sh, int sw, int ph, int pw, int dh,
    int dw, int G) {
    const ConvGeom g = GEOM_INIT;
    const BwdInputNchwF32 op{gy, w, gx, g, (int)blockIdx.z};
    gemm_f32_tile<false, true>(op, N * H * W, g.Cg(), 0, g.Kg() * R * S);
}

extern "C" __global__ void clipvil_conv2d_bwd_weight_nchw_f32(const float* gy, const float* x, float* gw, int splits,
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int sh, int sw, int ph, int pw, int dh,
    int dw, int G) {
    const ConvGeom g = GEOM_INIT;
    const int gi = blockIdx.z / splits, split = blockIdx.z % splits;
    const int kTotal = N * P * Q;
    // each split takes a whole number of CG_BK-wide k steps
    const int steps = (kTotal + CG_BK - 1) / CG_BK;
    const int perSplit = (steps + splits - 1) / splits;
    const int kBegin = split * perSplit * CG_BK;
    const int kEnd = min(kTotal, kBegin + perSplit * CG_BK);
    const BwdWeightNchwF32 op{gy, x, gw, g, gi, splits > 1};
    if (kBegin >= kEnd && splits > 1) return;  // empty slice: nothing to add (gw is pre-zeroed)
    gemm_f32_tile<true, true>(op, g.Kg(), g.Cg() * R * S, kBegin, kEnd);
}

// =============================================================================================
// BF16 NHWC forward on tensor cores. CTA tile 64 (pixels) x 64 (output channels) x 32 (k),
// 4 warps in a 2 x 2 grid, each warp 32 x 32 = 2 m16 tiles x 4 n8 tiles. Operands staged in
// shared memory as sA[m][k] and sB[n][k] (both k-contiguous, the layout mma's row.col fragments
// read as 32-bit words). Fragment layout (lane = 4g + t), see attention.cu for the full table:
//   A regs: (row g, k 2t..2t+1), (row g+8, k 2t..), (row g, k 2t+8..), (row g+8, k 2t+8..)
//   B regs: (k 2t..2t+1, col g), (k 2t+8..2t+9, col g);  C: (row g | g+8, cols 2t, 2t+1)
// k = (r, s, c) with c fastest, matching NHWC activations and KRSC weights.
// =============================================================================================
#define CT_BM 64
#define CT_BN 64
#define CT_BK 32
#define CT_LD (CT_BK + 8)  // 40 halves = 20 words: rows g = 0..7 land in distinct bank groups

__device__ __forceinline__ void mma_bf16_16816(float* c, const unsigned* a, unsigned b0, unsigned b1) {
#ifdef CLIPVIL_HOST_EMULATION  // kernels/host-emulation: the same fragment layout, emulated on the CPU
    clipvil_emu_mma_bf16_16816(c, a, b0, b1);
#else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

extern "C" __global__ void clipvil_conv2d_fwd_nhwc_bf16(const bf16_t* x, const bf16_t* w, const float* bias, bf16_t* out,
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int sh, int sw, int ph, int pw, int dh,
    int dw, int G) {
    __shared__ __align__(16) bf16_t sA[CT_BM][CT_LD];
    __shared__ __align__(16) bf16_t sB[CT_BN][CT_LD];
    const int Cg = C / G, Kg = K / G, gi = blockIdx.z;
    const int M = N * P * Q, Kdim = R * S * Cg;
    const int m0 = blockIdx.x * CT_BM, n0 = blockIdx.y * CT_BN;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int wm = warp >> 1, wn = warp & 1;  // warp's 32 x 32 sub-tile
    const bool vecA = (Cg % 8) == 0 && (C % 8) == 0 && aligned16(x);
    const bool vecB = (Kdim % 8) == 0 && aligned16(w);

    float acc[2][4][4];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

    for (int k0 = 0; k0 < Kdim; k0 += CT_BK) {
        __syncthreads();
        // ---- A tile: sA[row][kc] = x[n, h, w, gi Cg + c] for pixel m0 + row and k = k0 + kc
        if (vecA) {
            for (int e = tid; e < CT_BM * (CT_BK / 8); e += blockDim.x) {
                const int row = e / (CT_BK / 8), kc = (e % (CT_BK / 8)) * 8;
                const int m = m0 + row, kk = k0 + kc;
                uint4 val = {0u, 0u, 0u, 0u};
                if (m < M && kk < Kdim) {  // Cg % 8 == 0: these 8 k share (r, s), channels c..c+7
                    const int n = m / (P * Q), pq = m - n * (P * Q), p = pq / Q, q = pq - p * Q;
                    const int rs = kk / Cg, c = kk - rs * Cg, r = rs / S, s = rs - r * S;
                    const int h = p * sh - ph + r * dh, wv = q * sw - pw + s * dw;
                    if (h >= 0 && h < H && wv >= 0 && wv < W)
                        val = *(const uint4*)&x[(((i64)n * H + h) * W + wv) * C + gi * Cg + c];
                }
                *(uint4*)&sA[row][kc] = val;
            }
        } else {
            for (int e = tid; e < CT_BM * CT_BK; e += blockDim.x) {
                const int row = e / CT_BK, kc = e % CT_BK;
                const int m = m0 + row, kk = k0 + kc;
                bf16_t val = 0;
                if (m < M && kk < Kdim) {
                    const int n = m / (P * Q), pq = m - n * (P * Q), p = pq / Q, q = pq - p * Q;
                    const int rs = kk / Cg, c = kk - rs * Cg, r = rs / S, s = rs - r * S;
                    const int h = p * sh - ph + r * dh, wv = q * sw - pw + s * dw;
                    if (h >= 0 && h < H && wv >= 0 && wv < W) val = x[(((i64)n * H + h) * W + wv) * C + gi * Cg + c];
                }
                sA[row][kc] = val;
            }
        }
        // ---- B tile: sB[col][kc] = w[gi Kg + n0 + col, k0 + kc] (weight rows are Kdim long)
        if (vecB) {
            for (int e = tid; e < CT_BN * (CT_BK / 8); e += blockDim.x) {
                const int col = e / (CT_BK / 8), kc = (e % (CT_BK / 8)) * 8;
                const int n = n0 + col, kk = k0 + kc;
                uint4 val = {0u, 0u, 0u, 0u};
                if (n < Kg && kk < Kdim) val = *(const uint4*)&w[(i64)(gi * Kg + n) * Kdim + kk];
                *(uint4*)&sB[col][kc] = val;
            }
        } else {
            for (int e = tid; e < CT_BN * CT_BK; e += blockDim.x) {
                const int col = e / CT_BK, kc = e % CT_BK;
                const int n = n0 + col, kk = k0 + kc;
                sB[col][kc] = (n < Kg && kk < Kdim) ? w[(i64)(gi * Kg + n) * Kdim + kk] : (bf16_t)0;
            }
        }
        __syncthreads();

#pragma unroll
        for (int ks = 0; ks < CT_BK / 16; ks++) {
            unsigned a[2][4];
#pragma unroll
            for (int mt = 0; mt < 2; mt++) {
                const int r0 = wm * 32 + mt * 16 + g, kb = ks * 16 + 2 * t;
                a[mt][0] = *(const unsigned*)&sA[r0][kb];
                a[mt][1] = *(const unsigned*)&sA[r0 + 8][kb];
                a[mt][2] = *(const unsigned*)&sA[r0][kb + 8];
                a[mt][3] = *(const unsigned*)&sA[r0 + 8][kb + 8];
            }
#pragma unroll
            for (int nt = 0; nt < 4; nt++) {
                const int cb = wn * 32 + nt * 8 + g, kb = ks * 16 + 2 * t;
                const unsigned b0 = *(const unsigned*)&sB[cb][kb];
                const unsigned b1 = *(const unsigned*)&sB[cb][kb + 8];
#pragma unroll
                for (int mt = 0; mt < 2; mt++) mma_bf16_16816(acc[mt][nt], a[mt], b0, b1);
            }
        }
    }

    // ---- epilogue: acc[mt][nt][e] = (pixel row g (+8 for e >= 2), channel 2t + (e & 1))
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int m = m0 + wm * 32 + mt * 16 + g + (e >> 1) * 8;
                const int n = n0 + wn * 32 + nt * 8 + 2 * t + (e & 1);
                if (m < M && n < Kg) {
                    const int kout = gi * Kg + n;
                    const float v = acc[mt][nt][e] + (bias != nullptr ? bias[kout] : 0.f);
                    out[(i64)m * K + kout] = f32_to_bf16(v);
                }
            }
}

// =============================================================================================
// Batched transpose through a 32 x 33 shared tile (coalesced reads and writes):
// dst[b][c][r] = src[b][r][c]. Block (32, 8).
// =============================================================================================
template <typename T>
__device__ __forceinline__ void transpose_batched(const T* __restrict__ src, T* __restrict__ dst, int rows, int cols) {
    __shared__ T tile[32][33];
    const i64 base = (i64)blockIdx.z * rows * cols;
    const int r0 = blockIdx.y * 32, c0 = blockIdx.x * 32;
    const int tx = threadIdx.x;
    for (int y = threadIdx.y; y < 32; y += blockDim.y) {
        const int r = r0 + y, c = c0 + tx;
        if (r < rows && c < cols) tile[y][tx] = src[base + (i64)r * cols + c];
    }
    __syncthreads();
    for (int y = threadIdx.y; y < 32; y += blockDim.y) {
        const int c = c0 + y, r = r0 + tx;  // write row c of dst, consecutive r across threads
        if (r < rows && c < cols) dst[base + (i64)c * rows + r] = tile[tx][y];
    }
}

extern "C" __global__ void clipvil_transpose_batched_f32(const float* src, float* dst, int batch, int rows, int cols) {
    transpose_batched<float>(src, dst, rows, cols);
}

extern "C" __global__ void clipvil_transpose_batched_bf16(const bf16_t* src, bf16_t* dst, int batch, int rows, int cols) {
    transpose_batched<bf16_t>(src, dst, rows, cols);
}
