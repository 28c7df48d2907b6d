package dev.clipvil.backend.cpu;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * Fused scaled-dot-product attention. Forward: per (batch, head) and block of query rows, one score
 * row at a time (scale * q.k + mask, causal cut), a stable row softmax, the weighted sum of values,
 * and the row's log-sum-exp; no score matrix beyond one row per thread exists. Backward recomputes
 * the probabilities from the saved log-sum-exp: with P = exp(S - lse), dP = gO V^T and
 * dS = P * (dP - rowsum(gO * O)), it accumulates gv += P^T gO, gq = scale dS K, gk += scale dS^T Q,
 * one (batch, head) per task so that gk and gv need no locking.
 *
 * <p>Masking: the mask (BOOL, true = attend, or additive) broadcasts to [B, H, Sq, Sk]; {@code causal}
 * hides key j from query i when j > i (PyTorch's top-left alignment, also when Sq != Sk). A row
 * with every key hidden gives a zero output and lse = +inf (so that the backward's P is 0 there).
 */
final class CpuAttention {
    private CpuAttention() {}

    /** Query rows per forward task (a task re-transposes its head's keys, so blocks amortise that). */
    private static final int Q_BLOCK = 64;

    /** Shapes and strides of one call. */
    private static final class Geometry {
        final int b, h, sq, sk, d, dv;
        final int[] qs, ks, vs;
        final int qo, ko, vo;

        Geometry(String op, Tensor q, Tensor k, Tensor v) {
            Cpu.requireCompute(op, q);
            Cpu.requireSameDType(op, q, k);
            Cpu.requireSameDType(op, q, v);
            Cpu.requireRank(op, q, 4, "q");
            Cpu.requireRank(op, k, 4, "k");
            Cpu.requireRank(op, v, 4, "v");
            int[] a = q.shape(), bb = k.shape(), c = v.shape();
            if (a[0] != bb[0] || a[1] != bb[1] || a[0] != c[0] || a[1] != c[1] || a[3] != bb[3] || bb[2] != c[2]) {
                throw new ShapeException(op + ": q " + Shapes.str(a) + ", k " + Shapes.str(bb) + " and v " + Shapes.str(c)
                        + " do not fit [B, H, Sq, D], [B, H, Sk, D], [B, H, Sk, Dv]");
            }
            b = a[0]; h = a[1]; sq = a[2]; d = a[3]; sk = bb[2]; dv = c[3];
            qs = q.strides(); ks = k.strides(); vs = v.strides();
            qo = q.offset(); ko = k.offset(); vo = v.offset();
        }

        int[] scoreShape() { return new int[]{b, h, sq, sk}; }

        /** Keys visible to query i before the mask. */
        int keys(boolean causal, int i) { return causal ? Math.min(i + 1, sk) : sk; }

        int qRow(int bi, int hi, int i) { return qo + bi * qs[0] + hi * qs[1] + i * qs[2]; }
        int kRow(int bi, int hi, int j) { return ko + bi * ks[0] + hi * ks[1] + j * ks[2]; }
        int vRow(int bi, int hi, int j) { return vo + bi * vs[0] + hi * vs[1] + j * vs[2]; }
    }

    private static void checkOut(String op, Tensor t, String what, int[] want, DType dt) {
        if (t.dtype() != dt) throw new DTypeException(op + ": " + what + " must be " + dt + ", got " + t.describe());
        if (!Arrays.equals(t.shape(), want)) throw new ShapeException(op + ": " + what + " has shape " + Shapes.str(t.shape()) + ", expected " + Shapes.str(want));
    }

    // ---- forward --------------------------------------------------------------------------

    static AttentionResult forward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        String op = "attention";
        Geometry g = new Geometry(op, q, k, v);
        AttentionMask m = AttentionMask.of(op, mask, q.dtype(), g.scoreShape());
        Tensor out = Tensor.empty(q.dtype(), g.b, g.h, g.sq, g.dv);
        Tensor lse = Tensor.empty(q.dtype(), g.b, g.h, g.sq);
        if (q.dtype() == DType.F32) {
            Tensor vd = g.dv <= 1 || g.vs[3] == 1 ? v : Cpu.dense(v);
            try {
                forwardF32(g, Cpu.f32(q), Cpu.f32(k), Cpu.f32(vd), vd == v ? g.vs : vd.strides(), vd == v ? g.vo : vd.offset(),
                        m, causal, (float) scale, Cpu.f32(out), Cpu.f32(lse));
            } finally {
                Cpu.release(vd, v);
            }
        } else {
            forwardF64(g, Cpu.f64(q), Cpu.f64(k), Cpu.f64(v), m, causal, scale, Cpu.f64(out), Cpu.f64(lse));
        }
        return new AttentionResult(out, lse);
    }

    /** Copies the keys (or values) of head (bi, hi) into t[d * sk + j], any source strides. */
    private static void transpose(float[] src, int base, int rowStride, int colStride, int sk, int dim, float[] t) {
        for (int j = 0; j < sk; j++) {
            int o = base + j * rowStride;
            for (int d = 0; d < dim; d++) t[d * sk + j] = src[o + d * colStride];
        }
    }

    private static void gather(float[] src, int base, int stride, int n, float[] dst, int dstOff) {
        for (int d = 0; d < n; d++) dst[dstOff + d] = src[base + d * stride];
    }

    private static void forwardF32(Geometry g, float[] qa, float[] ka, float[] va, int[] vs, int vo, AttentionMask m,
                                   boolean causal, float scale, float[] out, float[] lse) {
        int blocks = (g.sq + Q_BLOCK - 1) / Q_BLOCK;
        int tasks = g.b * g.h * blocks;
        Parallel.forRange(tasks, 1, (t0, t1) -> {
            float[] kt = new float[g.d * g.sk], s = new float[g.sk], qr = new float[g.d];
            int lastHead = -1;
            for (int t = t0; t < t1; t++) {
                int head = t / blocks, blk = t % blocks, bi = head / g.h, hi = head % g.h;
                if (head != lastHead) {
                    transpose(ka, g.kRow(bi, hi, 0), g.ks[2], g.ks[3], g.sk, g.d, kt);
                    lastHead = head;
                }
                int vBase = vo + bi * vs[0] + hi * vs[1];
                for (int i = blk * Q_BLOCK, iEnd = Math.min(g.sq, i + Q_BLOCK); i < iEnd; i++) {
                    int row = head * g.sq + i, oo = row * g.dv;
                    int n = g.keys(causal, i);
                    gather(qa, g.qRow(bi, hi, i), g.qs[3], g.d, qr, 0);
                    AttentionKernelsF32.scores(qr, 0, kt, g.sk, n, g.d, scale, s);
                    if (m != null) m.apply(s, n, bi, hi, i);
                    float mx = AttentionKernelsF32.max(s, n);
                    if (mx == Float.NEGATIVE_INFINITY) {
                        Arrays.fill(out, oo, oo + g.dv, 0f);
                        lse[row] = Float.POSITIVE_INFINITY;
                        continue;
                    }
                    float sum = AttentionKernelsF32.expShift(s, n, mx);
                    AttentionKernelsF32.weightedRows(s, 0, n, va, vBase, vs[2], g.dv, 1f / sum, out, oo, false);
                    lse[row] = mx + (float) Math.log(sum);
                }
            }
        });
    }

    private static void forwardF64(Geometry g, double[] qa, double[] ka, double[] va, AttentionMask m, boolean causal,
                                   double scale, double[] out, double[] lse) {
        Parallel.forRange(g.b * g.h, 1, (t0, t1) -> {
            double[] s = new double[g.sk];
            for (int head = t0; head < t1; head++) {
                int bi = head / g.h, hi = head % g.h;
                for (int i = 0; i < g.sq; i++) {
                    int row = head * g.sq + i, oo = row * g.dv;
                    int n = g.keys(causal, i);
                    scoresF64(g, qa, ka, bi, hi, i, n, scale, s);
                    if (m != null) m.apply(s, n, bi, hi, i);
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) mx = Math.max(mx, s[j]);
                    if (mx == Double.NEGATIVE_INFINITY) {
                        Arrays.fill(out, oo, oo + g.dv, 0.0);
                        lse[row] = Double.POSITIVE_INFINITY;
                        continue;
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        s[j] = Math.exp(s[j] - mx);
                        sum += s[j];
                    }
                    for (int e = 0; e < g.dv; e++) {
                        double acc = 0;
                        for (int j = 0; j < n; j++) acc += s[j] * va[g.vRow(bi, hi, j) + e * g.vs[3]];
                        out[oo + e] = acc / sum;
                    }
                    lse[row] = mx + Math.log(sum);
                }
            }
        });
    }

    private static void scoresF64(Geometry g, double[] qa, double[] ka, int bi, int hi, int i, int n, double scale, double[] s) {
        int qb = g.qRow(bi, hi, i);
        for (int j = 0; j < n; j++) {
            int kb = g.kRow(bi, hi, j);
            double acc = 0;
            for (int e = 0; e < g.d; e++) acc += qa[qb + e * g.qs[3]] * ka[kb + e * g.ks[3]];
            s[j] = acc * scale;
        }
    }

    // ---- backward -------------------------------------------------------------------------

    static Tensor[] backward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor mask, boolean causal, double scale) {
        String op = "attention_backward";
        Geometry g = new Geometry(op, q, k, v);
        int[] outShape = {g.b, g.h, g.sq, g.dv};
        checkOut(op, gOut, "the output gradient", outShape, q.dtype());
        checkOut(op, out, "the output", outShape, q.dtype());
        checkOut(op, lse, "lse", new int[]{g.b, g.h, g.sq}, q.dtype());
        AttentionMask m = AttentionMask.of(op, mask, q.dtype(), g.scoreShape());
        Tensor gq = Tensor.empty(q.dtype(), g.b, g.h, g.sq, g.d);
        Tensor gk = Tensor.empty(q.dtype(), g.b, g.h, g.sk, g.d);
        Tensor gv = Tensor.empty(q.dtype(), g.b, g.h, g.sk, g.dv);
        Tensor god = Cpu.dense(gOut), od = Cpu.dense(out), ld = Cpu.dense(lse);
        try {
            if (q.dtype() == DType.F32) {
                Tensor kd = g.d <= 1 || g.ks[3] == 1 ? k : Cpu.dense(k);
                try {
                    backwardF32(g, Cpu.f32(q), Cpu.f32(k), Cpu.f32(kd), kd == k ? g.ks : kd.strides(), kd == k ? g.ko : kd.offset(),
                            Cpu.f32(v), Cpu.f32(god), god.offset(), Cpu.f32(od), od.offset(), Cpu.f32(ld), ld.offset(), m, causal,
                            (float) scale, Cpu.f32(gq), Cpu.f32(gk), Cpu.f32(gv));
                } finally {
                    Cpu.release(kd, k);
                }
            } else {
                backwardF64(g, Cpu.f64(q), Cpu.f64(k), Cpu.f64(v), Cpu.f64(god), god.offset(), Cpu.f64(od), od.offset(),
                        Cpu.f64(ld), ld.offset(), m, causal, scale, Cpu.f64(gq), Cpu.f64(gk), Cpu.f64(gv));
            }
        } finally {
            Cpu.release(god, gOut);
            Cpu.release(od, out);
            Cpu.release(ld, lse);
        }
        return new Tensor[]{gq, gk, gv};
    }

    /** Query rows per backward block: gk and gv take one register-blocked update per key and block. */
    private static final int BWD_BLOCK = 16;

    private static void backwardF32(Geometry g, float[] qa, float[] ka, float[] kRows, int[] krs, int kro, float[] va,
                                     float[] go, int goo, float[] oa, int oo, float[] la, int lo, AttentionMask m,
                                     boolean causal, float scale, float[] gq, float[] gk, float[] gv) {
        int qb = BWD_BLOCK;
        Parallel.forRange(g.b * g.h, 1, (t0, t1) -> {
            float[] kt = new float[g.d * g.sk], vt = new float[g.dv * g.sk];
            float[] p = new float[g.sk], ds = new float[g.sk];
            // the block's rows of q and gO, and its P and dS transposed ([key][row]) for the key-side sums
            float[] qBlk = new float[qb * g.d], gBlk = new float[qb * g.dv];
            float[] pT = new float[g.sk * qb], dsT = new float[g.sk * qb];
            for (int head = t0; head < t1; head++) {
                int bi = head / g.h, hi = head % g.h;
                transpose(ka, g.kRow(bi, hi, 0), g.ks[2], g.ks[3], g.sk, g.d, kt);
                transpose(va, g.vRow(bi, hi, 0), g.vs[2], g.vs[3], g.sk, g.dv, vt);
                int gkBase = head * g.sk * g.d, gvBase = head * g.sk * g.dv;
                Arrays.fill(gk, gkBase, gkBase + g.sk * g.d, 0f);
                Arrays.fill(gv, gvBase, gvBase + g.sk * g.dv, 0f);
                int kBase = kro + bi * krs[0] + hi * krs[1];
                for (int i0 = 0; i0 < g.sq; i0 += qb) {
                    int rowsInBlk = Math.min(qb, g.sq - i0);
                    Arrays.fill(pT, 0f);
                    Arrays.fill(dsT, 0f);
                    int keys = 0;
                    for (int r = 0; r < rowsInBlk; r++) {
                        int i = i0 + r;
                        int row = head * g.sq + i, gqo = row * g.d;
                        float l = la[lo + row];
                        int n = g.keys(causal, i);
                        if (l == Float.POSITIVE_INFINITY || n == 0) {
                            Arrays.fill(gq, gqo, gqo + g.d, 0f);
                            Arrays.fill(qBlk, r * g.d, (r + 1) * g.d, 0f);
                            Arrays.fill(gBlk, r * g.dv, (r + 1) * g.dv, 0f);
                            continue;
                        }
                        keys = Math.max(keys, n);
                        gather(qa, g.qRow(bi, hi, i), g.qs[3], g.d, qBlk, r * g.d);
                        System.arraycopy(go, goo + row * g.dv, gBlk, r * g.dv, g.dv);
                        float delta = AttentionKernelsF32.dot(gBlk, r * g.dv, 1, oa, oo + row * g.dv, 1, g.dv);
                        AttentionKernelsF32.scores(qBlk, r * g.d, kt, g.sk, n, g.d, scale, p);
                        if (m != null) m.apply(p, n, bi, hi, i);
                        AttentionKernelsF32.expShift(p, n, l);
                        AttentionKernelsF32.scores(gBlk, r * g.dv, vt, g.sk, n, g.dv, 1f, ds);
                        for (int j = 0; j < n; j++) {
                            float dsj = p[j] * (ds[j] - delta);
                            ds[j] = dsj;
                            pT[j * qb + r] = p[j];
                            dsT[j * qb + r] = dsj;
                        }
                        AttentionKernelsF32.weightedRows(ds, 0, n, kRows, kBase, krs[2], g.d, scale, gq, gqo, false);
                    }
                    for (int j = 0; j < keys; j++) {
                        AttentionKernelsF32.weightedRows(pT, j * qb, rowsInBlk, gBlk, 0, g.dv, g.dv, 1f, gv, gvBase + j * g.dv, true);
                        AttentionKernelsF32.weightedRows(dsT, j * qb, rowsInBlk, qBlk, 0, g.d, g.d, scale, gk, gkBase + j * g.d, true);
                    }
                }
            }
        });
    }

    private static void backwardF64(Geometry g, double[] qa, double[] ka, double[] va, double[] go, int goo, double[] oa, int oo,
                                    double[] la, int lo, AttentionMask m, boolean causal, double scale,
                                    double[] gq, double[] gk, double[] gv) {
        Parallel.forRange(g.b * g.h, 1, (t0, t1) -> {
            double[] p = new double[g.sk];
            for (int head = t0; head < t1; head++) {
                int bi = head / g.h, hi = head % g.h;
                int gkBase = head * g.sk * g.d, gvBase = head * g.sk * g.dv;
                Arrays.fill(gk, gkBase, gkBase + g.sk * g.d, 0.0);
                Arrays.fill(gv, gvBase, gvBase + g.sk * g.dv, 0.0);
                for (int i = 0; i < g.sq; i++) {
                    int row = head * g.sq + i, gqo = row * g.d, gro = goo + row * g.dv;
                    double l = la[lo + row];
                    int n = g.keys(causal, i);
                    Arrays.fill(gq, gqo, gqo + g.d, 0.0);
                    if (l == Double.POSITIVE_INFINITY || n == 0) continue;
                    double delta = 0;
                    for (int e = 0; e < g.dv; e++) delta += go[gro + e] * oa[oo + row * g.dv + e];
                    scoresF64(g, qa, ka, bi, hi, i, n, scale, p);
                    if (m != null) m.apply(p, n, bi, hi, i);
                    int qb = g.qRow(bi, hi, i);
                    for (int j = 0; j < n; j++) {
                        double pj = Math.exp(p[j] - l);
                        if (pj == 0) continue;
                        int vb = g.vRow(bi, hi, j), kb = g.kRow(bi, hi, j);
                        double dp = 0;
                        for (int e = 0; e < g.dv; e++) {
                            dp += go[gro + e] * va[vb + e * g.vs[3]];
                            gv[gvBase + j * g.dv + e] += pj * go[gro + e];
                        }
                        double dsj = pj * (dp - delta) * scale;
                        for (int e = 0; e < g.d; e++) {
                            gq[gqo + e] += dsj * ka[kb + e * g.ks[3]];
                            gk[gkBase + j * g.d + e] += dsj * qa[qb + e * g.qs[3]];
                        }
                    }
                }
            }
        });
    }
}
