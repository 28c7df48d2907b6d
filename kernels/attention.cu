// Fused scaled-dot-product attention, forward and backward (FlashAttention-2 style: online softmax,
// the Sq x Sk score matrix never reaches global memory).
//
// Semantics match the CPU reference (backend/cpu/CpuAttention.java):
//   s[i][j] = scale * q_i . k_j + mask[b,h,i,j]      (BOOL mask: false -> -inf)
//   causal hides key j from query i when j > i       (top-left aligned, also when Sq != Sk)
//   out_i = sum_j softmax(s_i)_j v_j,  lse_i = log sum_j exp(s_ij)
//   a row with every key hidden gives out_i = 0 and lse_i = +inf (so the backward's P is 0 there).
//
// No system headers: NVRTC compiles this same file at run time (with common.cuh, which the loader
// supplies). BF16 is handled as raw 16-bit words (unsigned short).
//
// ---------------------------------------------------------------------------------------------
// ENTRY POINTS (all pointers are device pointers; strides and sizes are in ELEMENTS, as int)
//
// D below is the template head dim of the entry point, one of 32, 64, 80, 96, 128. The runtime
// head dim `dim` may be smaller (1 <= dim <= D): loads past `dim` read 0 and stores past it are
// skipped, so pick the smallest D >= dim. Value head dim must equal the query/key head dim.
//
// Common forward parameters (same order for every forward entry point):
//   (const T* q, const T* k, const T* v, const void* mask, T* out, float* lse,
//    int B, int H, int Sq, int Sk, int dim,
//    int qsb, int qsh, int qss, int qsd,      // q strides for [B, H, Sq, dim]
//    int ksb, int ksh, int kss, int ksd,      // k strides for [B, H, Sk, dim]
//    int vsb, int vsh, int vss, int vsd,      // v strides for [B, H, Sk, dim]
//    int maskKind,                            // 0 none, 1 F32 additive, 2 BOOL (1 byte, !=0 attend), 3 BF16 additive
//    int msb, int msh, int msq, int msk,      // mask strides for [B, H, Sq, Sk]; 0 on broadcast dims
//    int causal, float scale,
//    int osb, int osh, int oss, int osd)      // out strides for [B, H, Sq, dim]
//   out: [B, H, Sq, dim] of T written through its strides (e.g. the [N, H, S, D] view, strides
//   {S*E, D, E, 1}, of an [N, S, E] tensor: the heads come out merged for the output projection,
//   no permute copy); lse: contiguous [B, H, Sq] F32.
//
//   clipvil_attn_fwd_f32_d{D}       T = float. SIMT FMA path. block 128 threads,
//                                   grid (B*H, ceil(Sq/32), 1). Static smem.
//   clipvil_attn_fwd_bf16_d{D}      T = bf16. Tensor cores (mma.sync m16n8k16, F32 accumulate).
//                                   block 128 threads, grid (B*H, ceil(Sq/64), 1). Static smem.
//   clipvil_attn_fwd_bf16simt_d{D}  T = bf16, same as the f32 SIMT path (F32 math after loading):
//                                   the simple fallback / cross-check of the tensor-core kernel.
//                                   block 128, grid (B*H, ceil(Sq/32), 1).
//
// Backward = three launches:
//   1. clipvil_attn_bwd_prep_{f32,bf16}(const T* gOut, const T* out, float* delta, float* dqAcc,
//                                      int rows, int dim, int H, int Sq,
//                                      int dqsb, int dqsh, int dqss, int dqsd,
//                                      int gsb, int gsh, int gss, int gsd, int osb, int osh, int oss, int osd)
//        gOut, out [B, H, Sq, dim] (rows = B*H*Sq) read through their strides (gs*, os*: a merged
//        [N, S, E] output and its gradient need no dense copy); writes delta[row] = sum_d gOut*out
//        (F32) and zeroes dqAcc [B, H, Sq, dim] (F32) through its strides dqs*. block 128 (4 rows
//        per block, one warp per row), grid (ceil(rows/4), 1, 1).
//   2. clipvil_attn_bwd_{f32,bf16}_d{D}(const T* q, const T* k, const T* v, const T* gOut,
//        const float* lse, const float* delta, const void* mask, float* dqAcc, T* gk, T* gv,
//        int B, int H, int Sq, int Sk, int dim,
//        int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd,
//        int vsb, int vsh, int vss, int vsd,
//        int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
//        int dqsb, int dqsh, int dqss, int dqsd,  // dqAcc strides for [B, H, Sq, dim]
//        int gksb, int gksh, int gkss, int gksd,  // gk strides for [B, H, Sk, dim]
//        int gvsb, int gvsh, int gvss, int gvsd,  // gv strides for [B, H, Sk, dim]
//        int gosb, int gosh, int goss, int gosd)  // gOut strides for [B, H, Sq, dim]
//        gOut [B, H, Sq, dim] through its strides; lse, delta contiguous [B, H, Sq]; dqAcc F32 [B, H, Sq, dim]
//        accumulated with atomicAdd (zeroed by the prep kernel); gk, gv [B, H, Sk, dim] of T, fully
//        written. All three are addressed through their strides, so the gradients of a packed
//        self-attention land straight in the packed [N, S, 3E] gradient (views with strides
//        {S*3E, D, 3E, 1}; no copy kernels). block 64 threads,
//        grid (B*H, ceil(Sk/16), 1). Static smem. (SIMT: F32 math; for bf16 the cross-check path.)
//      clipvil_attn_bwd_bf16tc_d{D}: the same parameters, T = bf16, tensor cores (mma.sync m16n8k16,
//        F32 accumulate). block 128 threads, grid (B*H, ceil(Sk/64), 1). D = 32, 64: static smem;
//        D = 80, 96, 128: DYNAMIC smem of TB_SMEM_BYTES(D, TB_KV_SMEM(D)) bytes = 40448 (d80),
//        47360 (d96), 96000 (d128); above 48 KB (d128) the function's
//        CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES must be raised to that before its first
//        launch (see the kernel's comment block for the tiling and why).
//   3. only for bf16: gq = bf16(dqAcc) (dqAcc a contiguous F32 buffer here): the backend's strided cast
//        copy (cast.cu), which writes a strided gq view directly; clipvil_attn_f32_to_bf16(const float*
//        src, bf16* dst, long long n) does it for a contiguous gq (block 256, grid-stride loop).
//        For f32, pass gq itself (its view and strides) as dqAcc and skip this step.
//
// Mixed precision (BF16 autocast: BF16 q/k/v on the tensor cores, F32 activations and gradients
// around them; no cast kernels before or after):
//   forward  clipvil_attn_fwd_bf16f32_d{D} (tensor cores), clipvil_attn_fwd_bf16simtf32_d{D} (SIMT):
//            the BF16 forward parameters with float* out (F32 accumulation written as F32, not
//            rounded through BF16); lse F32 as always.
//   backward 1. clipvil_attn_bwd_prep_f32bf16(const float* gOut, const float* out, float* delta,
//               float* dqAcc, bf16* gLow, int rows, int dim, int H, int Sq, int gsb, int gsh, int gss,
//               int gsd, int dqsb, int dqsh, int dqss, int dqsd, int osb, int osh, int oss, int osd):
//               gLow = bf16(gOut) (round to nearest even) contiguous [rows, dim],
//               delta[row] = sum_d bf16(gOut) * out (out F32, through its strides os*), dqAcc = 0
//               (through its strides dqs*, as in the prep above). gOut is read
//               through its [B, H, Sq, dim] strides (gs*), so a permuted gradient needs no dense copy.
//               Same launch as the prep.
//            2. clipvil_attn_bwd_bf16tcf32_d{D} (tensor cores) / clipvil_attn_bwd_bf16f32_d{D} (SIMT):
//               the BF16 backward parameters with gOut = gLow (contiguous strides) and float* gk,
//               float* gv; dqAcc is gq.
//            Why gOut is rounded once by the pre-kernel (not converted while loading the tiles):
//            every key-block CTA of a head re-reads all of gOut, so the BF16 copy halves those reads
//            whenever Sk > 64 and costs the same bytes at Sk <= 64 (the pre-kernel reads the F32 gOut
//            for delta anyway); the backward kernels keep their BF16 gOut loads unchanged (the mixed
//            variants differ from the BF16 ones only in their gk/gv stores); and delta comes from the
//            same rounded gOut as the products, so the result is the exact attention gradient of
//            the BF16-rounded upstream gradient (rows of dS sum to ~0 as in the F32 kernels).
// ---------------------------------------------------------------------------------------------

