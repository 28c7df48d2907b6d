// 2-D convolution as implicit GEMM (no im2col buffer: each tile gathers its operand elements
// straight from the tensors), forward and both gradients, plus NCHW <-> NHWC layout transforms.
//
//   F32, NCHW (the Backend's layout, backend/Conv2dParams.java): SIMT FMA GEMM tiles, exact F32.
//   BF16, NHWC, forward and both gradients: tensor cores (mma.sync m16n8k16, F32 accumulation).
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
//   clipvil_conv2d_bwd_input_nhwc_bf16(const bf16* gy, const bf16* w, bf16* gx, GEOM)
//        gy [N, P, Q, K], w per group [G][Cg][R][S][Kg] (the KCRS weight with each group's [Kg] x
//        [Cg R S] block transposed), gx [N, H, W, C] fully written. Pixels split into sh x sw phase
//        classes, each reducing over the taps that land on an output position only:
//        GEMM per class M = N ceil(H/sh) ceil(W/sw) (at most), N' = Cg, K' = (valid taps) * Kg.
//        block 128, grid (ceil(N*ceil(H/sh)*ceil(W/sw)/64), ceil(Cg/64), G*sh*sw).
//        16-byte loads when Kg % 8 == 0.
//   clipvil_conv2d_bwd_weight_nhwc_bf16(const bf16* gy, const bf16* x, float* gw, int splits, GEOM)
//        gy [N, P, Q, K], x [N, H, W, C], gw F32 [K, Cg, R, S] (the Backend's layout; cast by the caller).
//        GEMM M = Kg, N' = R*S*Cg, K' = N*P*Q split into `splits` slices: splits == 1 stores;
//        splits > 1 atomically adds, so the caller zeroes gw first.
//        block 128, grid (ceil(Kg/64), ceil(R*S*Cg/64), G * splits). 16-byte loads of gy when
//        Kg % 8 == 0 and of x when Cg % 8 == 0.
//   clipvil_transpose_batched_{f32,bf16}(const T* src, T* dst, int batch, int rows, int cols)
//        dst[b][c][r] = src[b][r][c]. NCHW -> NHWC: (batch N, rows C, cols H*W);
//        NHWC -> NCHW: (batch N, rows H*W, cols C); weight KCRS -> KRSC: (K, Cg, R*S);
//        weight KCRS -> per-group [Cg][R][S][Kg] (input gradient): (G, Kg, Cg*R*S).
//        block (32, 8), grid (ceil(cols/32), ceil(rows/32), batch).
// ---------------------------------------------------------------------------------------------

// common.cuh: bf16_to_f32 / f32_to_bf16 (round to nearest even) and warp_sum, shared with the other
// families (also under the host emulator, kernels/host-emulation).
#include "common.cuh"

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
#define CT_LDT (CT_BM + 8) // MN-major rows (weight gradient): 72 halves = 36 words

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

__device__ __forceinline__ void ct_zero(float (&acc)[2][4][4]) {
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;
}

/** One CT_BK slice of a warp's 32 x 32 sub-tile from K-major tiles sA[m][k], sB[n][k]: every
 *  fragment register is one 32-bit shared load (two consecutive k). */
