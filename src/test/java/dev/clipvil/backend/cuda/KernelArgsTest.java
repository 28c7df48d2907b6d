package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The binary layout of packed kernel arguments (what cuLaunchKernel's parameter table points at). */
class KernelArgsTest {
    @Test
    void slotsAreEightByteAlignedLittleEndianValues() {
        KernelArgs a = KernelArgs.begin().ptr(0x1122334455667788L).i32(-3).f32(1.5f).f64(2.25).i64(-7L).i32(9);
        assertEquals(6, a.count());
        int[] want = {0, 8, 16, 24, 32, 40};
        for (int i = 0; i < want.length; i++) assertEquals(want[i], a.offset(i), "slot " + i);
        assertEquals(0x1122334455667788L, a.values.getLong(0));
        assertEquals((byte) 0x88, a.values.get(0), "little-endian");
        assertEquals(-3, a.values.getInt(8));
        assertEquals(1.5f, a.values.getFloat(16));
        assertEquals(2.25, a.values.getDouble(24));
        assertEquals(-7L, a.values.getLong(32));
        assertEquals(9, a.values.getInt(40));
    }

    /**
     * The struct sizes the Java side packs are the ones the kernel sources assert (nvcc checks those
     * static_asserts when it builds the fatbins, so a struct edited on one side only fails the build or this test).
     */
    @Test
    void structSizesAreTheOnesTheKernelSourcesAssert() throws Exception {
        java.nio.file.Path dir = KernelSymbolsTest.kernelsDir();
        assertEquals(Geometry.BYTES, assertedSize(java.nio.file.Files.readString(dir.resolve("common.cuh")), "Geom"));
        assertEquals(TensorList.BYTES, assertedSize(java.nio.file.Files.readString(dir.resolve("optim.cu")), "TensorList"));
    }

    private static int assertedSize(String source, String struct) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("static_assert\\(sizeof\\(" + struct + "\\) == (\\d+)").matcher(source);
        org.junit.jupiter.api.Assertions.assertTrue(m.find(), "no static_assert(sizeof(" + struct + ") == N) in the kernel source");
        return Integer.parseInt(m.group(1));
    }

    @Test
    void beginRewindsTheThreadsBuffer() {
        KernelArgs a = KernelArgs.begin().i32(1).i32(2);
        KernelArgs b = KernelArgs.begin();
        assertSame(a, b);
        assertEquals(0, b.count());
        b.i32(5);
        assertEquals(0, b.offset(0));
    }

    @Test
    void geomStructMatchesCommonCuh() {
        Geometry g = Geometry.of(new int[]{2, 3, 4}, new int[]{1, 2, 6}, new int[]{12, 4, 1});
        KernelArgs a = KernelArgs.begin().i32(7).geom(g).i32(8);
        assertEquals(Geometry.BYTES, 168);
        int at = a.offset(1);
        assertEquals(8, at);
        assertEquals(3, a.values.getInt(at), "rank");
        assertEquals(24, a.values.getInt(at + 4), "numel");
        int[] dims = {2, 3, 4, 1, 1, 1, 1, 1};
        for (int i = 0; i < 8; i++) assertEquals(dims[i], a.values.getInt(at + 8 + 4 * i), "dims[" + i + "]");
        int[][] st = {{1, 2, 6}, {12, 4, 1}, {}, {}};
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < 8; i++) {
                int want = i < st[k].length ? st[k][i] : 0;
                assertEquals(want, a.values.getInt(at + 40 + 4 * (8 * k + i)), "st[" + k + "][" + i + "]");
            }
        }
        assertEquals(at + 168, a.offset(2), "the next slot follows the struct (8-aligned)");
    }

    @Test
    void intsArePackedAsAnArrayMember() {
        KernelArgs a = KernelArgs.begin().ints(new int[]{4, 5, 6});
        assertEquals(4, a.values.getInt(0));
        assertEquals(6, a.values.getInt(8));
    }

    @Test
    void overflowIsAnError() {
        KernelArgs a = KernelArgs.begin();
        assertThrows(IllegalStateException.class, () -> {
            for (int i = 0; i < 100; i++) a.i32(i);
        });
        KernelArgs b = KernelArgs.begin();
        Geometry g = Geometry.of(new int[]{2}, new int[]{1});
        assertThrows(IllegalStateException.class, () -> {
            for (int i = 0; i < 30; i++) b.geom(g);
        });
    }
}