// common.cuh: bf16_to_f32 / f32_to_bf16 (round to nearest even) and warp_sum, shared with the other
// families (also under the host emulator, kernels/host-emulation).
#include "common.cuh"

typedef unsigned short bf16_t;
typedef long long i64;

#define CLIPVIL_INF __int_as_float(0x7f800000)


__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(bf16_t x) { return bf16_to_f32(x); }
template <typename T> __device__ __forceinline__ T from_f32(float x);
template <> __device__ __forceinline__ float from_f32<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16_t from_f32<bf16_t>(float x) { return f32_to_bf16(x); }

// Packs two floats into one 32-bit register of two bf16: `lo` (smaller column index) in the low half.
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    return (unsigned)f32_to_bf16(lo) | ((unsigned)f32_to_bf16(hi) << 16);
}

// The mask term of score (b, h, i, j): 0 for none, -inf for a false BOOL entry, the additive value otherwise.
__device__ __forceinline__ float mask_value(const void* mask, int kind, i64 off) {
    if (kind == 1) return ((const float*)mask)[off];
    if (kind == 2) return ((const unsigned char*)mask)[off] ? 0.f : -CLIPVIL_INF;
    if (kind == 3) return bf16_to_f32(((const bf16_t*)mask)[off]);
    return 0.f;
}

// D (compile-time) head-dim bound; `dim` runtime head dim.

// =============================================================================================
// Forward, SIMT (F32 math). One CTA = 32 query rows of one (b, h); 128 threads = 4 per row.
// Thread (r = tid / 4, quad = tid % 4) owns query row r and the columns quad, quad + 4, ... of
// both the score tile (keys) and the output accumulator (dims). The row's 4 threads are 4
// consecutive lanes of one warp, so row reductions are two __shfl_xor steps (1, 2).
// K and V tiles share one shared buffer (K for the scores, then V for the update) to stay under
// the 48 KB static limit at D = 128.
// =============================================================================================
#define FS_BM 32
#define FS_BN 32

