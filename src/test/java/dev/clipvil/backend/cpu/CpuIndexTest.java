package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Backend;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** index_select, index_add and cat against naive loops over logical indices. */
class CpuIndexTest {
    private final Backend be = CpuBackend.get();

    /** Logical element of t at a flat row-major position. */
    private static double at(Tensor t, int flat) {
        int[] s = t.shape(), idx = new int[s.length];
        for (int d = s.length - 1; d >= 0; d--) { idx[d] = flat % s[d]; flat /= s[d]; }
        return t.get(idx);
    }

    private static int[] unflat(int flat, int[] s) {
        int[] idx = new int[s.length];
        for (int d = s.length - 1; d >= 0; d--) { idx[d] = flat % s[d]; flat /= s[d]; }
        return idx;
    }

    /** out[..., j, ...] = x[..., idx[j], ...] along d. */
    private static double[] naiveSelect(Tensor x, int d, int[] idx) {
        int[] os = x.shape();
        os[d] = idx.length;
        double[] out = new double[Shapes.numel(os)];
        for (int i = 0; i < out.length; i++) {
            int[] p = unflat(i, os);
            p[d] = idx[p[d]];
            out[i] = x.get(p);
        }
        return out;
    }

    private static int[] randomIndices(long seed, int n, int size) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = r.nextInt(size);
        return a;
    }

    private static long[] toLongs(int[] a) {
        long[] l = new long[a.length];
        for (int i = 0; i < a.length; i++) l[i] = a[i];
        return l;
    }

    @Test
    void indexSelectMatchesNaiveOnEveryDimWithDuplicatesAndStridedInput() {
        Tensor base = Creation.randn(1, DType.F32, 5, 3, 7);
        Tensor x = base.asStrided(new int[]{7, 3, 5}, new int[]{1, 7, 21}, 0); // permuted: not contiguous
        for (int d = 0; d < 3; d++) {
            int[] idx = {2, 0, 2, x.shape(d) - 1, 1, 2};
            Tensor i32 = Tensor.ofInts(idx, idx.length), i64 = Tensor.ofLongs(toLongs(idx), idx.length);
            double[] want = naiveSelect(x, d, idx);
            for (Tensor ix : new Tensor[]{i32, i64}) {
                Tensor out = be.indexSelect(x, d - 3, ix);
                int[] os = x.shape();
                os[d] = idx.length;
                assertArrayEquals(os, out.shape());
                assertArrayEquals(want, out.toDoubleArray(), 0.0);
                out.close();
            }
        }
    }

    @Test
    void indexSelectCopiesAnyDtypeExactly() {
        int[] idx = {1, 1, 0};
        Tensor ix = Tensor.ofInts(idx, 3);
        Tensor longs = Tensor.ofLongs(new long[]{1L << 60, 5, -7, 9, (1L << 53) + 1, 11}, 2, 3);
        assertArrayEquals(new long[]{9, (1L << 53) + 1, 11, 9, (1L << 53) + 1, 11, 1L << 60, 5, -7},
                be.indexSelect(longs, 0, ix).toLongArray());
        Tensor bools = Tensor.ofBools(new boolean[]{true, false, false, true}, 2, 2);
        assertArrayEquals(new long[]{0, 0, 1, 1, 1, 0}, be.indexSelect(bools, 1, Tensor.ofInts(new int[]{1, 1, 0}, 3)).toLongArray());
        Tensor bf = be.cast(Tensor.of(new float[]{1.5f, -2f, 3.25f, 4f}, 4), DType.BF16);
        Tensor sel = be.indexSelect(bf, 0, Tensor.ofInts(new int[]{3, 0, 2}, 3));
        assertEquals(DType.BF16, sel.dtype());
        assertArrayEquals(new double[]{4, 1.5, 3.25}, sel.toDoubleArray(), 0.0);
        Tensor f64 = Tensor.of(new double[]{1, 2, 3, 4, 5, 6}, 3, 2);
        assertArrayEquals(new double[]{5, 6, 5, 6}, be.indexSelect(f64, 0, Tensor.ofLongs(new long[]{2, 2}, 2)).toDoubleArray(), 0.0);
        Tensor empty = be.indexSelect(f64, 0, Tensor.ofInts(new int[0], 0));
        assertArrayEquals(new int[]{0, 2}, empty.shape());
    }

    @Test
    void largeIndexSelectUsesThreadsAndStaysCorrect() {
        Tensor x = Creation.randn(2, DType.F32, 300, 96);
        int[] idx = randomIndices(3, 700, 300);
        Tensor out = be.indexSelect(x, 0, Tensor.ofInts(idx, idx.length));
        float[] xs = x.hostStorage().f32(), os = out.hostStorage().f32();
        for (int j = 0; j < idx.length; j++) for (int c = 0; c < 96; c++) assertEquals(xs[idx[j] * 96 + c], os[j * 96 + c]);
    }

    /** zeros(shape) with src[..., j, ...] added at [..., idx[j], ...]. */
    private static double[] naiveAdd(int[] shape, int d, int[] idx, Tensor src) {
        double[] out = new double[Shapes.numel(shape)];
        int[] ss = src.shape();
        int[] cs = Shapes.contiguousStrides(shape);
        for (int i = 0; i < src.numel(); i++) {
            int[] p = unflat(i, ss);
            double v = src.get(p);
            p[d] = idx[p[d]];
            int o = 0;
            for (int k = 0; k < p.length; k++) o += p[k] * cs[k];
            out[o] += v;
        }
        return out;
    }

    @Test
    void indexAddAccumulatesDuplicatesOnEveryDim() {
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            int[] shape = {4, 3, 5};
            for (int d = 0; d < 3; d++) {
                int[] idx = randomIndices(10 + d, 9, shape[d]);
                idx[0] = idx[1] = idx[2]; // guaranteed duplicates
                int[] ss = shape.clone();
                ss[d] = idx.length;
                Tensor src = Creation.randn(20 + d, dt, ss[2], ss[1], ss[0]);
                Tensor srcT = src.asStrided(ss, new int[]{1, ss[0], ss[0] * ss[1]}, 0); // transposed view
                Tensor out = be.indexAdd(shape, d, Tensor.ofLongs(toLongs(idx), idx.length), srcT);
                assertEquals(dt, out.dtype());
                assertArrayEquals(shape, out.shape());
                assertArrayEquals(naiveAdd(shape, d, idx, srcT), out.toDoubleArray(), dt == DType.F32 ? 1e-5 : 1e-12);
            }
        }
    }

    @Test
    void indexAddIsThreadSafeOnLargeInputs() {
        // Embedding-like (split over columns) and last-dim (split over outer blocks) layouts, many repeats.
        int[] idx = randomIndices(30, 400, 7);
        Tensor src = Creation.randn(31, DType.F64, 400, 128);
        Tensor out = be.indexAdd(new int[]{7, 128}, 0, Tensor.ofInts(idx, idx.length), src);
        assertArrayEquals(naiveAdd(new int[]{7, 128}, 0, idx, src), out.toDoubleArray(), 1e-9);

        int[] idx2 = randomIndices(32, 12, 3);
        Tensor src2 = Creation.randn(33, DType.F32, 3000, 12);
        Tensor out2 = be.indexAdd(new int[]{3000, 3}, 1, Tensor.ofInts(idx2, idx2.length), src2);
        assertArrayEquals(naiveAdd(new int[]{3000, 3}, 1, idx2, src2), out2.toDoubleArray(), 1e-4);
    }

    @Test
    void catMatchesNaiveForStridedPiecesOnEveryDim() {
        Tensor a = Creation.randn(40, DType.F32, 2, 3, 4);
        Tensor bBase = Creation.randn(41, DType.F32, 4, 3, 2);
        Tensor b = bBase.asStrided(new int[]{2, 3, 4}, new int[]{1, 2, 6}, 0); // transposed
        Tensor cBase = Creation.randn(42, DType.F32, 2, 3, 9);
        Tensor c = cBase.asStrided(new int[]{2, 3, 4}, new int[]{27, 9, 2}, 1); // every other column
        for (int d = 0; d < 3; d++) {
            Tensor out = be.cat(new Tensor[]{a, b, c}, d);
            int[] os = a.shape();
            os[d] = a.shape(d) * 3;
            assertArrayEquals(os, out.shape());
            Tensor[] parts = {a, b, c};
            for (int i = 0; i < out.numel(); i++) {
                int[] p = unflat(i, os);
                int part = p[d] / a.shape(d);
                p[d] %= a.shape(d);
                assertEquals(parts[part].get(p), at(out, i), 0.0);
            }
        }
    }

    @Test
    void catHandlesUnevenAndEmptyPiecesAndOtherDtypes() {
        Tensor a = Tensor.ofLongs(new long[]{1, 2, 3, 4}, 2, 2);
        Tensor b = Tensor.ofLongs(new long[]{5, (1L << 62)}, 2, 1);
        Tensor e = Tensor.empty(DType.I64, 2, 0);
        Tensor out = be.cat(new Tensor[]{a, e, b}, -1);
        assertArrayEquals(new int[]{2, 3}, out.shape());
        assertArrayEquals(new long[]{1, 2, 5, 3, 4, 1L << 62}, out.toLongArray());
        Tensor h = be.cast(Tensor.of(new float[]{1, 2, 3}, 3), DType.F16);
        Tensor hh = be.cat(new Tensor[]{h, h}, 0);
        assertEquals(DType.F16, hh.dtype());
        assertArrayEquals(new double[]{1, 2, 3, 1, 2, 3}, hh.toDoubleArray(), 0.0);
        Tensor big = be.cat(new Tensor[]{Creation.randn(5, DType.F64, 500, 40), Creation.randn(6, DType.F64, 500, 24)}, 1);
        assertArrayEquals(new int[]{500, 64}, big.shape());
    }

    @Test
    void errorsNameTheOpTheValueAndTheShapes() {
        Tensor x = Creation.randn(50, DType.F32, 5, 3);
        ShapeException e = assertThrows(ShapeException.class, () -> be.indexSelect(x, 0, Tensor.ofInts(new int[]{1, 5}, 2)));
        assertTrue(e.getMessage().contains("index_select") && e.getMessage().contains("index 5") && e.getMessage().contains("size 5"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> be.indexSelect(x, 1, Tensor.ofLongs(new long[]{-1}, 1)));
        assertTrue(e.getMessage().contains("index -1") && e.getMessage().contains("size 3"), e.getMessage());
        assertThrows(DTypeException.class, () -> be.indexSelect(x, 0, Tensor.of(new float[]{0}, 1)));
        assertThrows(ShapeException.class, () -> be.indexSelect(x, 0, Tensor.ofInts(new int[]{0, 1}, 1, 2)));
        assertThrows(ShapeException.class, () -> be.indexSelect(x, 2, Tensor.ofInts(new int[]{0}, 1)));

        e = assertThrows(ShapeException.class, () -> be.indexAdd(new int[]{4, 3}, 0, Tensor.ofInts(new int[]{4}, 1), Creation.randn(1, DType.F32, 1, 3)));
        assertTrue(e.getMessage().contains("index_add") && e.getMessage().contains("index 4") && e.getMessage().contains("size 4"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> be.indexAdd(new int[]{4, 3}, 0, Tensor.ofInts(new int[]{0, 1}, 2), Creation.randn(1, DType.F32, 2, 4)));
        assertTrue(e.getMessage().contains("[2, 4]") && e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(DTypeException.class, () -> be.indexAdd(new int[]{2}, 0, Tensor.ofInts(new int[]{0}, 1), Tensor.ofInts(new int[]{1}, 1)));

        Tensor a = Creation.randn(1, DType.F32, 2, 3), b = Creation.randn(2, DType.F32, 3, 4);
        e = assertThrows(ShapeException.class, () -> be.cat(new Tensor[]{a, b}, 1));
        assertTrue(e.getMessage().contains("cat") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[3, 4]")
                && e.getMessage().contains("dimension 1"), e.getMessage());
        assertThrows(ShapeException.class, () -> be.cat(new Tensor[]{a, Creation.randn(3, DType.F32, 2, 3, 1)}, 0));
        assertThrows(DTypeException.class, () -> be.cat(new Tensor[]{a, Creation.randn(3, DType.F64, 2, 3)}, 0));
        assertThrows(ShapeException.class, () -> be.cat(new Tensor[0], 0));
    }
}
