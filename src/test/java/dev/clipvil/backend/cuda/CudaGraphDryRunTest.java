package dev.clipvil.backend.cuda;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.HostSeeds;
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
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.clipvil.ops.Dropout.dropout;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CUDA graph capture and replay of a small training step on a dry-run context (no GPU): the capture
 * records the step's launches and each replay issues them again, memory stays put after the capture,
 * work that cannot be captured fails naming itself, the optimizer's learning rate and step count
 * reach every replay through the graph's device scalar slots, and so do the dropout seeds (the ones the
 * eager steps would have drawn).
 */
class CudaGraphDryRunTest {
    static CudaContext ctx;
    static Device dev;
    static Backend gpu;

    @BeforeAll
    static void install() {
        dev = DryRunDevice.install();
        ctx = CudaContext.get(dev.index());
        gpu = Backends.of(dev);
    }

    /** A two-layer MLP, its optimizer, static input/target buffers and a static loss output. */
    static final class Net implements AutoCloseable {
        final Map<String, Tensor> params = new LinkedHashMap<>();
        final Optimizer opt;
        final Tensor x, y, loss;

        /** Dropouts of the step ({@link #withDropout}): p 1 on the input (draws, zeroes, no mask), p 0.1 on the hidden layer, p 0.5 twice on the logits. */
        Dropout all, hidden, logits;

        Net(boolean sgd) {
            params.put("w1", param(16, 8));
            params.put("b1", param(16));
            params.put("w2", param(5, 16));
            params.put("b2", param(5));
            opt = sgd ? new SGD(List.of(new ParamGroup("all", params, 0.1, 0)), 0.9, 0, false) : new AdamW(params, 1e-3);
            x = MemoryScope.detach(gpu.empty(DType.F32, 6, 8));
            gpu.fill(x, 0.5);
            y = MemoryScope.detach(gpu.empty(DType.I64, 6));
            gpu.fill(y, 1);
            loss = MemoryScope.detach(gpu.empty(DType.F32));
        }

        private static Tensor param(int... shape) {
            Tensor t = MemoryScope.detach(gpu.empty(DType.F32, shape));
            gpu.fill(t, 0.01);
            return t.requiresGrad(true);
        }

        /** Adds the dropouts, their base seeds from {@code seed}. */
        Net withDropout(long seed) {
            Init init = new Init(seed);
            all = new Dropout(1.0, init);
            hidden = new Dropout(0.1, init);
            logits = new Dropout(0.5, init);
            return this;
        }

        /** zero grads; forward, loss into the static output, backward; optimizer update. */
        void step() {
            opt.zeroGrad();
            try (MemoryScope s = MemoryScope.open()) {
                Tensor in = all == null ? x : Elementwise.add(x, all.forward(x));
                Tensor h = Elementwise.relu(Linear.linear(in, params.get("w1"), params.get("b1")));
                if (hidden != null) h = hidden.forward(h);
                Tensor z = Linear.linear(h, params.get("w2"), params.get("b2"));
                if (logits != null) z = Elementwise.add(logits.forward(z), logits.forward(z));
                Tensor l = Losses.crossEntropy(z, y);
                Autograd.backward(l);
                gpu.copy(l, loss);
            }
            opt.step();
        }

        @Override
        public void close() {
            opt.zeroGrad();
            opt.close();
            for (Tensor t : params.values()) t.close();
            x.close();
            y.close();
            loss.close();
        }
    }

    private static Map<String, Integer> delta(Map<String, Integer> before, Map<String, Integer> after) {
        Map<String, Integer> d = new HashMap<>();
        for (var e : after.entrySet()) {
            int n = e.getValue() - before.getOrDefault(e.getKey(), 0);
            if (n != 0) d.put(e.getKey(), n);
        }
        return d;
    }

    private static int total(Map<String, Integer> m) { return m.values().stream().mapToInt(Integer::intValue).sum(); }

