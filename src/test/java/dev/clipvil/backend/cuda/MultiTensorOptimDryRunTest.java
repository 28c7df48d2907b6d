package dev.clipvil.backend.cuda;

import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.SGD;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Multi-tensor optimizer updates on the dry-run device: the dense parameters of a group go 48 to a
 * launch of adamw_multi / sgd_multi, a strided one takes the single-tensor kernel, a captured step keeps
 * the per-parameter *_dev kernels; and the TensorList struct's layout.
 */
class MultiTensorOptimDryRunTest {
    private static CudaContext ctx;

    @BeforeAll
    static void install() {
        ctx = CudaContext.get(DryRunDevice.install().index());
    }

    private static int launches(String name) {
        int n = 0;
        for (var e : DryRun.launches().entrySet()) if (e.getKey().endsWith("/" + name)) n += e.getValue();
        return n;
    }

    /** 50 dense parameters of assorted sizes (one of 70,000 elements: two chunks) and one strided view. */
    private static Map<String, Tensor> params() {
        Map<String, Tensor> ps = new LinkedHashMap<>();
        for (int i = 0; i < 50; i++) {
            Tensor p = Tensor.empty(ctx.device(), DType.F32, i == 7 ? 70_000 : 3 + i);
            p.requiresGrad(true);
            p.setGrad(Tensor.empty(ctx.device(), DType.F32, p.shape()));
            ps.put("p" + i, p);
        }
        Tensor base = Tensor.empty(ctx.device(), DType.F32, 8, 6);
        Tensor strided = base.asStrided(new int[]{6, 4}, new int[]{1, 8}, 0).requiresGrad(true);
        strided.setGrad(Tensor.empty(ctx.device(), DType.F32, 6, 4));
        ps.put("strided", strided);
        return ps;
    }

    @Test
    void aGroupTakesOneLaunchPer48DenseParameters() {
        try (MemoryScope s = MemoryScope.open()) {
            Map<String, Tensor> ps = params();
            AdamW adamw = new AdamW(ps, 1e-3);
            int multi = launches("adamw_multi"), single = launches("adamw_step");
            adamw.step();
            assertEquals(2, launches("adamw_multi") - multi, "50 dense parameters: 48 + 2");
            assertEquals(1, launches("adamw_step") - single, "the strided parameter");

            SGD sgd = new SGD(ps, 0.1, 0.9, 0, 0, false);
            int smulti = launches("sgd_multi"), ssingle = launches("sgd_step");
            sgd.step();
            assertEquals(2, launches("sgd_multi") - smulti);
            assertEquals(1, launches("sgd_step") - ssingle);
            SGD plain = new SGD(ps, 0.1);
            plain.step();
            assertEquals(4, launches("sgd_multi") - smulti, "no momentum buffers: the same launches");
            for (Tensor p : ps.values()) p.close();
        }
    }

    @Test
    void aCapturedStepKeepsThePerParameterDeviceScalarKernels() {
        try (MemoryScope s = MemoryScope.open()) {
            Map<String, Tensor> ps = params();
            AdamW adamw = new AdamW(ps, 1e-3);
            adamw.step(); // states exist before the capture
            int multi = launches("adamw_multi");
            try (CudaGraph g = CudaGraph.capture(ctx, adamw::step)) {
                g.replay();
                assertEquals(multi, launches("adamw_multi"), "no multi-tensor launch inside a graph");
            }
            for (Tensor p : ps.values()) p.close();
        }
    }

    @Test
    void theStructLayoutMatchesTheKernelSource() {
        assertEquals(2704, TensorList.BYTES);
        TensorList l = new TensorList(1 << 16);
        l.add(0x1000, 0x2000, 0x3000, 0x4000, 70_000, 0.5, 0.25);
        l.add(0x5000, 0, 0, 0x6000, 3, 1, 0);
        assertEquals(3, l.blocks(), "70,000 elements in two chunks, then one");
        ByteBuffer b = ByteBuffer.allocate(TensorList.BYTES + 8).order(ByteOrder.LITTLE_ENDIAN);
        l.writeTo(b, 8);
        assertEquals(0x1000, b.getLong(8));                    // p[0]
        assertEquals(0x5000, b.getLong(8 + 8));                // p[1]
        assertEquals(0x2000, b.getLong(8 + 8 * 48));           // a[0]
        assertEquals(0x6000, b.getLong(8 + 3 * 8 * 48 + 8));   // g[1]
        assertEquals(0.5, b.getDouble(8 + 4 * 8 * 48));        // s0[0]
        assertEquals(0.25, b.getDouble(8 + 5 * 8 * 48));       // s1[0]
        int ints = 8 + 6 * 8 * 48;
        assertEquals(70_000, b.getInt(ints));                  // numel[0]
        assertEquals(2, b.getInt(ints + 4 * 48 + 4));          // blockStart[1]
        assertEquals(3, b.getInt(ints + 4 * 48 + 8));          // blockStart[2]
        assertEquals(2, b.getInt(ints + 4 * 48 + 4 * 49));     // count
        assertEquals(1 << 16, b.getInt(ints + 4 * 48 + 4 * 49 + 4)); // chunk
        for (int i = 0; i < 46; i++) l.add(1, 1, 1, 1, 1, 0, 0);
        assertThrows(IllegalStateException.class, () -> l.add(1, 1, 1, 1, 1, 0, 0));
        assertEquals('t', KernelSignature.kind("const __grid_constant__ TensorList tl", "adamw_multi"));
    }
}