template <typename T, int D, typename TO = T>
__device__ __forceinline__ void attn_fwd_simt(
    const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, const void* __restrict__ mask,
    TO* __restrict__ out, float* __restrict__ lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    __shared__ float sQ[FS_BM][D + 1];   // +1: odd row stride, rows of a warp hit distinct banks
    __shared__ float sKV[FS_BN][D + 1];
    __shared__ float sP[FS_BM][FS_BN + 1];

    const int tid = threadIdx.x;
    const int bh = blockIdx.x;            // b * H + h
    const int b = bh / H, h = bh % H;
    const int q0 = blockIdx.y * FS_BM;    // first query row of this CTA
    const int r = tid >> 2;               // owned query row within the tile, 0..31
    const int quad = tid & 3;             // owned column phase, 0..3
    const int i = q0 + r;                 // owned query row (may be >= Sq: computed, never stored)

    const T* qh = q + (i64)b * qsb + (i64)h * qsh;
    const T* kh = k + (i64)b * ksb + (i64)h * ksh;
    const T* vh = v + (i64)b * vsb + (i64)h * vsh;
    const i64 mrow = (i64)b * msb + (i64)h * msh + (i64)i * msq;  // mask offset of (b, h, i, 0)

    // Q tile -> shared, zero outside [Sq) x [dim).
    for (int e = tid; e < FS_BM * D; e += blockDim.x) {
        int rr = e / D, d = e % D, qi = q0 + rr;
        sQ[rr][d] = (qi < Sq && d < dim) ? to_f32(qh[(i64)qi * qss + (i64)d * qsd]) : 0.f;
    }

    float acc[D / 4];
#pragma unroll
    for (int x = 0; x < D / 4; x++) acc[x] = 0.f;
    float mRun = -CLIPVIL_INF, lRun = 0.f;

    // With causal, no row of this tile sees keys beyond its last row q0 + FS_BM - 1.
    const int kEnd = causal ? min(Sk, q0 + FS_BM) : Sk;
    for (int j0 = 0; j0 < kEnd; j0 += FS_BN) {
        __syncthreads();  // previous tile's V reads (and the Q load, first time) are done
        for (int e = tid; e < FS_BN * D; e += blockDim.x) {
            int c = e / D, d = e % D, j = j0 + c;
            sKV[c][d] = (j < Sk && d < dim) ? to_f32(kh[(i64)j * kss + (i64)d * ksd]) : 0.f;
        }
        __syncthreads();

        float s[FS_BN / 4];
        float mx = -CLIPVIL_INF;
#pragma unroll
        for (int ci = 0; ci < FS_BN / 4; ci++) {
            const int c = quad + 4 * ci, j = j0 + c;
            float dot = 0.f;
#pragma unroll 8
            for (int d = 0; d < D; d++) dot = fmaf(sQ[r][d], sKV[c][d], dot);
            float sv = dot * scale;
            const bool visible = i < Sq && j < Sk && !(causal && j > i);  // i < Sq: no mask read past the rows
            if (visible && maskKind != 0) sv += mask_value(mask, maskKind, mrow + (i64)j * msk);
            s[ci] = visible ? sv : -CLIPVIL_INF;
            mx = fmaxf(mx, s[ci]);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float mNew = fmaxf(mRun, mx);
        const float mUse = (mNew == -CLIPVIL_INF) ? 0.f : mNew;  // all hidden so far: exp(-inf - 0) = 0
        const float alpha = expf(mRun - mUse);
        float rowSum = 0.f;
#pragma unroll
        for (int ci = 0; ci < FS_BN / 4; ci++) {
            float p = expf(s[ci] - mUse);
            rowSum += p;
            sP[r][quad + 4 * ci] = p;
        }
        rowSum += __shfl_xor_sync(0xffffffffu, rowSum, 1);
        rowSum += __shfl_xor_sync(0xffffffffu, rowSum, 2);
        lRun = lRun * alpha + rowSum;
        mRun = mNew;

        __syncthreads();  // scores done with K; sP complete
        for (int e = tid; e < FS_BN * D; e += blockDim.x) {
            int c = e / D, d = e % D, j = j0 + c;
            sKV[c][d] = (j < Sk && d < dim) ? to_f32(vh[(i64)j * vss + (i64)d * vsd]) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int x = 0; x < D / 4; x++) {
            const int d = quad + 4 * x;
            float o = acc[x] * alpha;
#pragma unroll 8
            for (int c = 0; c < FS_BN; c++) o = fmaf(sP[r][c], sKV[c][d], o);
            acc[x] = o;
        }
    }

    if (i < Sq) {
        const i64 row = (i64)bh * Sq + i;
        TO* outRow = out + (i64)b * osb + (i64)h * osh + (i64)i * oss;  // the output through its strides
        const bool empty = !(lRun > 0.f);
        const float inv = empty ? 0.f : 1.f / lRun;
#pragma unroll
        for (int x = 0; x < D / 4; x++) {
            const int d = quad + 4 * x;
            if (d < dim) outRow[(i64)d * osd] = from_f32<TO>(acc[x] * inv);
        }
        if (quad == 0) lse[row] = empty ? CLIPVIL_INF : mRun + logf(lRun);
    }
}

// =============================================================================================
// Forward, BF16 tensor cores. One CTA = 64 query rows of one (b, h); 4 warps x 16 rows.
// mma.sync.m16n8k16 (row.col, bf16 x bf16 -> f32) fragment layout, lane = 4 * g + t:
//   A (16x16):  reg0 = (row g,   cols 2t, 2t+1)   reg1 = (row g+8, cols 2t, 2t+1)
//               reg2 = (row g,   cols 2t+8, 2t+9) reg3 = (row g+8, cols 2t+8, 2t+9)
//   B (16x8):   reg0 = (rows 2t, 2t+1, col g)     reg1 = (rows 2t+8, 2t+9, col g)
//   C (16x8):   c0, c1 = (row g, cols 2t, 2t+1)   c2, c3 = (row g+8, cols 2t, 2t+1)
// (two bf16 in one register: the smaller index in the low 16 bits.)
// S = Q K^T: A = Q rows of the warp (registers, loaded once), B[d][key] = K[key][d], read as
//   32-bit words from sK[key][d] (row-major K: the two k-consecutive elements are adjacent).
// O += P V: A = P, taken straight from the S accumulators (C layout of two adjacent n8 tiles is
//   the A layout of one k16 step), B[key][d] = V[key][d], read from the transposed sVt[d][key].
// Row statistics: row g lives in the 4 lanes 4g..4g+3 -> __shfl_xor 1, 2.
// =============================================================================================
#define TC_BM 64
#define TC_BN 64

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

// Element (row, d) of a strided bf16 matrix as raw bits, 0 outside [rows) x [dim).
__device__ __forceinline__ unsigned ld_bf16_bits(const bf16_t* base, int row, int rows, int d, int dim, int rs, int ds) {
    return (row < rows && d < dim) ? (unsigned)base[(i64)row * rs + (i64)d * ds] : 0u;
}

template <int D, typename TO = bf16_t>
__device__ __forceinline__ void attn_fwd_tc(
    const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v,
    const void* __restrict__ mask, TO* __restrict__ out, float* __restrict__ lse,
    int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    // +8 halves of padding: row strides of 20/36/44/52/68 words put the 8 rows g of a fragment
    // load in distinct bank groups (conflict-free 32-bit fragment reads). Rows stay 16-byte aligned.
    __shared__ __align__(16) bf16_t sK[TC_BN][D + 8];
    __shared__ __align__(16) bf16_t sVt[D][TC_BN + 8];

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int bh = blockIdx.x, b = bh / H, h = bh % H;
    const int q0 = blockIdx.y * TC_BM;
    const int iLo = q0 + warp * 16 + g;  // the two query rows this lane holds
    const int iHi = iLo + 8;

    const bf16_t* qh = q + (i64)b * qsb + (i64)h * qsh;
    const bf16_t* kh = k + (i64)b * ksb + (i64)h * ksh;
    const bf16_t* vh = v + (i64)b * vsb + (i64)h * vsh;
    const i64 mLo = (i64)b * msb + (i64)h * msh + (i64)iLo * msq;
    const i64 mHi = mLo + (i64)8 * msq;

    // Q fragments for the warp's 16 rows, all D / 16 k-steps (zero outside [Sq) x [dim)).
    unsigned qf[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        const int c0 = kk * 16 + 2 * t, c1 = c0 + 8;
        qf[kk][0] = ld_bf16_bits(qh, iLo, Sq, c0, dim, qss, qsd) | (ld_bf16_bits(qh, iLo, Sq, c0 + 1, dim, qss, qsd) << 16);
        qf[kk][1] = ld_bf16_bits(qh, iHi, Sq, c0, dim, qss, qsd) | (ld_bf16_bits(qh, iHi, Sq, c0 + 1, dim, qss, qsd) << 16);
        qf[kk][2] = ld_bf16_bits(qh, iLo, Sq, c1, dim, qss, qsd) | (ld_bf16_bits(qh, iLo, Sq, c1 + 1, dim, qss, qsd) << 16);
        qf[kk][3] = ld_bf16_bits(qh, iHi, Sq, c1, dim, qss, qsd) | (ld_bf16_bits(qh, iHi, Sq, c1 + 1, dim, qss, qsd) << 16);
    }

    float o[D / 8][4];
#pragma unroll
    for (int x = 0; x < D / 8; x++) o[x][0] = o[x][1] = o[x][2] = o[x][3] = 0.f;
    float mRun[2] = {-CLIPVIL_INF, -CLIPVIL_INF}, lRun[2] = {0.f, 0.f};  // [0] row iLo, [1] row iHi

    // 16-byte vector loads of K/V rows when the head dim is unit-stride, rows are 8-aligned and
    // the full D is present (dim == D); otherwise element loads.
    const bool vecK = ksd == 1 && (kss & 7) == 0 && dim == D && (((unsigned long long)kh) & 15) == 0;
    const bool vecV = vsd == 1 && (vss & 7) == 0 && dim == D && (((unsigned long long)vh) & 15) == 0;

    const int kEnd = causal ? min(Sk, q0 + TC_BM) : Sk;
    for (int j0 = 0; j0 < kEnd; j0 += TC_BN) {
        __syncthreads();
        // ---- K tile -> sK[key][d], V tile -> sVt[d][key]; zero outside [Sk) x [dim)
        if (vecK) {
            for (int e = tid; e < TC_BN * (D / 8); e += blockDim.x) {
                const int c = e / (D / 8), d8 = (e % (D / 8)) * 8, j = j0 + c;
                uint4 val = {0u, 0u, 0u, 0u};
                if (j < Sk) val = *(const uint4*)(kh + (i64)j * kss + d8);
                *(uint4*)&sK[c][d8] = val;
            }
        } else {
            for (int e = tid; e < TC_BN * D; e += blockDim.x) {
                const int c = e / D, d = e % D;
                sK[c][d] = (bf16_t)ld_bf16_bits(kh, j0 + c, Sk, d, dim, kss, ksd);
            }
        }
        if (vecV) {
            for (int e = tid; e < TC_BN * (D / 8); e += blockDim.x) {
                const int c = e / (D / 8), d8 = (e % (D / 8)) * 8, j = j0 + c;
                uint4 val = {0u, 0u, 0u, 0u};
                if (j < Sk) val = *(const uint4*)(vh + (i64)j * vss + d8);
                const unsigned w[4] = {val.x, val.y, val.z, val.w};
#pragma unroll
                for (int x = 0; x < 4; x++) {
                    sVt[d8 + 2 * x][c] = (bf16_t)(w[x] & 0xffffu);
                    sVt[d8 + 2 * x + 1][c] = (bf16_t)(w[x] >> 16);
                }
            }
        } else {
            for (int e = tid; e < TC_BN * D; e += blockDim.x) {
                const int c = e / D, d = e % D;
                sVt[d][c] = (bf16_t)ld_bf16_bits(vh, j0 + c, Sk, d, dim, vss, vsd);
            }
        }
        __syncthreads();

        // ---- S = Q K^T for the warp's 16 rows x 64 keys: 8 n8 tiles
        float s[TC_BN / 8][4];
#pragma unroll
        for (int nt = 0; nt < TC_BN / 8; nt++) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
            for (int nt = 0; nt < TC_BN / 8; nt++) {
                const bf16_t* kr = &sK[nt * 8 + g][kk * 16 + 2 * t];
                mma_bf16_16816(s[nt], qf[kk], *(const unsigned*)kr, *(const unsigned*)(kr + 8));
            }
        }

        // ---- scale, mask, causal, bounds; row maxima. s[nt][e]: row (e < 2 ? iLo : iHi),
        //      key j0 + nt * 8 + 2t + (e & 1).
        float mx[2] = {-CLIPVIL_INF, -CLIPVIL_INF};
#pragma unroll
        for (int nt = 0; nt < TC_BN / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int hi = e >> 1;
                const int i = hi ? iHi : iLo;
                const int j = j0 + nt * 8 + 2 * t + (e & 1);
                float sv = s[nt][e] * scale;
                const bool visible = i < Sq && j < Sk && !(causal && j > i);
                if (visible && maskKind != 0) sv += mask_value(mask, maskKind, (hi ? mHi : mLo) + (i64)j * msk);
                sv = visible ? sv : -CLIPVIL_INF;
                s[nt][e] = sv;
                mx[hi] = fmaxf(mx[hi], sv);
            }
        }
        float alpha[2];
#pragma unroll
        for (int hi = 0; hi < 2; hi++) {
            mx[hi] = fmaxf(mx[hi], __shfl_xor_sync(0xffffffffu, mx[hi], 1));
            mx[hi] = fmaxf(mx[hi], __shfl_xor_sync(0xffffffffu, mx[hi], 2));
            const float mNew = fmaxf(mRun[hi], mx[hi]);
            const float mUse = (mNew == -CLIPVIL_INF) ? 0.f : mNew;
            alpha[hi] = expf(mRun[hi] - mUse);
            mRun[hi] = mNew;
            mx[hi] = mUse;  // reused below as the shift
        }
        float rs[2] = {0.f, 0.f};
#pragma unroll
        for (int nt = 0; nt < TC_BN / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float p = expf(s[nt][e] - mx[e >> 1]);
                s[nt][e] = p;
                rs[e >> 1] += p;
            }
        }
#pragma unroll
        for (int hi = 0; hi < 2; hi++) {
            rs[hi] += __shfl_xor_sync(0xffffffffu, rs[hi], 1);
            rs[hi] += __shfl_xor_sync(0xffffffffu, rs[hi], 2);
            lRun[hi] = lRun[hi] * alpha[hi] + rs[hi];
        }
