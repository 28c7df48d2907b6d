package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The deferred index checks on the dry-run device: a gather, scatter or hard-target loss queues a check
 * kernel (no host read, so it can be captured in a CUDA graph), and a recorded fault reads like the CPU
 * backend's error. The device side (kernels/index.cu writing the record) runs in CudaReduceParityTest.
 */
class IndexFaultsTest {
    private static CudaContext ctx() {
        Device d = DryRunDevice.install();
        return CudaContext.get(d.index());
    }

    @Test
    void callSitesAreRegisteredOnceAndDescribeTheFault() {
        IndexFaults f = ctx().indexFaults();
        int a = f.register("index_select", "for dimension 0 of size 5 in shape [5, 3]");
        int b = f.register("index_select", "for dimension 0 of size 5 in shape [5, 3]");
        int c = f.register("cross_entropy", "for 4 classes (logits [3, 4], ignore index -100)");
        assertEquals(a, b, "one id per call site, so a step run many times (or a graph) keeps its id");
        assertNotEquals(a, c);
        assertTrue(a >= 1 && c >= 1, "id 0 means no fault");
        ShapeException e = f.fault(((long) c << 32) | 1, 4);
        assertTrue(e.getMessage().startsWith("cross_entropy: index 4 (at position 1) is out of range for 4 classes (logits [3, 4], ignore index -100)"),
                e.getMessage());
        assertTrue(e.getMessage().contains("reported at the next synchronisation"), e.getMessage());
        ShapeException unknown = f.fault(((long) IndexFaults.MAX_SITES << 32) | 7, -1);
        assertTrue(unknown.getMessage().startsWith("an index check: index -1 (at position 7) is out of range"), unknown.getMessage());
    }

    @Test
    void gathersScattersAndLossesQueueACheckWithoutReadingTheHost() {
        CudaContext ctx = ctx();
        Backend gpu = Backends.of(ctx.device());
        try (Tensor table = gpu.empty(DType.F32, 7, 3); Tensor ids = gpu.empty(DType.I64, 4); Tensor logits = gpu.empty(DType.F32, 4, 7)) {
            int before = DryRunDevice.launches("index_check");
            CudaGraph g = CudaGraph.capture(ctx, () -> {
                gpu.indexSelect(table, 0, ids).close();
                try (Tensor src = gpu.empty(DType.F32, 4, 3)) {
                    gpu.indexAdd(new int[]{7, 3}, 0, ids, src).close();
                }
                gpu.crossEntropy(logits, ids, -100).close();
            });
            try (g) {
                assertEquals(0, DryRunDevice.launches("index_check") - before, "captured launches count at replay");
                g.replay();
                assertEquals(3, DryRunDevice.launches("index_check") - before, "one check per gather, scatter and loss");
            }
        }
    }
}
