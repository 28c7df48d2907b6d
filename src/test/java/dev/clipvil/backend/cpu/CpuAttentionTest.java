package dev.clipvil.backend.cpu;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.clipvil.backend.cpu.CpuSoftmaxTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** CPU fused attention forward and backward against a naive materialised-score reference. */
class CpuAttentionTest {
    private static final CpuBackend BE = CpuBackend.get();

    /** Naive attention of one call, everything in double. */
    private static final class Reference {
        final int b, h, sq, sk, d, dv;
        final double[] q, k, v, out, lse, p; // p: [B, H, Sq, Sk] probabilities (0 where hidden)

        Reference(Tensor qt, Tensor kt, Tensor vt, Tensor mask, boolean causal, double scale) {
            int[] qs = qt.shape(), ks = kt.shape(), vs = vt.shape();
            b = qs[0]; h = qs[1]; sq = qs[2]; d = qs[3]; sk = ks[2]; dv = vs[3];
            q = qt.toDoubleArray(); k = kt.toDoubleArray(); v = vt.toDoubleArray();
            out = new double[b * h * sq * dv];
            lse = new double[b * h * sq];
            p = new double[b * h * sq * sk];
            for (int bi = 0; bi < b; bi++) for (int hi = 0; hi < h; hi++) for (int i = 0; i < sq; i++) {
                int row = (bi * h + hi) * sq + i;
                double[] s = new double[sk];
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < sk; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += q[row * d + e] * k[((bi * h + hi) * sk + j) * d + e];
                    s[j] = dot * scale + maskValue(mask, bi, hi, i, j);
                    if (causal && j > i) s[j] = Double.NEGATIVE_INFINITY;
                    mx = Math.max(mx, s[j]);
                }
                if (mx == Double.NEGATIVE_INFINITY) {
                    lse[row] = Double.POSITIVE_INFINITY;
                    continue;
                }
                double sum = 0;
                for (int j = 0; j < sk; j++) sum += Math.exp(s[j] - mx);
                lse[row] = mx + Math.log(sum);
                for (int j = 0; j < sk; j++) {
                    double pj = Math.exp(s[j] - mx) / sum;
                    p[row * sk + j] = pj;
                    for (int e = 0; e < dv; e++) out[row * dv + e] += pj * v[((bi * h + hi) * sk + j) * dv + e];
                }
            }
        }