#pragma unroll
        for (int x = 0; x < D / 8; x++) {
            o[x][0] *= alpha[0];
            o[x][1] *= alpha[0];
            o[x][2] *= alpha[1];
            o[x][3] *= alpha[1];
        }

        // ---- O += P V: 4 k16 steps of 16 keys; A from the S tiles 2kc and 2kc + 1
#pragma unroll
        for (int kc = 0; kc < TC_BN / 16; kc++) {
            unsigned a[4];
            a[0] = pack_bf16(s[2 * kc][0], s[2 * kc][1]);          // row g,   keys 16kc + 2t, +1
            a[1] = pack_bf16(s[2 * kc][2], s[2 * kc][3]);          // row g+8, keys 16kc + 2t, +1
            a[2] = pack_bf16(s[2 * kc + 1][0], s[2 * kc + 1][1]);  // row g,   keys 16kc + 8 + 2t, +1
            a[3] = pack_bf16(s[2 * kc + 1][2], s[2 * kc + 1][3]);  // row g+8, keys 16kc + 8 + 2t, +1
#pragma unroll
            for (int x = 0; x < D / 8; x++) {
                const bf16_t* vr = &sVt[x * 8 + g][kc * 16 + 2 * t];
                mma_bf16_16816(o[x], a, *(const unsigned*)vr, *(const unsigned*)(vr + 8));
            }
        }
    }

    // ---- epilogue: o[x][e] is (row e < 2 ? iLo : iHi, dim x * 8 + 2t + (e & 1))
#pragma unroll
    for (int hi = 0; hi < 2; hi++) {
        const int i = hi ? iHi : iLo;
        if (i >= Sq) continue;
        const i64 row = (i64)bh * Sq + i;
        TO* outRow = out + (i64)b * osb + (i64)h * osh + (i64)i * oss;  // the output through its strides
        const bool empty = !(lRun[hi] > 0.f);
        const float inv = empty ? 0.f : 1.f / lRun[hi];
#pragma unroll
        for (int x = 0; x < D / 8; x++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const int d = x * 8 + 2 * t + e;
                if (d < dim) outRow[(i64)d * osd] = from_f32<TO>(o[x][2 * hi + e] * inv);
            }
        }
        if (t == 0) lse[row] = empty ? CLIPVIL_INF : mRun[hi] + logf(lRun[hi]);
    }
}

// =============================================================================================
// Backward pre-kernel: delta[row] = sum_d gOut[row][d] * out[row][d]; zero dqAcc[row][:].
// One warp per row, 4 rows per 128-thread block.
// =============================================================================================
// dqAcc is zeroed through its strides (dqsb, dqsh, dqss, dqsd for [B, H, Sq, dim]): for F32 gradients it
// is gq itself, which may be a view into a packed [N, S, 3E] gradient.
template <typename T>
__device__ __forceinline__ void attn_bwd_prep(const T* __restrict__ gOut, const T* __restrict__ out,
                                              float* __restrict__ delta, float* __restrict__ dqAcc, int rows, int dim,
                                              int H, int Sq, int dqsb, int dqsh, int dqss, int dqsd,
                                              int gsb, int gsh, int gss, int gsd, int osb, int osh, int oss, int osd) {
    const int lane = threadIdx.x & 31;
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const i64 bh = row / Sq, b = bh / H, h = bh % H, i = row % Sq;
    float* dqRow = dqAcc + b * dqsb + h * dqsh + i * dqss;
    const T* gRow = gOut + b * gsb + h * gsh + i * gss;
    const T* oRow = out + b * osb + h * osh + i * oss;
    float sum = 0.f;
    for (int d = lane; d < dim; d += 32) {
        sum += to_f32(gRow[(i64)d * gsd]) * to_f32(oRow[(i64)d * osd]);
        dqRow[(i64)d * dqsd] = 0.f;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) delta[row] = sum;
}

// Mixed-precision pre-kernel (BF16 q/k/v, F32 gOut and out): gOut is rounded to BF16 once, here; the
// rounded copy gLow [rows, dim] is what the backward's products read (its BF16 tiles / mma operands),
// and delta = sum_d bf16(gOut) * out (out in F32) uses the same rounded gOut, so delta is exactly the
// row sum of P * dP of those products (the gradient is the exact attention gradient of the rounded
// upstream gradient). gOut is read through its strides (gsb, gsh, gss, gsd for [B, H, Sq, dim]): the
// gradient of a [N, H, S, D] output that was permuted to [N, S, H, D] arrives permuted, and this read
// replaces a separate dense copy. Zeroes dqAcc as above. One warp per row, 4 rows per 128-thread block.
__device__ __forceinline__ void attn_bwd_prep_mixed(const float* __restrict__ gOut, const float* __restrict__ out,
                                                    float* __restrict__ delta, float* __restrict__ dqAcc,
                                                    bf16_t* __restrict__ gLow, int rows, int dim, int H, int Sq,
                                                    int gsb, int gsh, int gss, int gsd,
                                                    int dqsb, int dqsh, int dqss, int dqsd, int osb, int osh, int oss, int osd) {
    const int lane = threadIdx.x & 31;
    const i64 row = (i64)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;
    const i64 bh = row / Sq;
    const float* gRow = gOut + (bh / H) * (i64)gsb + (bh % H) * (i64)gsh + (row % Sq) * (i64)gss;
    float* dqRow = dqAcc + (bh / H) * (i64)dqsb + (bh % H) * (i64)dqsh + (row % Sq) * (i64)dqss;
    const float* oRow = out + (bh / H) * (i64)osb + (bh % H) * (i64)osh + (row % Sq) * (i64)oss;
    float sum = 0.f;
    for (int d = lane; d < dim; d += 32) {
        const bf16_t gb = f32_to_bf16(gRow[(i64)d * gsd]);
        gLow[row * dim + d] = gb;
        sum += bf16_to_f32(gb) * oRow[(i64)d * osd];
        dqRow[(i64)d * dqsd] = 0.f;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) delta[row] = sum;
}

// =============================================================================================
// Backward, SIMT (F32 math; BF16 inputs converted on load). One CTA = 16 keys of one (b, h),
// 64 threads; it walks the query blocks of 16 rows, recomputing P = exp(s - lse) and
//   dP = gO V^T, dS = P * (dP - delta),
//   gv[key] += sum_i P[i][key] gO[i],  gk[key] += scale * sum_i dS[i][key] q[i]   (registers)
//   gq[i]   += scale * sum_key dS[i][key] k[key]                                   (atomicAdd)
// Thread (kc = tid / 4, quad = tid % 4): owns key row kc for gk/gv, dims quad + 4x; computes the
// scores of (query quad + 4ri, key kc); for gq it owns query row kc (same tid / 4) and dims quad + 4x.
// =============================================================================================
#define BS_BK 16
#define BS_BQ 16

