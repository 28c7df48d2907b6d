package dev.clipvil.backend.cuda;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.nn.Dropout;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Losses;
import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.Optimizer;
import dev.clipvil.optim.ParamGroup;
import dev.clipvil.optim.SGD;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.clipvil.backend.cuda.GpuParity.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A small MLP trained for a few steps eagerly and through a captured CUDA graph, with the learning
 * rate changing every step: the parameters and losses agree, and replays take no device memory. With
 * dropout, every replay draws the eager step's masks, bit for bit.
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaGraphGpuTest {
    private static Map<String, Tensor> params() {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("w1", param(1, 64, 32));
        p.put("b1", param(2, 64));
        p.put("w2", param(3, 10, 64));
        p.put("b2", param(4, 10));
        return p;
    }

    private static Tensor param(long seed, int... shape) {
        try (Tensor c = Tensor.empty(DType.F32, shape)) {
            cpu().fillNormal(c, 0, 0.1, seed);
            return MemoryScope.detach(Creation.to(c, GPU)).requiresGrad(true);
        }
    }

    private static Tensor input(long seed, int... shape) {
        try (Tensor c = Tensor.empty(DType.F32, shape)) {
            cpu().fillNormal(c, 0, 1, seed);
            return MemoryScope.detach(Creation.to(c, GPU));
        }
    }

    private static void step(Map<String, Tensor> p, Optimizer opt, Tensor x, Tensor y, Tensor lossOut) {
        opt.zeroGrad();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor h = Elementwise.relu(Linear.linear(x, p.get("w1"), p.get("b1")));
            Tensor loss = Losses.crossEntropy(Linear.linear(h, p.get("w2"), p.get("b2")), y);
            Autograd.backward(loss);
            gpu().copy(loss, lossOut);
        }
        opt.step();
    }

    private static void trainBothWays(boolean sgd) {
        Tensor x = input(5, 16, 32);
        Tensor y;
        long[] labels = new long[16];
        for (int i = 0; i < 16; i++) labels[i] = i % 10;
        try (Tensor yc = Tensor.ofLongs(labels, 16)) {
            y = MemoryScope.detach(Creation.to(yc, GPU));
        }
        Map<String, Tensor> pe = params(), pg = params();
        Optimizer oe = sgd ? new SGD(List.of(new ParamGroup("all", pe, 0.05, 1e-4)), 0.9, 0, true) : new AdamW(pe, 1e-2);
        Optimizer og = sgd ? new SGD(List.of(new ParamGroup("all", pg, 0.05, 1e-4)), 0.9, 0, true) : new AdamW(pg, 1e-2);
        Tensor le = MemoryScope.detach(gpu().empty(DType.F32)), lg = MemoryScope.detach(gpu().empty(DType.F32));
        try (CudaGraphStep graph = new CudaGraphStep(GPU, 2, og::step)) {
            long raw = -1;
            for (int k = 1; k <= 8; k++) {
                double lr = (sgd ? 0.05 : 1e-2) / k;
                oe.groups().get(0).setLr(lr);
                og.groups().get(0).setLr(lr);
                step(pe, oe, x, y, le);
                CudaGraphStep.Mode m = graph.run("mlp", () -> step(pg, og, x, y, lg));
                assertEquals(k <= 2 ? CudaGraphStep.Mode.EAGER : k == 3 ? CudaGraphStep.Mode.CAPTURED : CudaGraphStep.Mode.REPLAYED, m);
                assertEquals(le.item(), lg.item(), 1e-5 * Math.max(1, Math.abs(le.item())), "loss of step " + k);
                if (k == 4) raw = CudaContext.get(0).memory().rawAllocations();
            }
            assertEquals(raw, CudaContext.get(0).memory().rawAllocations(), "replays took no device memory");
            assertSameParameters(pe, pg);
        } finally {
            oe.zeroGrad();
            og.zeroGrad();
            oe.close();
            og.close();
            close(x, y, le, lg);
            for (Tensor t : pe.values()) t.close();
            for (Tensor t : pg.values()) t.close();
        }
    }

    /** {@link #step} with dropout on the hidden layer and the logits; {@code maskOut} gets the hidden dropout of {@code ones} (its next mask, exactly). */
    private static void dropoutStep(Map<String, Tensor> p, Optimizer opt, Dropout dh, Dropout dz, Tensor x, Tensor y, Tensor ones,
                                    Tensor lossOut, Tensor maskOut) {
        opt.zeroGrad();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor h = dh.forward(Elementwise.relu(Linear.linear(x, p.get("w1"), p.get("b1"))));
            Tensor loss = Losses.crossEntropy(dz.forward(Linear.linear(h, p.get("w2"), p.get("b2"))), y);
            Autograd.backward(loss);
            gpu().copy(loss, lossOut);
            gpu().copy(dh.forward(ones), maskOut);
        }
        opt.step();
    }

    /** Every parameter of the eager run equals the graph run's within 1e-5 (norm-relative). */
    private static void assertSameParameters(Map<String, Tensor> eager, Map<String, Tensor> graph) {
        for (String n : eager.keySet()) {
            float[] fa = host(eager.get(n)), fb = host(graph.get(n));
            double num = 0, den = 0;
            for (int i = 0; i < fa.length; i++) {
                num += (fa[i] - fb[i]) * (double) (fa[i] - fb[i]);
                den += fa[i] * (double) fa[i];
            }
            assertTrue(Math.sqrt(num / Math.max(den, 1e-30)) <= 1e-5, n + ": eager and graph parameters differ by " + Math.sqrt(num / den));
        }
    }

    private static float[] host(Tensor t) {
        try (Tensor c = Creation.to(t, dev.clipvil.tensor.Device.CPU)) {
            return c.toFloatArray();
        }
    }

    @Test
    void dropoutThroughAGraphDrawsTheEagerMasksEveryReplay() {
        Tensor x = input(5, 16, 32), ones = MemoryScope.detach(gpu().empty(DType.F32, 16, 64));
        gpu().fill(ones, 1);
        Tensor y;
        long[] labels = new long[16];
        for (int i = 0; i < 16; i++) labels[i] = i % 10;
        try (Tensor yc = Tensor.ofLongs(labels, 16)) {
            y = MemoryScope.detach(Creation.to(yc, GPU));
        }
        Map<String, Tensor> pe = params(), pg = params();
        Init ie = new Init(11), ig = new Init(11);
        Dropout dhe = new Dropout(0.3, ie), dze = new Dropout(0.2, ie), dhg = new Dropout(0.3, ig), dzg = new Dropout(0.2, ig);
        Optimizer oe = new AdamW(pe, 1e-2), og = new AdamW(pg, 1e-2);
        Tensor le = MemoryScope.detach(gpu().empty(DType.F32)), lg = MemoryScope.detach(gpu().empty(DType.F32));
        Tensor me = MemoryScope.detach(gpu().empty(DType.F32, 16, 64)), mg = MemoryScope.detach(gpu().empty(DType.F32, 16, 64));
        try (CudaGraphStep graph = new CudaGraphStep(GPU, 2, og::step)) {
            float[] previous = null;
            for (int k = 1; k <= 8; k++) {
                dropoutStep(pe, oe, dhe, dze, x, y, ones, le, me);
                CudaGraphStep.Mode m = graph.run("mlp", () -> dropoutStep(pg, og, dhg, dzg, x, y, ones, lg, mg));
                assertEquals(k <= 2 ? CudaGraphStep.Mode.EAGER : k == 3 ? CudaGraphStep.Mode.CAPTURED : CudaGraphStep.Mode.REPLAYED, m);
                float[] mask = host(mg);
                assertArrayEquals(host(me), mask, "the mask of step " + k + " is the eager step's, bit for bit");
                if (previous != null) assertTrue(!java.util.Arrays.equals(previous, mask), "step " + k + " draws a new mask");
                previous = mask;
                assertEquals(le.item(), lg.item(), 1e-5 * Math.max(1, Math.abs(le.item())), "loss of step " + k);
            }
            assertEquals(dhe.calls(), dhg.calls());
            assertEquals(dze.calls(), dzg.calls());
            assertSameParameters(pe, pg);
        } finally {
            oe.zeroGrad();
            og.zeroGrad();
            oe.close();
            og.close();
            close(x, y, ones, le, lg, me, mg);
            for (Tensor t : pe.values()) t.close();
            for (Tensor t : pg.values()) t.close();
        }
    }

    /** Visual-token sampling's pattern: a seed drawn through HostSeeds, a random subset drawn on the device from it. */
    @Test
    void randomSubsetsThroughAGraphAreTheEagerOnesEveryReplay() {
        long[] calls = {0};
        java.util.function.LongSupplier next = () -> 0x9E3779B97F4A7C15L * ++calls[0] + 17;
        Tensor out = MemoryScope.detach(gpu().empty(DType.I32, 10));
        try (CudaGraphStep graph = new CudaGraphStep(GPU, 2, () -> {})) {
            for (int k = 1; k <= 6; k++) {
                CudaGraphStep.Mode m = graph.run("subset", () -> {
                    long seed = dev.clipvil.backend.HostSeeds.draw(next);
                    try (Tensor idx = gpu().randomSubset(49, 10, seed)) {
                        gpu().copy(idx, out);
                    }
                });
                assertEquals(k <= 2 ? CudaGraphStep.Mode.EAGER : k == 3 ? CudaGraphStep.Mode.CAPTURED : CudaGraphStep.Mode.REPLAYED, m);
                assertEquals(k, calls[0], "one seed drawn per step, replays included");
                int[] want = dev.clipvil.backend.cpu.CpuRandom.subsetIndices(49, 10, 0x9E3779B97F4A7C15L * k + 17);
                float[] got = host(out);
                for (int i = 0; i < 10; i++) assertEquals(want[i], (int) got[i], "step " + k + ", index " + i);
            }
        } finally {
            out.close();
        }
    }

    @Test
    void adamwStepThroughAGraphMatchesTheEagerStep() { trainBothWays(false); }

    @Test
    void sgdStepThroughAGraphMatchesTheEagerStep() { trainBothWays(true); }
}