        /** {gq, gk, gv} from the chain rule through the materialised probabilities. */
        double[][] backward(double[] go, double scale) {
            double[] gq = new double[q.length], gk = new double[k.length], gv = new double[v.length];
            for (int head = 0; head < b * h; head++) for (int i = 0; i < sq; i++) {
                int row = head * sq + i;
                double delta = 0;
                for (int e = 0; e < dv; e++) delta += go[row * dv + e] * out[row * dv + e];
                for (int j = 0; j < sk; j++) {
                    double pj = p[row * sk + j];
                    int kr = head * sk + j;
                    double dp = 0;
                    for (int e = 0; e < dv; e++) {
                        dp += go[row * dv + e] * v[kr * dv + e];
                        gv[kr * dv + e] += pj * go[row * dv + e];
                    }
                    double ds = pj * (dp - delta);
                    for (int e = 0; e < d; e++) {
                        gq[row * d + e] += scale * ds * k[kr * d + e];
                        gk[kr * d + e] += scale * ds * q[row * d + e];
                    }
                }
            }
            return new double[][]{gq, gk, gv};
        }
    }

    /** The mask's value at (b, h, i, j) with broadcasting: additive value, or 0 / -inf for BOOL. */
    static double maskValue(Tensor mask, int b, int h, int i, int j) {
        if (mask == null) return 0;
        int[] full = {b, h, i, j};
        int r = mask.dim();
        int[] idx = new int[r];
        for (int a = 0; a < r; a++) idx[a] = mask.shape(a) == 1 ? 0 : full[4 - r + a];
        double m = mask.get(idx);
        if (mask.dtype() == DType.BOOL) return m != 0 ? 0 : Double.NEGATIVE_INFINITY;
        return m;
    }

    private static void check(String what, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        double tol = q.dtype() == DType.F32 ? 3e-5 : 1e-11;
        Reference ref = new Reference(q, k, v, mask, causal, scale);
        AttentionResult r = BE.attention(q, k, v, mask, causal, scale);
        assertArrayEquals(new int[]{ref.b, ref.h, ref.sq, ref.dv}, r.out().shape(), what);
        assertArrayEquals(new int[]{ref.b, ref.h, ref.sq}, r.lse().shape(), what);
        assertClose(what + " out", ref.out, r.out().toDoubleArray(), tol, tol);
        double[] lse = r.lse().toDoubleArray();
        for (int i = 0; i < lse.length; i++) {
            if (ref.lse[i] == Double.POSITIVE_INFINITY) assertEquals(Double.POSITIVE_INFINITY, lse[i], what + " lse of a hidden row");
            else assertEquals(ref.lse[i], lse[i], tol * (1 + Math.abs(ref.lse[i])), what + " lse " + i);
        }
        Tensor go = Creation.randn(99, q.dtype(), r.out().shape());
        double[][] want = ref.backward(go.toDoubleArray(), scale);
        Tensor[] g = BE.attentionBackward(go, q, k, v, r.out(), r.lse(), mask, causal, scale);
        assertClose(what + " gq", want[0], g[0].toDoubleArray(), tol, tol);
        assertClose(what + " gk", want[1], g[1].toDoubleArray(), tol, tol);
        assertClose(what + " gv", want[2], g[2].toDoubleArray(), tol, tol);
    }

    private static final DType[] DTYPES = {DType.F32, DType.F64};

    @Test
    void plainAndCausal() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : DTYPES) {
                Tensor q = Creation.randn(1, dt, 2, 3, 5, 8), k = Creation.randn(2, dt, 2, 3, 7, 8), v = Creation.randn(3, dt, 2, 3, 7, 8);
                check("plain " + dt, q, k, v, null, false, 1 / Math.sqrt(8));
                check("causal Sq<Sk " + dt, q, k, v, null, true, 0.5);
                Tensor q2 = Creation.randn(4, dt, 1, 2, 70, 13), k2 = Creation.randn(5, dt, 1, 2, 41, 13), v2 = Creation.randn(6, dt, 1, 2, 41, 16);
                check("odd sizes, Dv != D " + dt, q2, k2, v2, null, false, 0.3);
                check("causal Sq>Sk " + dt, q2, k2, v2, null, true, 0.3);
                Tensor q3 = Creation.randn(7, dt, 1, 2, 4, 9), k3 = Creation.randn(8, dt, 1, 2, 3, 9), v3 = Creation.randn(9, dt, 1, 2, 3, 9);
                check("fewer keys than features " + dt, q3, k3, v3, null, true, 0.3);
            }
        }
    }

    @Test
    void boolAndAdditiveMasksBroadcast() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : DTYPES) {
                int b = 2, h = 3, sq = 4, sk = 9, d = 5;
                Tensor q = Creation.randn(7, dt, b, h, sq, d), k = Creation.randn(8, dt, b, h, sk, d), v = Creation.randn(9, dt, b, h, sk, d);
                boolean[] bm = new boolean[sq * sk];
                for (int i = 0; i < sq; i++) for (int j = 0; j < sk; j++) bm[i * sk + j] = (i * 7 + j * 3) % 4 != 0 && i != 2;
                Tensor rowsMask = Tensor.ofBools(bm, sq, sk); // row 2 fully hidden
                check("bool [Sq,Sk] " + dt, q, k, v, rowsMask, false, 0.4);
                check("bool [Sq,Sk] + causal " + dt, q, k, v, rowsMask, true, 0.4);
                boolean[] pad = new boolean[b * sk];
                for (int j = 0; j < sk; j++) {
                    pad[j] = j < 6;
                    pad[sk + j] = j < 3;
                }
                check("key padding [B,1,1,Sk] " + dt, q, k, v, Tensor.ofBools(pad, b, 1, 1, sk), false, 0.4);
                Tensor add = Creation.randn(10, dt, 1, h, sq, sk);
                for (int j = 0; j < sk; j++) add.hostStorage().setDouble((1 * sq + 3) * sk + j, Double.NEGATIVE_INFINITY); // head 1, row 3 hidden
                check("additive [1,H,Sq,Sk] " + dt, q, k, v, add, false, 0.4);
                check("additive [Sk] " + dt, q, k, v, Creation.randn(11, dt, sk), true, 0.4);
            }
        }
    }

    @Test
    void fullyMaskedRowsGiveZeros() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : DTYPES) {
                Tensor q = Creation.randn(1, dt, 1, 1, 3, 4), k = Creation.randn(2, dt, 1, 1, 5, 4), v = Creation.randn(3, dt, 1, 1, 5, 4);
                Tensor none = Tensor.ofBools(new boolean[]{false, true, false}, 3, 1);
                AttentionResult r = BE.attention(q, k, v, none, false, 1.0);
                double[] out = r.out().toDoubleArray();
                for (int e = 0; e < 4; e++) {
                    assertEquals(0.0, out[e], 0.0);
                    assertEquals(0.0, out[8 + e], 0.0);
                }
                assertEquals(Double.POSITIVE_INFINITY, r.lse().toDoubleArray()[0]);
                Tensor[] g = BE.attentionBackward(Creation.ones(dt, 1, 1, 3, 4), q, k, v, r.out(), r.lse(), none, false, 1.0);
                for (Tensor t : g) for (double x : t.toDoubleArray()) assertEquals(false, Double.isNaN(x), "no NaN in gradients");
                check("fully masked rows " + dt, q, k, v, none, false, 1.0);
                Tensor noKeys = Creation.randn(4, dt, 1, 1, 0, 4);
                AttentionResult e = BE.attention(q, noKeys, noKeys, null, false, 1.0);
                for (double x : e.out().toDoubleArray()) assertEquals(0.0, x, 0.0);
            }
        }
    }

    @Test
    void nonContiguousInputs() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : DTYPES) {
                int b = 2, h = 3, sq = 6, sk = 35, d = 9;
                // [B, S, H, D] storage permuted to [B, H, S, D], as heads are split in a transformer
                Tensor qs = Creation.randn(12, dt, b, sq, h, d), ks = Creation.randn(13, dt, b, sk, h, d);
                Tensor q = qs.asStrided(new int[]{b, h, sq, d}, new int[]{sq * h * d, d, h * d, 1}, 0);
                Tensor k = ks.asStrided(new int[]{b, h, sk, d}, new int[]{sk * h * d, d, h * d, 1}, 0);
                // values stored [B, H, D, Sk]: a feature stride that is not 1
                Tensor vs = Creation.randn(14, dt, b, h, d, sk);
                Tensor v = vs.asStrided(new int[]{b, h, sk, d}, new int[]{h * d * sk, d * sk, 1, sk}, 0);
                // keys with feature stride != 1 too
                Tensor k2s = Creation.randn(15, dt, b, h, d, sk);
                Tensor k2 = k2s.asStrided(new int[]{b, h, sk, d}, new int[]{h * d * sk, d * sk, 1, sk}, 0);
                check("permuted q/k, transposed v " + dt, q, k, v, null, true, 0.25);
                check("transposed k " + dt, q, k2, v, null, false, 0.25);
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor q = Creation.randn(1, DType.F32, 1, 2, 3, 4), k = Creation.randn(2, DType.F32, 1, 2, 5, 4);
            assertThrows(ShapeException.class, () -> BE.attention(q, Creation.randn(2, DType.F32, 1, 2, 5, 3), k, null, false, 1));
            assertThrows(ShapeException.class, () -> BE.attention(q, k, Creation.randn(2, DType.F32, 1, 2, 4, 4), null, false, 1));
            assertThrows(ShapeException.class, () -> BE.attention(q, k, k, Creation.randn(2, DType.F32, 4, 5), false, 1));
            assertThrows(dev.clipvil.tensor.DTypeException.class, () -> BE.attention(q, k, k, Creation.randn(2, DType.F64, 3, 5), false, 1));
            assertThrows(ShapeException.class, () -> BE.attention(Creation.randn(1, DType.F32, 2, 3, 4), k, k, null, false, 1));
        }
    }
}