template <typename T, int D, typename TG = T>
__device__ __forceinline__ void attn_bwd_simt(
    const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, const T* __restrict__ gOut,
    const float* __restrict__ lse, const float* __restrict__ delta, const void* __restrict__ mask,
    float* __restrict__ dqAcc, TG* __restrict__ gk, TG* __restrict__ gv,
    int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    __shared__ float sK[BS_BK][D + 1];
    __shared__ float sV[BS_BK][D + 1];
    __shared__ float sQ[BS_BQ][D + 1];
    __shared__ float sG[BS_BQ][D + 1];   // gOut rows
    __shared__ float sP[BS_BK][BS_BQ + 1];   // [key][query]
    __shared__ float sDS[BS_BK][BS_BQ + 1];  // [key][query]
    __shared__ float sL[BS_BQ], sDelta[BS_BQ];

    const int tid = threadIdx.x;
    const int kc = tid >> 2, quad = tid & 3;
    const int bh = blockIdx.x, b = bh / H, h = bh % H;
    const int j0 = blockIdx.y * BS_BK;
    const int j = j0 + kc;  // owned key

    const T* qh = q + (i64)b * qsb + (i64)h * qsh;
    const T* kh = k + (i64)b * ksb + (i64)h * ksh;
    const T* vh = v + (i64)b * vsb + (i64)h * vsh;
    const T* gh = gOut + (i64)b * gosb + (i64)h * gosh;  // gOut through its strides
    const float* lh = lse + (i64)bh * Sq;
    const float* dh = delta + (i64)bh * Sq;
    float* dqh = dqAcc + (i64)b * dqsb + (i64)h * dqsh;  // gq through its strides
    const i64 mHead = (i64)b * msb + (i64)h * msh;

    for (int e = tid; e < BS_BK * D; e += blockDim.x) {
        const int c = e / D, d = e % D, jj = j0 + c;
        const bool ok = jj < Sk && d < dim;
        sK[c][d] = ok ? to_f32(kh[(i64)jj * kss + (i64)d * ksd]) : 0.f;
        sV[c][d] = ok ? to_f32(vh[(i64)jj * vss + (i64)d * vsd]) : 0.f;
    }

    float accK[D / 4], accV[D / 4];
#pragma unroll
    for (int x = 0; x < D / 4; x++) accK[x] = accV[x] = 0.f;

    // With causal, query rows below j0 see none of these keys.
    const int iStart = causal ? (j0 / BS_BQ) * BS_BQ : 0;
    for (int i0 = iStart; i0 < Sq; i0 += BS_BQ) {
        __syncthreads();  // previous block's readers of sQ/sG/sP/sDS are done (and sK/sV are loaded)
        for (int e = tid; e < BS_BQ * D; e += blockDim.x) {
            const int rr = e / D, d = e % D, ii = i0 + rr;
            const bool ok = ii < Sq && d < dim;
            sQ[rr][d] = ok ? to_f32(qh[(i64)ii * qss + (i64)d * qsd]) : 0.f;
            sG[rr][d] = ok ? to_f32(gh[(i64)ii * goss + (i64)d * gosd]) : 0.f;
        }
        if (tid < BS_BQ) {
            const int ii = i0 + tid;
            sL[tid] = ii < Sq ? lh[ii] : CLIPVIL_INF;
            sDelta[tid] = ii < Sq ? dh[ii] : 0.f;
        }
        __syncthreads();

        // P and dS of (query quad + 4ri, key kc)
#pragma unroll
        for (int ri = 0; ri < BS_BQ / 4; ri++) {
            const int rr = quad + 4 * ri, ii = i0 + rr;
            float sdot = 0.f, pdot = 0.f;
#pragma unroll 8
            for (int d = 0; d < D; d++) {
                sdot = fmaf(sQ[rr][d], sK[kc][d], sdot);
                pdot = fmaf(sG[rr][d], sV[kc][d], pdot);
            }
            const float l = sL[rr];
            const bool visible = ii < Sq && j < Sk && !(causal && j > ii) && l != CLIPVIL_INF;
            float p = 0.f;
            if (visible) {
                float sv = sdot * scale;
                if (maskKind != 0) sv += mask_value(mask, maskKind, mHead + (i64)ii * msq + (i64)j * msk);
                p = expf(sv - l);  // sv = -inf (masked) gives 0
            }
            sP[kc][rr] = p;
            sDS[kc][rr] = p * (pdot - sDelta[rr]);
        }
        __syncthreads();

        // gk, gv rows of key kc
#pragma unroll
        for (int x = 0; x < D / 4; x++) {
            const int d = quad + 4 * x;
            float av = accV[x], ak = accK[x];
#pragma unroll
            for (int rr = 0; rr < BS_BQ; rr++) {
                av = fmaf(sP[kc][rr], sG[rr][d], av);
                ak = fmaf(sDS[kc][rr], sQ[rr][d], ak);
            }
            accV[x] = av;
            accK[x] = ak;
        }

        // gq rows: this thread owns query row kc (reusing tid / 4) of the block
        const int iq = i0 + kc;
        if (iq < Sq) {
#pragma unroll
            for (int x = 0; x < D / 4; x++) {
                const int d = quad + 4 * x;
                float a = 0.f;
#pragma unroll
                for (int c = 0; c < BS_BK; c++) a = fmaf(sDS[c][kc], sK[c][d], a);
                if (d < dim && a != 0.f) atomicAdd(&dqh[(i64)iq * dqss + (i64)d * dqsd], a * scale);
            }
        }
    }

    if (j < Sk) {  // gk, gv rows through their strides
        TG* gkr = gk + (i64)b * gksb + (i64)h * gksh + (i64)j * gkss;
        TG* gvr = gv + (i64)b * gvsb + (i64)h * gvsh + (i64)j * gvss;
#pragma unroll
        for (int x = 0; x < D / 4; x++) {
            const int d = quad + 4 * x;
            if (d < dim) {
                gkr[(i64)d * gksd] = from_f32<TG>(accK[x] * scale);
                gvr[(i64)d * gvsd] = from_f32<TG>(accV[x]);
            }
        }
    }
}

// =============================================================================================
// Backward, BF16 tensor cores. One CTA = 64 keys of one (b, h); 4 warps x 16 keys.
// It walks the query blocks of 32 rows. Per block, each warp computes for its 16 keys (transposed
// products, keys as the mma's M so the results stay in the warp's registers):
//   S^T  = K_w Q^T       A = K rows of the warp,  B[d][q] = Q[q][d]   from sQ[q][d]
//   P^T  = exp(scale S^T + mask - lse[q])   (0 where hidden)
//   dP^T = V_w gO^T      A = V rows of the warp,  B[d][q] = gO[q][d]  from sG[q][d]
//   dS^T = P^T * (dP^T - delta[q])
//   gv_w += P^T gO       A = P^T (C layout reused), B[q][d] = gO[q][d] from sGt[d][q]
//   gk_w += dS^T Q       A = dS^T,                 B[q][d] = Q[q][d]  from sQt[d][q]
// then dS^T goes to shared memory as sDS[q][key] (bf16) and the CTA computes
//   gq[32 q][D] += scale * dS K   A[q][key] from sDS, B[key][d] = K[key][d] from sKt[d][key]
// (warp w: query rows 16 (w & 1).., dim tiles of half (w >> 1)), added to dqAcc with atomicAdd.
// Fragment layout: see the forward tensor-core kernel above.
//
// Head dims and shared memory. The tiles (bytes, TB_SMEM_BYTES below) grow linearly with D:
//   D = 32: 19 712   D = 64: 33 536  (static __shared__, as before)
//   D = 80: 40 448   D = 96: 47 360  D = 128: 96 000  (dynamic shared memory, extern __shared__,
//   for the three: one code path; d128 is above 48 KB, so the Java side raises its
//   CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES once per function and device first)
// Why the key tile stays at 64 for the large head dims (instead of 32 keys): the per-thread
// register state is set by the 16 keys a warp owns, not by the tile (gk and gv accumulators are
// D / 2 floats each per lane), so a 32-key tile would save no registers, while it would double
// the Q / gO tile loads and the dq atomics per key. What limits D = 128 is registers: with the K
// and V rows of the warp held as A fragments (D / 4 registers more, 64 at D = 128) next to the
// 128 accumulators and the 32 of S^T / dP^T, ptxas spills (nvcc 13.0, sm_90a: 255 registers,
// 44 B spill stores / 48 B spill loads; from shared memory: 236 registers, no spills). So for
// D = 128 (TB_KV_SMEM) the K and V rows live in shared memory (sK[key][d], sV[key][d]: +34 816 B)
// and the fragments are read per k-step (4 + 4 32-bit reads per lane per k16 step and query
// block, small next to the B reads);
// D <= 96 keeps them in registers. Occupancy: D = 128 at 96 000 B gives 2 CTAs (8 warps) per SM
// on H100/H200 (227 KB) and 1 on A100 (163 KB); D = 80/96 (40-47 KB; 206-240 registers, no
// spills) are register-bound at 2 CTAs (8 warps) per SM.
// =============================================================================================
#define TB_BK 64
#define TB_BQ 32
// K and V fragments from shared memory instead of registers (see above).
#define TB_KV_SMEM(D) ((D) > 96)
// Shared bytes of the tiles at head dim D (kv: with sK and sV), in the order they are carved out.
#define TB_SMEM_BYTES(D, kv)                                                                          \
    (2 * (2 * TB_BQ * ((D) + 8) + 2 * (D) * (TB_BQ + 8) + (D) * (TB_BK + 8) + TB_BQ * (TB_BK + 8) +   \
          ((kv) ? 2 * TB_BK * ((D) + 8) : 0)) +                                                       \
     2 * TB_BQ * 4)