    @Test
    void replaysIssueTheCapturedLaunchesAndAllocateNothing() {
        try (Net net = new Net(false); CudaGraphStep step = new CudaGraphStep(dev, 2, net.opt::step)) {
            assertEquals(CudaGraphStep.Mode.EAGER, step.run("k", net::step));
            Map<String, Integer> b = DryRun.launches();
            long gemms = DryRun.gemms();
            assertEquals(CudaGraphStep.Mode.EAGER, step.run("k", net::step));
            Map<String, Integer> eager = delta(b, DryRun.launches());
            long eagerGemms = DryRun.gemms() - gemms;
            assertEquals(1, eager.get(CudaOptim.ADAMW_MULTI.toString()), "one multi-tensor AdamW launch for the 4 parameters");

            b = DryRun.launches();
            gemms = DryRun.gemms();
            assertEquals(CudaGraphStep.Mode.CAPTURED, step.run("k", net::step));
            Map<String, Integer> captured = delta(b, DryRun.launches());
            CudaGraph g = step.graph();
            assertEquals(4, g.scalarSlots());
            assertEquals(total(eager) - 1 + 4 + eagerGemms, g.recordedOps(),
                    "the capture records what an eager step issues, with 4 per-parameter device-scalar updates for the multi-tensor one");
            assertEquals(g.recordedOps(), g.nodeCount());
            assertEquals(total(eager) - 1 + 4, total(captured), "capturing ran nothing; its first replay issued one step");
            assertEquals(4, captured.get(CudaOptim.ADAMW_DEV.toString()), captured.toString());
            assertNull(captured.get(CudaOptim.ADAMW.toString()), "captured updates read their scalars from the device");
            assertEquals(eagerGemms, DryRun.gemms() - gemms);

            long raw = ctx.memory().rawAllocations(), inUse = gpu.memoryStats().inUseBytes();
            int n = 5;
            b = DryRun.launches();
            gemms = DryRun.gemms();
            for (int i = 0; i < n; i++) assertEquals(CudaGraphStep.Mode.REPLAYED, step.run("k", net::step));
            Map<String, Integer> replayed = delta(b, DryRun.launches());
            for (var e : captured.entrySet()) assertEquals(n * e.getValue(), replayed.get(e.getKey()), e.getKey());
            assertEquals(total(captured) * n, total(replayed));
            assertEquals(n * eagerGemms, DryRun.gemms() - gemms);
            assertEquals(raw, ctx.memory().rawAllocations(), "no device memory taken after the capture");
            assertEquals(inUse, gpu.memoryStats().inUseBytes(), "bytes in use flat over replays");
            assertEquals(n + 1, g.replays());
            assertEquals(2, step.eagerSteps());
            assertEquals(n, step.replayedSteps());

            // another shape runs eagerly, the graph stays
            b = DryRun.launches();
            assertEquals(CudaGraphStep.Mode.EAGER, step.run("short batch", net::step));
            assertEquals(1, delta(b, DryRun.launches()).get(CudaOptim.ADAMW_MULTI.toString()));
            assertEquals(CudaGraphStep.Mode.REPLAYED, step.run("k", net::step));
        }
    }

    @Test
    void learningRateAndStepCountReachEachReplay() {
        try (Net net = new Net(false); CudaGraphStep step = new CudaGraphStep(dev, 1, net.opt::step)) {
            step.run("k", net::step);                   // eager: step 1
            step.run("k", net::step);                   // captured + replayed: step 2 at lr 1e-3
            double[] s = step.graph().deviceScalarsSeen();
            assertEquals(8, s.length);
            for (int p = 0; p < 4; p++) {
                assertEquals(1e-3, s[2 * p]);
                assertEquals(2.0, s[2 * p + 1]);
            }
            for (int k = 3; k <= 6; k++) {
                double lr = 1e-3 / k;
                net.opt.groups().get(0).setLr(lr);     // what a scheduler does between steps
                step.run("k", net::step);
                s = step.graph().deviceScalarsSeen();
                for (int p = 0; p < 4; p++) {
                    assertEquals(lr, s[2 * p], "lr of the replayed step " + k);
                    assertEquals(k, s[2 * p + 1], "AdamW's step count of the replayed step " + k);
                }
            }
            assertEquals(5, step.graph().scalarUploads(), "one copy of the slots per replay");
            assertEquals(6L, net.opt.state().steps().get("w1"), "the host's step counts follow the replays (checkpoints stay right)");
        }
    }

    @Test
    void sgdFirstStepFlagAndLrComeFromTheSlots() {
        try (Net net = new Net(true); CudaGraphStep step = new CudaGraphStep(dev, 1, net.opt::step)) {
            Map<String, Integer> b = DryRun.launches();
            step.run("k", net::step);
            step.run("k", net::step);
            assertEquals(4, delta(b, DryRun.launches()).get(CudaOptim.SGD_DEV.toString()));
            net.opt.groups().get(0).setLr(0.05);
            step.run("k", net::step);
            double[] s = step.graph().deviceScalarsSeen();
            assertEquals(0.05, s[0]);
            assertEquals(0.0, s[1], "not the parameter's first step");
        }
    }

