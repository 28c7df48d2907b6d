package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.ShapeException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Collapsing of iteration spaces: the element each operand reaches must not change. */
class GeometryTest {
    /** Element offset of operand k at linear index i, as kernels/common.cuh computes it. */
    private static int offset(Geometry g, int k, int i) {
        int off = 0;
        int[] d = g.dims(), s = g.strides(k);
        for (int j = d.length - 1; j >= 0; j--) {
            off += (i % d[j]) * s[j];
            i /= d[j];
        }
        return off;
    }

    /** The same from the uncollapsed shape. */
    private static int naive(int[] shape, int[] st, int i) {
        int off = 0;
        for (int j = shape.length - 1; j >= 0; j--) {
            off += (i % shape[j]) * st[j];
            i /= shape[j];
        }
        return off;
    }

    private static void same(int[] shape, int[]... st) {
        Geometry g = Geometry.of(shape, st);
        int n = 1;
        for (int s : shape) n *= s;
        assertEquals(n, g.numel());
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < st.length; k++) assertEquals(naive(shape, st[k], i), offset(g, k, i), "operand " + k + " element " + i);
        }
    }

    @Test
    void contiguousOperandsMergeToOneDim() {
        Geometry g = Geometry.of(new int[]{2, 3, 4}, new int[]{12, 4, 1}, new int[]{12, 4, 1});
        assertArrayEquals(new int[]{24}, g.dims());
        assertArrayEquals(new int[]{1}, g.strides(1));
    }

    @Test
    void broadcastAndTransposedViewsKeepTheirOffsets() {
        same(new int[]{2, 3, 4}, new int[]{12, 4, 1}, new int[]{0, 0, 1}, new int[]{1, 2, 6});
        same(new int[]{5, 1, 7}, new int[]{7, 7, 1}, new int[]{1, 0, 5});
        same(new int[]{3, 5}, new int[]{5, 1}, new int[]{0, 0});
        same(new int[]{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, new int[]{512, 256, 128, 64, 32, 16, 8, 4, 2, 1}, new int[]{0, 0, 0, 0, 0, 16, 8, 4, 2, 1}); // rank 10 merges to 2
    }

    @Test
    void reductionsPickTheColumnKernelWhenOutputsAreContiguous() {
        // sum over the rows of [300, 77]: outputs walk stride 1
        assertEquals(true, CudaReduce.columnWise(Geometry.of(new int[]{77}, new int[]{1}, new int[]{1}), Geometry.of(new int[]{300}, new int[]{77})));
        // sum over the last dim: outputs walk stride 300
        assertEquals(false, CudaReduce.columnWise(Geometry.of(new int[]{77}, new int[]{300}, new int[]{1}), Geometry.of(new int[]{300}, new int[]{1})));
        // a full reduction: one output
        assertEquals(false, CudaReduce.columnWise(Geometry.of(new int[0], new int[0], new int[0]), Geometry.of(new int[]{300}, new int[]{1})));
    }

    @Test
    void sizeOneDimsAreDropped() {
        Geometry g = Geometry.of(new int[]{1, 6, 1}, new int[]{99, 2, 77});
        assertArrayEquals(new int[]{6}, g.dims());
        assertArrayEquals(new int[]{2}, g.strides(0));
    }

    @Test
    void scalarsAndEmptyShapes() {
        Geometry s = Geometry.of(new int[0], new int[0]);
        assertEquals(1, s.numel());
        assertArrayEquals(new int[]{1}, s.dims());
        Geometry e = Geometry.of(new int[]{3, 0}, new int[]{0, 1});
        assertEquals(0, e.numel());
    }

    @Test
    void tooManyDimsAfterMergingIsAShapeError() {
        int[] shape = {2, 2, 2, 2, 2, 2, 2, 2, 2};
        int[] st = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536}; // every other element: nothing merges
        ShapeException e = assertThrows(ShapeException.class, () -> Geometry.of(shape, st));
        assertEquals(true, e.getMessage().contains("at most 8"), e.getMessage());
    }
}