// The block's dynamic shared memory (extern __shared__; the host emulator hands out a per-block buffer).
#ifdef CLIPVIL_HOST_EMULATION
#define CLIPVIL_DYNAMIC_SMEM(name) unsigned char* name = clipvil_emu_dynamic_smem()
#else
#define CLIPVIL_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#endif

template <int D, bool KV_SMEM, typename TG>
__device__ __forceinline__ void attn_bwd_tc_body(
    const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v, const bf16_t* __restrict__ gOut,
    const float* __restrict__ lse, const float* __restrict__ delta, const void* __restrict__ mask,
    float* __restrict__ dqAcc, TG* __restrict__ gk, TG* __restrict__ gv,
    int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd, unsigned char* smem) {
    static_assert(D % 16 == 0 && D <= 128, "head dim instantiations are multiples of 16, at most 128");
    // Carve the tiles (every row is a multiple of 16 bytes, so each tile stays 16-byte aligned).
    // +8 halves of padding per row: conflict-free 32-bit fragment reads (see the forward kernel).
    typedef bf16_t RowD[D + 8];
    typedef bf16_t RowQ[TB_BQ + 8];
    typedef bf16_t RowK[TB_BK + 8];
    RowD* sQ = (RowD*)smem;                 // [TB_BQ][D + 8]
    RowD* sG = sQ + TB_BQ;                  // [TB_BQ][D + 8]
    RowQ* sQt = (RowQ*)(sG + TB_BQ);        // [D][TB_BQ + 8]
    RowQ* sGt = sQt + D;                    // [D][TB_BQ + 8]
    RowK* sKt = (RowK*)(sGt + D);           // [D][TB_BK + 8]
    RowK* sDS = sKt + D;                    // [TB_BQ][TB_BK + 8]
    RowD* sK = (RowD*)(sDS + TB_BQ);        // [TB_BK][D + 8], only with KV_SMEM
    RowD* sV = sK + TB_BK;                  // [TB_BK][D + 8], only with KV_SMEM
    float* sL = (float*)(KV_SMEM ? (unsigned char*)(sV + TB_BK) : (unsigned char*)sK);
    float* sDelta = sL + TB_BQ;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3;
    const int bh = blockIdx.x, b = bh / H, h = bh % H;
    const int j0 = blockIdx.y * TB_BK;
    const int jLo = j0 + warp * 16 + g;  // the two keys (M rows) this lane holds
    const int jHi = jLo + 8;

    const bf16_t* qh = q + (i64)b * qsb + (i64)h * qsh;
    const bf16_t* kh = k + (i64)b * ksb + (i64)h * ksh;
    const bf16_t* vh = v + (i64)b * vsb + (i64)h * vsh;
    const bf16_t* gh = gOut + (i64)b * gosb + (i64)h * gosh;  // gOut through its strides
    const float* lh = lse + (i64)bh * Sq;
    const float* dh = delta + (i64)bh * Sq;
    float* dqh = dqAcc + (i64)b * dqsb + (i64)h * dqsh;  // gq through its strides
    const i64 mHead = (i64)b * msb + (i64)h * msh;

    // K and V rows of the warp's 16 keys as A fragments (registers; with KV_SMEM read from sK / sV
    // per k-step instead); K^T of the CTA's 64 keys in shared memory.
    unsigned kf[KV_SMEM ? 1 : D / 16][4], vf[KV_SMEM ? 1 : D / 16][4];
    if constexpr (!KV_SMEM) {
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            const int c0 = kk * 16 + 2 * t, c1 = c0 + 8;
            kf[kk][0] = ld_bf16_bits(kh, jLo, Sk, c0, dim, kss, ksd) | (ld_bf16_bits(kh, jLo, Sk, c0 + 1, dim, kss, ksd) << 16);
            kf[kk][1] = ld_bf16_bits(kh, jHi, Sk, c0, dim, kss, ksd) | (ld_bf16_bits(kh, jHi, Sk, c0 + 1, dim, kss, ksd) << 16);
            kf[kk][2] = ld_bf16_bits(kh, jLo, Sk, c1, dim, kss, ksd) | (ld_bf16_bits(kh, jLo, Sk, c1 + 1, dim, kss, ksd) << 16);
            kf[kk][3] = ld_bf16_bits(kh, jHi, Sk, c1, dim, kss, ksd) | (ld_bf16_bits(kh, jHi, Sk, c1 + 1, dim, kss, ksd) << 16);
            vf[kk][0] = ld_bf16_bits(vh, jLo, Sk, c0, dim, vss, vsd) | (ld_bf16_bits(vh, jLo, Sk, c0 + 1, dim, vss, vsd) << 16);
            vf[kk][1] = ld_bf16_bits(vh, jHi, Sk, c0, dim, vss, vsd) | (ld_bf16_bits(vh, jHi, Sk, c0 + 1, dim, vss, vsd) << 16);
            vf[kk][2] = ld_bf16_bits(vh, jLo, Sk, c1, dim, vss, vsd) | (ld_bf16_bits(vh, jLo, Sk, c1 + 1, dim, vss, vsd) << 16);
            vf[kk][3] = ld_bf16_bits(vh, jHi, Sk, c1, dim, vss, vsd) | (ld_bf16_bits(vh, jHi, Sk, c1 + 1, dim, vss, vsd) << 16);
        }
    }
    for (int e = tid; e < TB_BK * D; e += blockDim.x) {
        const int c = e / D, d = e % D;
        const bf16_t kv = (bf16_t)ld_bf16_bits(kh, j0 + c, Sk, d, dim, kss, ksd);
        sKt[d][c] = kv;
        if constexpr (KV_SMEM) {
            sK[c][d] = kv;
            sV[c][d] = (bf16_t)ld_bf16_bits(vh, j0 + c, Sk, d, dim, vss, vsd);
        }
    }

    float accK[D / 8][4], accV[D / 8][4];
#pragma unroll
    for (int x = 0; x < D / 8; x++)
#pragma unroll
        for (int e = 0; e < 4; e++) accK[x][e] = accV[x][e] = 0.f;

    const int iStart = causal ? (j0 / TB_BQ) * TB_BQ : 0;  // earlier queries see none of these keys
    for (int i0 = iStart; i0 < Sq; i0 += TB_BQ) {
        __syncthreads();  // the previous block's readers of sQ, sG, sQt, sGt, sDS are done
        for (int e = tid; e < TB_BQ * D; e += blockDim.x) {
            const int rr = e / D, d = e % D, ii = i0 + rr;
            const bf16_t qv = (bf16_t)ld_bf16_bits(qh, ii, Sq, d, dim, qss, qsd);
            const bf16_t gv_ = (bf16_t)ld_bf16_bits(gh, ii, Sq, d, dim, goss, gosd);
            sQ[rr][d] = qv;
            sQt[d][rr] = qv;
            sG[rr][d] = gv_;
            sGt[d][rr] = gv_;
        }
        if (tid < TB_BQ) {
            const int ii = i0 + tid;
            sL[tid] = ii < Sq ? lh[ii] : CLIPVIL_INF;
            sDelta[tid] = ii < Sq ? dh[ii] : 0.f;
        }
        __syncthreads();

        // ---- S^T and dP^T: 16 keys x 32 queries = 4 n8 tiles
        float s[TB_BQ / 8][4], dp[TB_BQ / 8][4];
#pragma unroll
        for (int nt = 0; nt < TB_BQ / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) s[nt][e] = dp[nt][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            unsigned ka[4], va[4];
            if constexpr (KV_SMEM) {  // A fragments of the warp's K and V rows, read for this k-step
                const int r0 = warp * 16 + g, cb = kk * 16 + 2 * t;
                ka[0] = *(const unsigned*)&sK[r0][cb];
                ka[1] = *(const unsigned*)&sK[r0 + 8][cb];
                ka[2] = *(const unsigned*)&sK[r0][cb + 8];
                ka[3] = *(const unsigned*)&sK[r0 + 8][cb + 8];
                va[0] = *(const unsigned*)&sV[r0][cb];
                va[1] = *(const unsigned*)&sV[r0 + 8][cb];
                va[2] = *(const unsigned*)&sV[r0][cb + 8];
                va[3] = *(const unsigned*)&sV[r0 + 8][cb + 8];
            } else {
#pragma unroll
                for (int r = 0; r < 4; r++) {
                    ka[r] = kf[kk][r];
                    va[r] = vf[kk][r];
                }
            }
#pragma unroll
            for (int nt = 0; nt < TB_BQ / 8; nt++) {
                const bf16_t* qr = &sQ[nt * 8 + g][kk * 16 + 2 * t];
                mma_bf16_16816(s[nt], ka, *(const unsigned*)qr, *(const unsigned*)(qr + 8));
                const bf16_t* gr = &sG[nt * 8 + g][kk * 16 + 2 * t];
                mma_bf16_16816(dp[nt], va, *(const unsigned*)gr, *(const unsigned*)(gr + 8));
            }
        }

        // ---- P^T and dS^T in place: element e of tile nt is (key e < 2 ? jLo : jHi,
        //      query i0 + nt * 8 + 2t + (e & 1))
#pragma unroll
        for (int nt = 0; nt < TB_BQ / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int j = (e >> 1) ? jHi : jLo;
                const int rr = nt * 8 + 2 * t + (e & 1), ii = i0 + rr;
                const float l = sL[rr];
                const bool visible = ii < Sq && j < Sk && !(causal && j > ii) && l != CLIPVIL_INF;
                float p = 0.f;
                if (visible) {
                    float sv = s[nt][e] * scale;
                    if (maskKind != 0) sv += mask_value(mask, maskKind, mHead + (i64)ii * msq + (i64)j * msk);
                    p = expf(sv - l);
                }
                s[nt][e] = p;
                dp[nt][e] = p * (dp[nt][e] - sDelta[rr]);
            }
        }

        // ---- gv += P^T gO, gk += dS^T Q: k = the 32 queries in 2 k16 steps
