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
        assertEquals(25 + 5 + 2 + 20 + 1 + 9 + 8, ks.size());
        for (Kernel k : ks) {
            Set<String> names = KernelSymbolsTest.entryPoints(k.family());
            assertTrue(names.contains(k.name()), k + " is not an extern \"C\" __global__ entry of kernels/" + k.family() + ".cu");
        }
    }

    /**
     * The Java mirror of attention.cu's TB_SMEM_BYTES: at D = 32 and 64 it gives what ptxas reports
     * for the static tiles of clipvil_attn_bwd_bf16tc_d32/_d64 (19 712 and 33 536 bytes), so the
     * formula is the kernel's; the dynamic sizes of d80/d96/d128 follow from it, and each kernel
     * opts in to exactly what its launches take (above 48 KB only d128 needs the opt-in).
     */
    @Test
    void tensorCoreBackwardSharedMemory() {
        assertEquals(19712, CudaAttention.tcBackwardTileBytes(32, false));
        assertEquals(33536, CudaAttention.tcBackwardTileBytes(64, false));
        int[] want = {0, 0, 40448, 47360, 96000};
        for (int i = 0; i < CudaAttention.HEAD_DIMS.length; i++) {
            int d = CudaAttention.HEAD_DIMS[i];
            assertEquals(want[i], CudaAttention.tcBackwardSharedBytes(d), "d" + d);
            Kernel k = CudaAttention.BWD_BF16_TC[i];
            assertEquals("clipvil_attn_bwd_bf16tc_d" + d, k.name());
            assertEquals(Math.max(Kernel.DEFAULT_DYNAMIC_SHARED, want[i]), k.maxDynamicShared(), k.toString());
            Kernel mixed = CudaAttention.BWD_MIXED_TC[i];  // same tiles, F32 gk/gv stores
            assertEquals("clipvil_attn_bwd_bf16tcf32_d" + d, mixed.name());
            assertEquals(k.maxDynamicShared(), mixed.maxDynamicShared(), mixed.toString());
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