    @Test
    void hostWorkInsideTheCaptureFailsNamingIt() {
        try (Net net = new Net(false)) {
            net.step();
            long inUse = gpu.memoryStats().inUseBytes();
            CudaGraphException e = assertThrows(CudaGraphException.class, () -> CudaGraph.capture(ctx, () -> {
                net.step();
                net.loss.item();
            }));
            assertTrue(e.getMessage().contains("device->host copy") && e.getMessage().contains("cannot be captured"), e.getMessage());
            assertNull(ctx.capturing(), "the failed capture is over");

            e = assertThrows(CudaGraphException.class, () -> CudaGraph.capture(ctx, ctx::synchronize));
            assertTrue(e.getMessage().contains("host synchronisation"), e.getMessage());

            e = assertThrows(CudaGraphException.class, () -> CudaGraph.capture(ctx, () -> {
                try (MemoryScope s = MemoryScope.open()) {
                    Creation.to(Tensor.empty(DType.F32, 3), dev);
                }
            }));
            assertTrue(e.getMessage().contains("host->device copy"), e.getMessage());

            e = assertThrows(CudaGraphException.class, () -> CudaGraph.capture(ctx, () -> {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor x = gpu.empty(DType.F16, 2, 4);
                    gpu.layerNorm(x, null, null, 1e-5);    // F16 layer norm has no kernel: CPU fallback
                }
            }));
            assertTrue(e.getMessage().contains("CPU fallback of CudaLayerNorm"), e.getMessage());

            e = assertThrows(CudaGraphException.class, () -> CudaGraph.capture(ctx, () -> ctx.memory().emptyCache()));
            assertTrue(e.getMessage().contains("emptying the memory cache"), e.getMessage());

            // the device is usable again, and a good capture still works
            try (CudaGraph g = CudaGraph.capture(ctx, net::step)) {
                g.replay();
            }
            net.opt.zeroGrad();
            assertTrue(gpu.memoryStats().inUseBytes() <= inUse, "failed captures leave nothing behind");
        }
    }

    @Test
    void refreshRunsOnlyTheCapturedUpdates() {
        try (Net net = new Net(false)) {
            net.step();
            try (CudaGraph g = CudaGraph.capture(ctx, net::step)) {
                CudaGraphException e = assertThrows(CudaGraphException.class, () -> g.refresh(() -> gpu.fill(net.x, 0)));
                assertTrue(e.getMessage().contains("cast/cast_fill") && e.getMessage().contains("only the optimizer's updates"), e.getMessage());
                e = assertThrows(CudaGraphException.class, () -> g.refresh(() -> { }));
                assertTrue(e.getMessage().contains("made 0 optimizer updates but the captured step made 4"), e.getMessage());
                e = assertThrows(CudaGraphException.class, () -> g.refresh(() -> gpu.matmul(net.params.get("w2"), net.params.get("w1"), null)));
                assertTrue(e.getMessage().contains("cuBLAS GEMM"), e.getMessage());
                g.refresh(net.opt::step);
                g.replay();
                assertThrows(CudaGraphException.class, () -> CudaGraph.capture(ctx, () -> CudaGraph.capture(ctx, () -> { })));
            }
        }
    }

    /** The seeds {@code net}'s dropouts draw in one eager step (on the dry-run device), in draw order. */
    private static List<Long> eagerSeeds(Net net) {
        List<Long> seeds = new ArrayList<>();
        HostSeeds.Recorder before = HostSeeds.record((seed, next) -> seeds.add(seed));
        try {
            net.step();
        } finally {
            HostSeeds.record(before);
        }
        return seeds;
    }

    @Test
    void dropoutMasksOfEveryReplayGetTheSeedsOfTheEagerStep() {
        try (Net net = new Net(false).withDropout(7); Net twin = new Net(false).withDropout(7);
             CudaGraphStep step = new CudaGraphStep(dev, 1, net.opt::step)) {
            assertEquals(CudaGraphStep.Mode.EAGER, step.run("k", net::step));
            eagerSeeds(twin);
            int masks = DryRunDevice.launches("random_dropout_mask"), devMasks = DryRunDevice.launches("random_dropout_mask_dev");
            assertEquals(CudaGraphStep.Mode.CAPTURED, step.run("k", net::step));
            assertEquals(masks, DryRunDevice.launches("random_dropout_mask"), "no mask launch with a seed frozen at capture");
            assertEquals(devMasks + 3, DryRunDevice.launches("random_dropout_mask_dev"), "3 masks per replay, seeds read on the device");
            List<Long> eager = eagerSeeds(twin);
            CudaGraph g = step.graph();
            assertEquals(4, g.seedDraws(), "p 1, p 0.1 and p 0.5 twice draw a seed each");
            assertEquals(3, g.seedSlots(), "p 1 zeroes without a mask");
            assertEquals(4, g.scalarSlots());
            assertEquals(eager.subList(1, 4), toList(g.deviceSeedsSeen()), "the captured step's masks are the eager step's");
            for (int k = 3; k <= 7; k++) {
                masks = DryRunDevice.launches("random_dropout_mask");
                devMasks = DryRunDevice.launches("random_dropout_mask_dev");
                assertEquals(CudaGraphStep.Mode.REPLAYED, step.run("k", net::step));
                assertEquals(masks, DryRunDevice.launches("random_dropout_mask"));
                assertEquals(devMasks + 3, DryRunDevice.launches("random_dropout_mask_dev"));
                eager = eagerSeeds(twin);
                assertEquals(eager.subList(1, 4), toList(g.deviceSeedsSeen()), "seeds of replayed step " + k);
                assertEquals(twin.hidden.seedOfCall(k), g.deviceSeedsSeen()[0]);
                assertArrayEquals(new long[]{twin.logits.seedOfCall(2L * k - 1), twin.logits.seedOfCall(2L * k)},
                        java.util.Arrays.copyOfRange(g.deviceSeedsSeen(), 1, 3));
                double[] sc = g.deviceScalarsSeen();
                assertEquals(8, sc.length);
                assertEquals(k, sc[1], "the optimizer slots stay right beside the seed slots");
            }
            // the host counters moved as the eager ones (a checkpoint saves them)
            assertEquals(twin.all.calls(), net.all.calls());
            assertEquals(7, net.hidden.calls());
            assertEquals(14, net.logits.calls());
            assertEquals(6, g.scalarUploads(), "one copy of the slots per replay, seeds included");
        }
    }

    private static List<Long> toList(long[] a) {
        List<Long> out = new ArrayList<>();
        for (long v : a) out.add(v);
        return out;
    }

    @Test
    void aMaskWithASeedNotDrawnForTheCaptureIsRefused() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = gpu.empty(DType.F32, 4, 6);
            gpu.fill(x, 1);
            CudaGraphException e = assertThrows(CudaGraphException.class, () -> CudaGraph.capture(ctx, () -> {
                try (MemoryScope in = MemoryScope.open()) {
                    dropout(x, 0.5, true, 42);
                }
            }));
            assertTrue(e.getMessage().contains("a dropout mask with a seed (42)") && e.getMessage().contains("HostSeeds.draw")
                    && e.getMessage().contains("cannot be captured"), e.getMessage());
            assertNull(ctx.capturing());
            assertTrue(HostSeeds.draw(() -> 5L) == 5L, "the failed capture removed its recorder");
            long[] seed = {100};
            try (CudaGraph g = CudaGraph.capture(ctx, () -> {
                try (MemoryScope in = MemoryScope.open()) {
                    dropout(x, 0.5, true, HostSeeds.draw(() -> ++seed[0]));
                    dropout(x, 0.5, true, HostSeeds.draw(() -> seed[0] * 1000));
                }
            })) {
                g.replay();
                assertArrayEquals(new long[]{101, 101_000}, g.deviceSeedsSeen());
                g.refresh(() -> { });
                g.replay();
                assertArrayEquals(new long[]{102, 102_000}, g.deviceSeedsSeen(), "the rules drawn again in capture order");
            }
        }
    }

    @Test
    void onTheCpuEveryStepIsEager() {
        int[] runs = {0};
        try (CudaGraphStep step = new CudaGraphStep(Device.CPU, 1, () -> { })) {
            for (int i = 0; i < 3; i++) assertEquals(CudaGraphStep.Mode.EAGER, step.run("k", () -> runs[0]++));
            assertNull(step.graph());
        }
        assertEquals(3, runs[0]);
        assertThrows(IllegalArgumentException.class, () -> new CudaGraphStep(Device.CPU, 0, () -> { }));
    }
}
