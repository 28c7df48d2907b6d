package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The CPU GEMM against a naive triple loop in double precision. */
class CpuGemmTest {
    private static final CpuBackend BE = CpuBackend.get();

    static Tensor rand(DType dt, long seed, int... shape) {
        Tensor t = Tensor.empty(dt, shape);
        BE.fillUniform(t, -1, 1, seed);
        return t;
    }

    /** Naive batched matmul with broadcast batch dims, from the operands' logical values. */
    static double[] naive(Tensor a, Tensor b, Tensor bias) {
        int[] as = a.shape(), bs = b.shape();
        int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        int[] batch = Shapes.broadcast("ref", Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        double[] x = a.toDoubleArray(), y = b.toDoubleArray(), bv = bias == null ? null : bias.toDoubleArray();
        int batches = Shapes.numel(batch);
        double[] out = new double[batches * m * n];
        for (int t = 0; t < batches; t++) {
            int ab = batchIndex(t, batch, Arrays.copyOf(as, as.length - 2)), bb = batchIndex(t, batch, Arrays.copyOf(bs, bs.length - 2));
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = bv == null ? 0 : bv[j];
                    for (int p = 0; p < k; p++) s += x[(ab * m + i) * k + p] * y[(bb * k + p) * n + j];
                    out[(t * m + i) * n + j] = s;
                }
            }
        }
        return out;
    }

    /** Flat batch index into an operand's own (broadcast) batch dims for output batch index t. */
    private static int batchIndex(int t, int[] batch, int[] own) {
        int idx = 0, mul = 1;
        for (int d = batch.length - 1; d >= 0; d--) {
            int i = t % batch[d];
            t /= batch[d];
            int j = d - (batch.length - own.length);
            if (j >= 0) {
                if (own[j] != 1) idx += i * mul;
                mul *= own[j];
            }
        }
        return idx;
    }

    static void check(String what, Tensor a, Tensor b, Tensor bias) {
        Tensor out = BE.matmul(a, b, bias);
        double[] ref = naive(a, b, bias);
        double[] got = out.toDoubleArray();
        int k = a.shape(-1);
        double tol = a.dtype() == DType.F32 ? 1e-5 + 4e-6 * k : 1e-12 * (1 + k);
        assertTrue(out.isContiguous(), what + ": output must be contiguous");
        if (got.length != ref.length) fail(what + ": size " + got.length + " vs " + ref.length);
        for (int i = 0; i < ref.length; i++) {
            if (Math.abs(got[i] - ref[i]) > tol * (1 + Math.abs(ref[i]))) {
                fail(what + ": element " + i + " of " + Shapes.str(out.shape()) + ": got " + got[i] + ", expected " + ref[i]);
            }
        }
        out.close();
    }

    static Tensor t(Tensor x) { // transposed view of the last two dims
        int[] s = x.shape(), st = x.strides();
        int r = s.length;
        int tmp = s[r - 1]; s[r - 1] = s[r - 2]; s[r - 2] = tmp;
        tmp = st[r - 1]; st[r - 1] = st[r - 2]; st[r - 2] = tmp;
        return x.asStrided(s, st, x.offset());
    }

    @Test
    void oddSizesF32AndF64() {
        int[][] sizes = {{1, 1, 1}, {7, 5, 3}, {33, 65, 17}, {129, 67, 250}, {6, 16, 8}, {12, 32, 1}};
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            for (int[] s : sizes) {
                int m = s[0], n = s[1], k = s[2];
                check(dt + " " + Arrays.toString(s), rand(dt, 1, m, k), rand(dt, 2, k, n), null);
                check(dt + " bias " + Arrays.toString(s), rand(dt, 1, m, k), rand(dt, 2, k, n), rand(dt, 3, n));
            }
        }
    }

    @Test
    void biggerThanBlocks() {
        // M > MC and K > KC (several A and reduction blocks), then N > NC (two B blocks)
        check("300x70x600", rand(DType.F32, 4, 300, 600), rand(DType.F32, 5, 600, 70), rand(DType.F32, 6, 70));
        int n = GemmF32.NC + 37;
        check("7x" + n + "x300", rand(DType.F32, 7, 7, 300), rand(DType.F32, 8, 300, n), rand(DType.F32, 9, n));
        check("transposed 200x150x520", t(rand(DType.F32, 10, 520, 200)), t(rand(DType.F32, 11, 150, 520)), null);
    }

    @Test
    void transposedAndNarrowedViews() {
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            Tensor a = rand(dt, 12, 37, 29), b = rand(dt, 13, 41, 29);
            check(dt + " a @ b^T", a, t(b), null);
            check(dt + " a^T @ a", t(a), a, null);
            check(dt + " b^T^T", t(t(b)), t(a), rand(dt, 14, 37));
            Tensor big = rand(dt, 15, 50, 60);
            Tensor na = big.asStrided(new int[]{20, 30}, new int[]{60, 1}, 3 * 60 + 5); // narrowed rows and columns
            Tensor nb = big.asStrided(new int[]{30, 17}, new int[]{60, 2}, 7);          // every other column
            check(dt + " narrowed", na, nb, null);
            Tensor strideBias = rand(dt, 16, 34).asStrided(new int[]{17}, new int[]{2}, 0);
            check(dt + " strided bias", na, nb, strideBias);
        }
    }

    @Test
    void batchedWithBroadcast() {
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            check(dt + " [2,1,5,7]x[3,7,4]", rand(dt, 17, 2, 1, 5, 7), rand(dt, 18, 3, 7, 4), rand(dt, 19, 4));
            check(dt + " [3,5,7]x[7,4] (folded)", rand(dt, 20, 3, 5, 7), rand(dt, 21, 7, 4), null);
            check(dt + " [5,7]x[3,7,4]", rand(dt, 22, 5, 7), rand(dt, 23, 3, 7, 4), null);
            check(dt + " [4,1,9,13]x[1,3,13,70]", rand(dt, 24, 4, 1, 9, 13), rand(dt, 25, 1, 3, 13, 70), null);
            // a batch whose dims do not fold into rows: [5,3,7] permuted to [3,5,7]
            Tensor p = rand(dt, 26, 5, 3, 7);
            Tensor perm = p.asStrided(new int[]{3, 5, 7}, new int[]{7, 21, 1}, 0);
            check(dt + " permuted batch x shared b", perm, rand(dt, 27, 7, 6), rand(dt, 28, 6));
            // transposed operands inside a batch, b broadcast by a stride-0 batch dim
            Tensor bb = rand(dt, 29, 8, 7);
            Tensor bexp = bb.asStrided(new int[]{3, 7, 8}, new int[]{0, 1, 7}, 0);
            check(dt + " expanded transposed b", t(rand(dt, 30, 3, 7, 5)), bexp, null);
            // many small batch entries (the batch-parallel path)
            check(dt + " [64,9,8]x[64,8,10]", rand(dt, 31, 64, 9, 8), rand(dt, 32, 64, 8, 10), null);
        }
    }

    @Test
    void emptyReduction() {
        Tensor a = Tensor.empty(DType.F32, 3, 0), b = Tensor.empty(DType.F32, 0, 4);
        Tensor bias = Tensor.of(new float[]{1, 2, 3, 4}, 4);
        Tensor out = BE.matmul(a, b, bias);
        assertArrayEquals(new double[]{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}, out.toDoubleArray());
        assertArrayEquals(new int[]{0, 5}, BE.matmul(Tensor.empty(DType.F32, 0, 2), Tensor.empty(DType.F32, 2, 5), null).shape());
    }

    @Test
    void shapeErrorsNameTheShapes() {
        Tensor a = rand(DType.F32, 1, 3, 4), b = rand(DType.F32, 2, 5, 6);
        ShapeException e = assertThrows(ShapeException.class, () -> BE.matmul(a, b, null));
        assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("[3, 4]") && e.getMessage().contains("[5, 6]"), e.getMessage());
        assertThrows(ShapeException.class, () -> BE.matmul(a, rand(DType.F32, 3, 4, 6), rand(DType.F32, 4, 5)));
    }
    @Test
    void singleRowBlockInColumnChunks() {
        // serial, M within one block, B packed chunk by chunk (several chunks, a ragged last one), two reduction blocks,
        // both biases, with and without accumulation
        int m = 50, n = 1000, k = 700;
        java.util.Random r = new java.util.Random(42);
        float[] a = new float[m * k], b = new float[k * n], cb = new float[n], rb = new float[m], c0 = new float[m * n];
        for (float[] x : new float[][]{a, b, cb, rb, c0}) for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
        for (boolean acc : new boolean[]{false, true}) {
            float[] c = c0.clone();
            GemmF32.gemm(m, n, k, new StridedPanels(a, 0, k, 1), new StridedPanels(b, 0, 1, n),
                    new GemmF32.Output(c, 0, n, acc, cb, 0, rb, 0), false);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double want = (acc ? c0[i * n + j] : 0) + cb[j] + rb[i];
                    for (int p = 0; p < k; p++) want += (double) a[i * k + p] * b[p * n + j];
                    if (Math.abs(c[i * n + j] - want) > 1e-3) fail("acc " + acc + " at " + i + "," + j + ": " + c[i * n + j] + " vs " + want);
                }
            }
        }
    }
}
