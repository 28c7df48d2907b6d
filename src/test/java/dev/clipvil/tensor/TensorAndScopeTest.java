package dev.clipvil.tensor;

import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Views;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorAndScopeTest {

    @Test
    void viewsShareStorageAndCopyNothing() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.of(new float[]{0, 1, 2, 3, 4, 5}, 2, 3);
            Tensor t = Views.transpose(x, 0, 1);
            assertSame(x.storage(), t.storage());
            assertFalse(t.isContiguous());
            assertArrayEquals(new float[]{0, 3, 1, 4, 2, 5}, t.toFloatArray());
            Tensor n = Views.narrow(x, 1, 1, 2);
            assertArrayEquals(new float[]{1, 2, 4, 5}, n.toFloatArray());
            Tensor e = Views.expand(Views.unsqueeze(Tensor.of(new float[]{7, 8}, 2), 0), 3, 2);
            assertArrayEquals(new int[]{0, 1}, e.strides());
            assertArrayEquals(new float[]{7, 8, 7, 8, 7, 8}, e.toFloatArray());
            Tensor r = Views.reshape(t, 6);             // not viewable: copies
            assertArrayEquals(new float[]{0, 3, 1, 4, 2, 5}, r.toFloatArray());
            Tensor v = Views.view(x, 3, -1);
            assertSame(x.storage(), v.storage());
            assertArrayEquals(new int[]{3, 2}, v.shape());
            Tensor p = Views.permute(Tensor.of(new float[24], 2, 3, 4), 2, 0, 1);
            assertArrayEquals(new int[]{4, 2, 3}, p.shape());
            assertArrayEquals(new int[]{1, 12, 4}, p.strides());
            assertEquals(1, Views.squeeze(Views.unsqueeze(x, 1), 1).stride(1));
        }
    }

    @Test
    void shapeErrorsNameTheOpAndShapes() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor a = Tensor.of(new float[6], 2, 3), b = Tensor.of(new float[8], 2, 4);
            ShapeException e = assertThrows(ShapeException.class, () -> Elementwise.add(a, b));
            assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[2, 4]"), e.getMessage());
            assertThrows(ShapeException.class, () -> Views.view(a, 4, 2));
            assertThrows(ShapeException.class, () -> Views.narrow(a, 1, 2, 2));
            assertThrows(ShapeException.class, () -> Tensor.of(new float[5], 2, 3));
            Tensor i = Tensor.ofInts(new int[]{1, 2}, 2);
            DTypeException d = assertThrows(DTypeException.class, () -> Elementwise.exp(i));
            assertTrue(d.getMessage().contains("exp"), d.getMessage());
            assertThrows(DTypeException.class, () -> Elementwise.add(a, Tensor.of(new double[6], 2, 3)));
        }
    }

    @Test
    void scopesFreeWhatTheyMadeAndKeepWhatIsKept() {
        HostMemory mem = HostMemory.get();
        long before = mem.inUseBytes();
        Tensor kept;
        try (MemoryScope outer = MemoryScope.open()) {
            try (MemoryScope inner = MemoryScope.open()) {
                Tensor a = Creation.ones(1000);
                Tensor b = Elementwise.mul(a, 3.0);
                kept = MemoryScope.keep(Elementwise.add(b, 1.0));
                assertTrue(mem.inUseBytes() >= before + 3 * 4000);
            }
            assertFalse(kept.isClosed());
            assertEquals(4.0, kept.get(999));
            assertEquals(before + 4000, mem.inUseBytes());
        }
        assertTrue(kept.isClosed());
        assertEquals(before, mem.inUseBytes());
        assertThrows(IllegalStateException.class, kept::storage);
    }

    @Test
    void storageLivesWhileAnyViewDoes() {
        long before = HostMemory.get().inUseBytes();
        Tensor base = Creation.ones(100);
        Tensor view = Views.narrow(base, 0, 10, 5);
        base.close();
        assertEquals(before + 400, HostMemory.get().inUseBytes());
        assertEquals(1.0, view.get(0));
        view.close();
        assertEquals(before, HostMemory.get().inUseBytes());
    }

    @Test
    void castsRoundTrip() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.of(new float[]{1.5f, -2.25f, 3.140625f, 256f}, 4);
            for (DType d : new DType[]{DType.BF16, DType.F16, DType.F64}) {
                Tensor y = Elementwise.cast(Elementwise.cast(x, d), DType.F32);
                assertArrayEquals(x.toFloatArray(), y.toFloatArray(), 0f, d.name());
            }
            Tensor i = Elementwise.cast(x, DType.I64);
            assertArrayEquals(new long[]{1, -2, 3, 256}, i.toLongArray());
            Tensor b = Elementwise.cast(Tensor.of(new float[]{0, 2}, 2), DType.BOOL);
            assertArrayEquals(new long[]{0, 1}, b.toLongArray());
        }
    }
}