#pragma unroll
        for (int kc = 0; kc < TB_BQ / 16; kc++) {
            unsigned ap[4], ad[4];
            ap[0] = pack_bf16(s[2 * kc][0], s[2 * kc][1]);
            ap[1] = pack_bf16(s[2 * kc][2], s[2 * kc][3]);
            ap[2] = pack_bf16(s[2 * kc + 1][0], s[2 * kc + 1][1]);
            ap[3] = pack_bf16(s[2 * kc + 1][2], s[2 * kc + 1][3]);
            ad[0] = pack_bf16(dp[2 * kc][0], dp[2 * kc][1]);
            ad[1] = pack_bf16(dp[2 * kc][2], dp[2 * kc][3]);
            ad[2] = pack_bf16(dp[2 * kc + 1][0], dp[2 * kc + 1][1]);
            ad[3] = pack_bf16(dp[2 * kc + 1][2], dp[2 * kc + 1][3]);
#pragma unroll
            for (int x = 0; x < D / 8; x++) {
                const bf16_t* gr = &sGt[x * 8 + g][kc * 16 + 2 * t];
                mma_bf16_16816(accV[x], ap, *(const unsigned*)gr, *(const unsigned*)(gr + 8));
                const bf16_t* qr = &sQt[x * 8 + g][kc * 16 + 2 * t];
                mma_bf16_16816(accK[x], ad, *(const unsigned*)qr, *(const unsigned*)(qr + 8));
            }
        }

        // ---- dS^T -> sDS[query][key] (bf16), then gq += scale * dS K over the CTA's 64 keys
#pragma unroll
        for (int nt = 0; nt < TB_BQ / 8; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int rr = nt * 8 + 2 * t + (e & 1);
                const int c = warp * 16 + g + (e >> 1) * 8;
                sDS[rr][c] = f32_to_bf16(dp[nt][e]);
            }
        }
        __syncthreads();
        {
            const int mt = warp & 1;            // query rows mt * 16 .. + 15
            const int half = warp >> 1;         // dim n8 tiles [half * D / 16, (half + 1) * D / 16)
            float dq[D / 16][4];
#pragma unroll
            for (int x = 0; x < D / 16; x++) dq[x][0] = dq[x][1] = dq[x][2] = dq[x][3] = 0.f;
#pragma unroll
            for (int kc = 0; kc < TB_BK / 16; kc++) {
                unsigned a[4];
                const int r0 = mt * 16 + g, cb = kc * 16 + 2 * t;
                a[0] = *(const unsigned*)&sDS[r0][cb];
                a[1] = *(const unsigned*)&sDS[r0 + 8][cb];
                a[2] = *(const unsigned*)&sDS[r0][cb + 8];
                a[3] = *(const unsigned*)&sDS[r0 + 8][cb + 8];
#pragma unroll
                for (int x = 0; x < D / 16; x++) {
                    const bf16_t* kr = &sKt[(half * (D / 16) + x) * 8 + g][cb];
                    mma_bf16_16816(dq[x], a, *(const unsigned*)kr, *(const unsigned*)(kr + 8));
                }
            }
#pragma unroll
            for (int x = 0; x < D / 16; x++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int ii = i0 + mt * 16 + g + (e >> 1) * 8;
                    const int d = (half * (D / 16) + x) * 8 + 2 * t + (e & 1);
                    if (ii < Sq && d < dim && dq[x][e] != 0.f) atomicAdd(&dqh[(i64)ii * dqss + (i64)d * dqsd], dq[x][e] * scale);
                }
            }
        }
    }

    // ---- gk, gv rows of the warp's keys: accK/accV[x][e] = (key e < 2 ? jLo : jHi, dim x * 8 + 2t + (e & 1))
#pragma unroll
    for (int x = 0; x < D / 8; x++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int j = (e >> 1) ? jHi : jLo;
            const int d = x * 8 + 2 * t + (e & 1);
            if (j < Sk && d < dim) {  // through the gradients' strides
                gk[(i64)b * gksb + (i64)h * gksh + (i64)j * gkss + (i64)d * gksd] = from_f32<TG>(accK[x][e] * scale);
                gv[(i64)b * gvsb + (i64)h * gvsh + (i64)j * gvss + (i64)d * gvsd] = from_f32<TG>(accV[x][e]);
            }
        }
    }
}

// D <= 64: the tiles in static shared memory (no launch attribute needed).
template <int D, typename TG = bf16_t>
__device__ __forceinline__ void attn_bwd_tc(
    const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v, const bf16_t* __restrict__ gOut,
    const float* __restrict__ lse, const float* __restrict__ delta, const void* __restrict__ mask,
    float* __restrict__ dqAcc, TG* __restrict__ gk, TG* __restrict__ gv,
    int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    static_assert(D <= 64 && TB_SMEM_BYTES(D, false) <= 48 * 1024, "static tiles: D <= 64 (use attn_bwd_tc_dyn above)");
    __shared__ __align__(16) unsigned char smem[TB_SMEM_BYTES(D, false)];
    attn_bwd_tc_body<D, false, TG>(q, k, v, gOut, lse, delta, mask, dqAcc, gk, gv, B, H, Sq, Sk, dim, qsb, qsh, qss, qsd,
                               ksb, ksh, kss, ksd, vsb, vsh, vss, vsd, maskKind, msb, msh, msq, msk, causal, scale,
        dqsb, dqsh, dqss, dqsd, gksb, gksh, gkss, gksd, gvsb, gvsh, gvss, gvsd, gosb, gosh, goss, gosd, smem);
}

// D = 80, 96, 128: the tiles in dynamic shared memory; launch with TB_SMEM_BYTES(D, TB_KV_SMEM(D)) bytes.
template <int D, typename TG = bf16_t>
__device__ __forceinline__ void attn_bwd_tc_dyn(
    const bf16_t* __restrict__ q, const bf16_t* __restrict__ k, const bf16_t* __restrict__ v, const bf16_t* __restrict__ gOut,
    const float* __restrict__ lse, const float* __restrict__ delta, const void* __restrict__ mask,
    float* __restrict__ dqAcc, TG* __restrict__ gk, TG* __restrict__ gv,
    int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    CLIPVIL_DYNAMIC_SMEM(smem);
    attn_bwd_tc_body<D, TB_KV_SMEM(D), TG>(q, k, v, gOut, lse, delta, mask, dqAcc, gk, gv, B, H, Sq, Sk, dim, qsb, qsh, qss, qsd,
                                       ksb, ksh, kss, ksd, vsb, vsh, vss, vsd, maskKind, msb, msh, msq, msk, causal, scale,
        dqsb, dqsh, dqss, dqsd, gksb, gksh, gkss, gksd, gvsb, gvsh, gvss, gvsd, gosb, gosh, goss, gosd, smem);
}

