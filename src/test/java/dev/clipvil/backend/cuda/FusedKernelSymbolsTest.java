package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-head-dim kernel tables of {@link CudaAttention} (arrays, which {@code KernelSymbolsTest}'s
 * scan of single constants does not see) name real entry points of kernels/attention.cu, one per
 * instantiated head dim; and the head-dim choice picks the smallest instantiation that fits.
 */
class FusedKernelSymbolsTest {
    @Test
    void everyTabledKernelExists() throws Exception {
        List<Kernel> ks = new ArrayList<>();
        for (Class<?> c : new Class<?>[]{CudaAttention.class, CudaLayerNorm.class, CudaConv.class, KernelSupport.class}) {
            for (Field f : c.getDeclaredFields()) {
                if (!Modifier.isStatic(f.getModifiers())) continue;
                f.setAccessible(true);
                if (f.getType() == Kernel[].class) {
                    for (Kernel k : (Kernel[]) f.get(null)) ks.add(k);
                } else if (f.getType() == Kernel.class) {
                    ks.add((Kernel) f.get(null));
                }
            }
        }
        assertEquals(25 + 2 + 2 + 9 + 8, ks.size());
        for (Kernel k : ks) {
            Set<String> names = KernelSymbolsTest.entryPoints(k.family());
            assertTrue(names.contains(k.name()), k + " is not an extern \"C\" __global__ entry of kernels/" + k.family() + ".cu");
        }
    }

    @Test
    void headDimSlots() {
        assertEquals(0, CudaAttention.headDimSlot(1));
        assertEquals(0, CudaAttention.headDimSlot(32));
        assertEquals(1, CudaAttention.headDimSlot(48));
        assertEquals(1, CudaAttention.headDimSlot(64));
        assertEquals(2, CudaAttention.headDimSlot(80));
        assertEquals(3, CudaAttention.headDimSlot(96));
        assertEquals(4, CudaAttention.headDimSlot(100));
        assertEquals(4, CudaAttention.headDimSlot(128));
        assertEquals(-1, CudaAttention.headDimSlot(129));
    }
}