__device__ __forceinline__ void ct_warp_mma_kmajor(const bf16_t (*sA)[CT_LD], const bf16_t (*sB)[CT_LD], float (&acc)[2][4][4],
                                                   int wm, int wn, int g, int t) {
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

/** Two bf16 words as one fragment register: `lo` (the lower k) in bits 0..15, as a 32-bit load of
 *  two consecutive k from a K-major row gives on a little-endian GPU. */
__device__ __forceinline__ unsigned ct_pack(bf16_t lo, bf16_t hi) { return (unsigned)lo | ((unsigned)hi << 16); }

/** The same slice from MN-major tiles sA[k][m], sB[k][n] (row length CT_LDT): a fragment register's
 *  two k are two rows apart, so each is two 16-bit shared loads packed (rows 36 words apart: the
 *  8 g x 4 t lanes of one load hit 16 distinct banks, pairs of g sharing a word). */
__device__ __forceinline__ void ct_warp_mma_mnmajor(const bf16_t (*sA)[CT_LDT], const bf16_t (*sB)[CT_LDT], float (&acc)[2][4][4],
                                                    int wm, int wn, int g, int t) {
#pragma unroll
    for (int ks = 0; ks < CT_BK / 16; ks++) {
        const int kb = ks * 16 + 2 * t;
        unsigned a[2][4];
#pragma unroll
        for (int mt = 0; mt < 2; mt++) {
            const int r0 = wm * 32 + mt * 16 + g;
            a[mt][0] = ct_pack(sA[kb][r0], sA[kb + 1][r0]);
            a[mt][1] = ct_pack(sA[kb][r0 + 8], sA[kb + 1][r0 + 8]);
            a[mt][2] = ct_pack(sA[kb + 8][r0], sA[kb + 9][r0]);
            a[mt][3] = ct_pack(sA[kb + 8][r0 + 8], sA[kb + 9][r0 + 8]);
        }
#pragma unroll
        for (int nt = 0; nt < 4; nt++) {
            const int cb = wn * 32 + nt * 8 + g;
            const unsigned b0 = ct_pack(sB[kb][cb], sB[kb + 1][cb]);
            const unsigned b1 = ct_pack(sB[kb + 8][cb], sB[kb + 9][cb]);
#pragma unroll
            for (int mt = 0; mt < 2; mt++) mma_bf16_16816(acc[mt][nt], a[mt], b0, b1);
        }
    }
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
    ct_zero(acc);

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

        ct_warp_mma_kmajor(sA, sB, acc, wm, wn, g, t);
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
// BF16 NHWC input gradient on tensor cores: gx[n, h, w, gi Cg + c] = sum over the taps (r, s) of
// pixel (h, w) that land on an output position (p, q) and ko of gy[n, p, q, gi Kg + ko] w[gi Kg + ko, c, r, s].
// Tap (r, s) of pixel (h, w) lands on an output position iff h + ph - r dh = p sh (and likewise for
// w) with 0 <= p < P. Whether the division is exact depends only on h mod sh, so the pixels are split
// into sh x sw phase classes (h = a + hc sh, w = b + wc sw) and each class's CTAs reduce over its own
// valid taps only: r = r0 + i stepR with stepR = sh / gcd(dh, sh) and r0 the first solution of
// r dh = a + ph (mod sh) (none: the class's gradient is zero). A stride-2 layer does a quarter of the
// work a zero-padded gather would; stride 1 is one class with every tap.
// GEMM per (group, class): M = N Hc Wc pixels, N' = Cg, K' = Rv Sv Kg with k = (rv, sv, ko), ko fastest.
// Operands K-major as in the forward: sA[pixel][k] from NHWC gy (ko contiguous), sB[c][k] from the
// weight rearranged per group to [G][Cg][R][S][Kg] (ko contiguous).
// =============================================================================================

/** The taps of one kernel dimension that a phase class lands on: t = first + i step, i < count. */
struct TapSet {
    int first, step, count;
};

__device__ __forceinline__ TapSet conv_taps(int phase, int pad, int extent, int stride, int dil) {
    int a = dil, b = stride;  // gcd(dil, stride)
    while (b != 0) { const int r = a % b; a = b; b = r; }
    const int step = stride / a;
    for (int t = 0; t < extent && t < stride; t++) {
        int v = (phase + pad - t * dil) % stride;
        if (v < 0) v += stride;
        if (v == 0) return TapSet{t, step, (extent - 1 - t) / step + 1};
    }
    return TapSet{0, step, 0};
}

extern "C" __global__ void clipvil_conv2d_bwd_input_nhwc_bf16(const bf16_t* gy, const bf16_t* w, bf16_t* gx,
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int sh, int sw, int ph, int pw, int dh,
    int dw, int G) {
    __shared__ __align__(16) bf16_t sA[CT_BM][CT_LD];
    __shared__ __align__(16) bf16_t sB[CT_BN][CT_LD];
    const int Cg = C / G, Kg = K / G, phases = sh * sw;
    const int gi = blockIdx.z / phases, phase = blockIdx.z - gi * phases;
    const int a0 = phase / sw, b0 = phase - a0 * sw;                    // class: h = a0 + hc sh, w = b0 + wc sw
    const int Hc = (H - a0 + sh - 1) / sh, Wc = (W - b0 + sw - 1) / sw, HWc = Hc * Wc;
    const int M = N * HWc;
    const int m0 = blockIdx.x * CT_BM, n0 = blockIdx.y * CT_BN;
    if (m0 >= M) return;                                               // grid.x is sized for class (0, 0), the largest
    const TapSet tr = conv_taps(a0, ph, R, sh, dh), ts = conv_taps(b0, pw, S, sw, dw);
    const int Kdim = tr.count * ts.count * Kg;
    const int RS = R * S;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int wm = warp >> 1, wn = warp & 1;
    const bool vecA = (Kg % 8) == 0 && (K % 8) == 0 && aligned16(gy);
    const bool vecB = (Kg % 8) == 0 && aligned16(w);

    float acc[2][4][4];
    ct_zero(acc);

    for (int k0 = 0; k0 < Kdim; k0 += CT_BK) {
        __syncthreads();
        // ---- A tile: sA[row][kc] = gy[n, p, q, gi Kg + ko] for class pixel m0 + row, k = k0 + kc
        for (int e = tid; e < CT_BM * (vecA ? CT_BK / 8 : CT_BK); e += blockDim.x) {
            const int per = vecA ? CT_BK / 8 : CT_BK;
            const int row = e / per, kc = (e - row * per) * (vecA ? 8 : 1);
            const int m = m0 + row, kk = k0 + kc;
            i64 src = -1;
            if (m < M && kk < Kdim) {  // vecA: Kg % 8 == 0, so these 8 k share the tap, channels ko..ko+7
                const int n = m / HWc, hw = m - n * HWc, hc = hw / Wc, wc = hw - hc * Wc;
                const int rsv = kk / Kg, ko = kk - rsv * Kg, rv = rsv / ts.count, sv = rsv - rv * ts.count;
                const int th = a0 + hc * sh + ph - (tr.first + rv * tr.step) * dh;  // = p sh exactly
                const int tw = b0 + wc * sw + pw - (ts.first + sv * ts.step) * dw;
                if (th >= 0 && tw >= 0) {
                    const int p = th / sh, q = tw / sw;
                    if (p < P && q < Q) src = (((i64)n * P + p) * Q + q) * K + gi * Kg + ko;
                }
            }
            if (vecA) *(uint4*)&sA[row][kc] = src >= 0 ? *(const uint4*)&gy[src] : make_uint4(0u, 0u, 0u, 0u);
            else sA[row][kc] = src >= 0 ? gy[src] : (bf16_t)0;
        }
        // ---- B tile: sB[col][kc] = w[gi, c = n0 + col, r, s, ko] for k = k0 + kc
        for (int e = tid; e < CT_BN * (vecB ? CT_BK / 8 : CT_BK); e += blockDim.x) {
            const int per = vecB ? CT_BK / 8 : CT_BK;
            const int col = e / per, kc = (e - col * per) * (vecB ? 8 : 1);
            const int c = n0 + col, kk = k0 + kc;
            i64 src = -1;
            if (c < Cg && kk < Kdim) {
                const int rsv = kk / Kg, ko = kk - rsv * Kg, rv = rsv / ts.count, sv = rsv - rv * ts.count;
                const int r = tr.first + rv * tr.step, s = ts.first + sv * ts.step;
                src = (((i64)gi * Cg + c) * RS + r * S + s) * Kg + ko;
            }
            if (vecB) *(uint4*)&sB[col][kc] = src >= 0 ? *(const uint4*)&w[src] : make_uint4(0u, 0u, 0u, 0u);
            else sB[col][kc] = src >= 0 ? w[src] : (bf16_t)0;
        }
        __syncthreads();
        ct_warp_mma_kmajor(sA, sB, acc, wm, wn, g, t);
    }

    // ---- epilogue: every pixel of the class is written (zero where no tap lands)
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int m = m0 + wm * 32 + mt * 16 + g + (e >> 1) * 8;
                const int c = n0 + wn * 32 + nt * 8 + 2 * t + (e & 1);
                if (m < M && c < Cg) {
                    const int n = m / HWc, hw = m - n * HWc, hc = hw / Wc, wc = hw - hc * Wc;
                    const int h = a0 + hc * sh, wv = b0 + wc * sw;
                    gx[(((i64)n * H + h) * W + wv) * C + gi * Cg + c] = f32_to_bf16(acc[mt][nt][e]);
                }
            }
}

// =============================================================================================
// BF16 NHWC weight gradient on tensor cores: gw[gi Kg + ko, c, r, s] = sum over output pixels
// (n, p, q) of gy[n, p, q, gi Kg + ko] x[n, p sh - ph + r dh, q sw - pw + s dw, gi Cg + c].
// GEMM M = Kg, N' = R S Cg (j = (r, s, c), c fastest), K' = N P Q output pixels. Both operands run
// along channels in memory and along the reduction (pixels) only with a stride, so they are staged
// MN-major, sA[pixel][ko] and sB[pixel][j] (each a straight, 16-byte vectorised copy of channel
// runs), and ct_warp_mma_mnmajor packs the fragments from 16-bit loads. K' is split into `splits`
// slices over grid.z (whole CT_BK steps each) so that small weights still fill the GPU: F32 result,
// stored (splits == 1) or atomically added into a zeroed buffer (splits > 1), in the Backend's
// [K, Cg, R, S] layout; the caller casts it to BF16.
// =============================================================================================
extern "C" __global__ void clipvil_conv2d_bwd_weight_nhwc_bf16(const bf16_t* gy, const bf16_t* x, float* gw, int splits,
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int sh, int sw, int ph, int pw, int dh,
    int dw, int G) {
    __shared__ __align__(16) bf16_t sA[CT_BK][CT_LDT];
    __shared__ __align__(16) bf16_t sB[CT_BK][CT_LDT];
    const int Cg = C / G, Kg = K / G, RS = R * S, PQ = P * Q;
    const int gi = blockIdx.z / splits, split = blockIdx.z - gi * splits;
    const int Ncols = RS * Cg;
    const int kTotal = N * PQ;
    const int steps = (kTotal + CT_BK - 1) / CT_BK;
    const int perSplit = (steps + splits - 1) / splits;
    const int kBegin = split * perSplit * CT_BK;
    const int kEnd = min(kTotal, kBegin + perSplit * CT_BK);
    if (kBegin >= kEnd && splits > 1) return;  // empty slice: nothing to add (gw is pre-zeroed)
    const int m0 = blockIdx.x * CT_BM, n0 = blockIdx.y * CT_BN;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int wm = warp >> 1, wn = warp & 1;
    const bool vecA = (Kg % 8) == 0 && (K % 8) == 0 && aligned16(gy);
    const bool vecB = (Cg % 8) == 0 && (C % 8) == 0 && aligned16(x);

    float acc[2][4][4];
    ct_zero(acc);

    for (int k0 = kBegin; k0 < kEnd; k0 += CT_BK) {
        __syncthreads();
        // ---- A tile: sA[kc][mm] = gy[pixel k0 + kc, gi Kg + m0 + mm]
        for (int e = tid; e < CT_BK * (vecA ? CT_BM / 8 : CT_BM); e += blockDim.x) {
            const int per = vecA ? CT_BM / 8 : CT_BM;
            const int kc = e / per, mm = (e - kc * per) * (vecA ? 8 : 1);
            const int pix = k0 + kc, ko = m0 + mm;
            const bool in = pix < kEnd && ko < Kg;
            const i64 src = (i64)pix * K + gi * Kg + ko;
            if (vecA) *(uint4*)&sA[kc][mm] = in ? *(const uint4*)&gy[src] : make_uint4(0u, 0u, 0u, 0u);
            else sA[kc][mm] = in ? gy[src] : (bf16_t)0;
        }
        // ---- B tile: sB[kc][jj] = x[n, h, w, gi Cg + c] for pixel k0 + kc, j = n0 + jj = (r, s, c)
        for (int e = tid; e < CT_BK * (vecB ? CT_BN / 8 : CT_BN); e += blockDim.x) {
            const int per = vecB ? CT_BN / 8 : CT_BN;
            const int kc = e / per, jj = (e - kc * per) * (vecB ? 8 : 1);
            const int pix = k0 + kc, j = n0 + jj;
            i64 src = -1;
            if (pix < kEnd && j < Ncols) {  // vecB: Cg % 8 == 0, so these 8 j share the tap, channels c..c+7
                const int n = pix / PQ, pq = pix - n * PQ, p = pq / Q, q = pq - p * Q;
                const int rs = j / Cg, c = j - rs * Cg, r = rs / S, s = rs - r * S;
                const int h = p * sh - ph + r * dh, wv = q * sw - pw + s * dw;
                if (h >= 0 && h < H && wv >= 0 && wv < W) src = (((i64)n * H + h) * W + wv) * C + gi * Cg + c;
            }
            if (vecB) *(uint4*)&sB[kc][jj] = src >= 0 ? *(const uint4*)&x[src] : make_uint4(0u, 0u, 0u, 0u);
            else sB[kc][jj] = src >= 0 ? x[src] : (bf16_t)0;
        }
        __syncthreads();
        ct_warp_mma_mnmajor(sA, sB, acc, wm, wn, g, t);
    }

    // ---- epilogue: acc[mt][nt][e] = (ko row g (+8 for e >= 2), j = 2t + (e & 1)) -> gw[K][Cg][R][S]
#pragma unroll
    for (int mt = 0; mt < 2; mt++)
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int ko = m0 + wm * 32 + mt * 16 + g + (e >> 1) * 8;
                const int j = n0 + wn * 32 + nt * 8 + 2 * t + (e & 1);
                if (ko < Kg && j < Ncols) {
                    const int rs = j / Cg, c = j - rs * Cg;
                    float* dst = &gw[((i64)(gi * Kg + ko) * Cg + c) * RS + rs];
                    if (splits > 1) atomicAdd(dst, acc[mt][nt][e]);
                    else *dst = acc[mt][nt][e];
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