// =============================================================================================
// extern "C" entry points
// =============================================================================================
#define FWD_PARAMS(T) FWD_PARAMS_O(T, T)
#define FWD_PARAMS_O(T, TO)                                                                                    \
    const T *q, const T *k, const T *v, const void *mask, TO *out, float *lse, int B, int H, int Sq, int Sk,   \
        int dim, int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh,    \
        int vss, int vsd, int maskKind, int msb, int msh, int msq, int msk, int causal, float scale, int osb,  \
        int osh, int oss, int osd
#define FWD_ARGS                                                                                               \
    q, k, v, mask, out, lse, B, H, Sq, Sk, dim, qsb, qsh, qss, qsd, ksb, ksh, kss, ksd, vsb, vsh, vss, vsd,   \
        maskKind, msb, msh, msq, msk, causal, scale, osb, osh, oss, osd
#define BWD_PARAMS(T) BWD_PARAMS_O(T, T)
#define BWD_PARAMS_O(T, TG)                                                                                    \
    const T *q, const T *k, const T *v, const T *gOut, const float *lse, const float *delta,                  \
        const void *mask, float *dqAcc, TG *gk, TG *gv, int B, int H, int Sq, int Sk, int dim, int qsb,         \
        int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,    \
        int maskKind, int msb, int msh, int msq, int msk, int causal, float scale, int dqsb, int dqsh, int dqss,  \
        int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb,   \
        int gosh, int goss, int gosd
#define BWD_ARGS                                                                                               \
    q, k, v, gOut, lse, delta, mask, dqAcc, gk, gv, B, H, Sq, Sk, dim, qsb, qsh, qss, qsd, ksb, ksh, kss,     \
        ksd, vsb, vsh, vss, vsd, maskKind, msb, msh, msq, msk, causal, scale, dqsb, dqsh, dqss, dqsd, gksb,   \
        gksh, gkss, gksd, gvsb, gvsh, gvss, gvsd, gosb, gosh, goss, gosd

// One entry point per (kind, D), name and parameter list spelled out (no macros in the declaration):
// KernelSymbolsTest and KernelSignature read them from this source (the Java side checks its packed
// arguments against the parameter list).

extern "C" __global__ void clipvil_attn_fwd_f32_d32(
    const float* q, const float* k, const float* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<float, 32>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simt_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 32>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<32>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_f32_d32(
    const float* q, const float* k, const float* v, const float* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<float, 32>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 32>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_f32_d64(
    const float* q, const float* k, const float* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<float, 64>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simt_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 64>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<64>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_f32_d64(
    const float* q, const float* k, const float* v, const float* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<float, 64>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 64>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_f32_d80(
    const float* q, const float* k, const float* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<float, 80>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simt_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 80>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<80>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_f32_d80(
    const float* q, const float* k, const float* v, const float* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<float, 80>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 80>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_f32_d96(
    const float* q, const float* k, const float* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<float, 96>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simt_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 96>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<96>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_f32_d96(
    const float* q, const float* k, const float* v, const float* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<float, 96>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 96>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_f32_d128(
    const float* q, const float* k, const float* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<float, 128>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simt_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 128>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, bf16_t* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<128>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_f32_d128(
    const float* q, const float* k, const float* v, const float* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<float, 128>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 128>(BWD_ARGS);
}

// tensor-core backward (BF16, D = 32, 64): block 128 threads, grid (B*H, ceil(Sk/64), 1), static shared memory
extern "C" __global__ void clipvil_attn_bwd_bf16tc_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc<32>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tc_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc<64>(BWD_ARGS);
}

// tensor-core backward (BF16, D = 80, 96, 128): block 128 threads, grid (B*H, ceil(Sk/64), 1), dynamic
// shared memory of TB_SMEM_BYTES(D, TB_KV_SMEM(D)) bytes: 40 448 (d80), 47 360 (d96), 96 000 (d128).
extern "C" __global__ void clipvil_attn_bwd_bf16tc_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc_dyn<80>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tc_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc_dyn<96>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tc_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, bf16_t* gk, bf16_t* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc_dyn<128>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_bwd_prep_f32(const float* gOut, const float* out, float* delta, float* dqAcc, int rows, int dim,
                                                     int H, int Sq, int dqsb, int dqsh, int dqss, int dqsd,
                                                     int gsb, int gsh, int gss, int gsd, int osb, int osh, int oss, int osd) {
    attn_bwd_prep<float>(gOut, out, delta, dqAcc, rows, dim, H, Sq, dqsb, dqsh, dqss, dqsd, gsb, gsh, gss, gsd, osb, osh, oss, osd);
}

extern "C" __global__ void clipvil_attn_bwd_prep_bf16(const bf16_t* gOut, const bf16_t* out, float* delta, float* dqAcc, int rows, int dim,
                                                      int H, int Sq, int dqsb, int dqsh, int dqss, int dqsd,
                                                      int gsb, int gsh, int gss, int gsd, int osb, int osh, int oss, int osd) {
    attn_bwd_prep<bf16_t>(gOut, out, delta, dqAcc, rows, dim, H, Sq, dqsb, dqsh, dqss, dqsd, gsb, gsh, gss, gsd, osb, osh, oss, osd);
}

extern "C" __global__ void clipvil_attn_f32_to_bf16(const float* src, bf16_t* dst, long long n) {
    for (i64 e = (i64)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (i64)gridDim.x * blockDim.x) {
        dst[e] = f32_to_bf16(src[e]);
    }
}

// ---- mixed precision: BF16 q/k/v (tensor-core operands), F32 results (the autocast path) ----------
// Same parameters, launch shapes and shared memory as the BF16 entry points of the same D, except:
//   forward  clipvil_attn_fwd_bf16f32_d{D} (tensor cores) / clipvil_attn_fwd_bf16simtf32_d{D} (SIMT):
//            float* out;
//   backward clipvil_attn_bwd_bf16tcf32_d{D} (tensor cores) / clipvil_attn_bwd_bf16f32_d{D} (SIMT):
//            float* gk, float* gv; gOut is the BF16 copy written by clipvil_attn_bwd_prep_f32bf16, and
//            dqAcc (F32) is gq itself (no cast kernel).

extern "C" __global__ void clipvil_attn_fwd_bf16f32_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<32, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simtf32_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 32, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16f32_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 32, float>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tcf32_d32(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc<32, float>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_bf16f32_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<64, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simtf32_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 64, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16f32_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 64, float>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tcf32_d64(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc<64, float>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_bf16f32_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<80, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simtf32_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 80, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16f32_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 80, float>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tcf32_d80(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc_dyn<80, float>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_bf16f32_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<96, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simtf32_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 96, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16f32_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 96, float>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tcf32_d96(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc_dyn<96, float>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_fwd_bf16f32_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_tc<128, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_fwd_bf16simtf32_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const void* mask, float* out, float* lse, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int osb, int osh, int oss, int osd) {
    attn_fwd_simt<bf16_t, 128, float>(FWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16f32_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_simt<bf16_t, 128, float>(BWD_ARGS);
}
extern "C" __global__ void clipvil_attn_bwd_bf16tcf32_d128(
    const bf16_t* q, const bf16_t* k, const bf16_t* v, const bf16_t* gOut, const float* lse, const float* delta,
    const void* mask, float* dqAcc, float* gk, float* gv, int B, int H, int Sq, int Sk, int dim,
    int qsb, int qsh, int qss, int qsd, int ksb, int ksh, int kss, int ksd, int vsb, int vsh, int vss, int vsd,
    int maskKind, int msb, int msh, int msq, int msk, int causal, float scale,
    int dqsb, int dqsh, int dqss, int dqsd, int gksb, int gksh, int gkss, int gksd, int gvsb, int gvsh, int gvss, int gvsd, int gosb, int gosh, int goss, int gosd) {
    attn_bwd_tc_dyn<128, float>(BWD_ARGS);
}

extern "C" __global__ void clipvil_attn_bwd_prep_f32bf16(const float* gOut, const float* out, float* delta, float* dqAcc, bf16_t* gLow,
                                                        int rows, int dim, int H, int Sq, int gsb, int gsh, int gss, int gsd,
                                                        int dqsb, int dqsh, int dqss, int dqsd, int osb, int osh, int oss, int osd) {
    attn_bwd_prep_mixed(gOut, out, delta, dqAcc, gLow, rows, dim, H, Sq, gsb, gsh, gss, gsd, dqsb, dqsh, dqss, dqsd, osb, osh, oss, osd);
}
