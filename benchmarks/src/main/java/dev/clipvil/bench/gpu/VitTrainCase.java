package dev.clipvil.bench.gpu;

import com.google.gson.JsonObject;
import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.cuda.CudaContext;
import dev.clipvil.backend.cuda.CudaGraphStep;
import dev.clipvil.backend.cuda.CudaTimer;
import dev.clipvil.clip.VisionTransformer;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Losses;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * One training step of CLIP's ViT-B/32 image tower (224 px, patch 32, width 768, 12 layers, 12 heads,
 * projection 512; random weights), batch 256: forward, cross-entropy of the 512-d projection against
 * random class ids, backward, AdamW (lr 1e-4, weight decay 0.1). The same step as
 * benchmarks/pytorch/vit_b32_train_step.py. Precisions as there: BF16 autocast ({@link Autocast}: BF16
 * GEMMs, attention and convolution with F32 accumulation, F32 master weights; the target) and
 * strict F32. Order: BF16 eager, BF16 with CUDA graphs, F32 eager, so that a short budget measures the
 * targets first.
 *
 * <p>The same step is then run through a CUDA graph ({@link CudaGraphStep}: two eager warm-up steps,
 * a capture, replays), variant "..._cuda_graphs". Besides its wall time per step it reports the GPU time
 * of one replay (CUDA events around it) and of one eager step, and from them: {@code eager_gap_fraction}
 * = 1 - graph GPU time / eager step time, the share of the eager step lost to launch gaps (a lower
 * bound: the graph's own gaps are counted as work), and {@code graph_gap_fraction} = 1 - graph GPU
 * time / graph step wall time, the share of a graph step the GPU waits for the host between replays.
 * Gaps between the nodes inside one replay need a profiler (nsys) to separate; {@code graph_nodes} says
 * how many there are.
 */
final class VitTrainCase implements BenchCase {
    @Override public String name() { return "vit_b32_train"; }

    @Override
    public void run(Env env, List<JsonObject> out) {
        boolean full = env.scale() == Scale.FULL;
        int batch = full ? 256 : 4, res = full ? 224 : 32, patch = full ? 32 : 16, width = full ? 768 : 32;
        int layers = full ? 12 : 2, heads = full ? 12 : 2, dim = full ? 512 : 16;
        String variant = "batch" + batch + (full ? "" : "_tiny");
        out.add(eager(env, variant, true, batch, res, patch, width, layers, heads, dim));
        JsonObject g = BenchCase.result("vit_b32_train", variant + "_cuda_graphs", "BF16");
        if (env.backend().device().kind() != Device.Kind.CUDA) {
            g.addProperty("status", "unavailable");
            g.addProperty("error", "CUDA graphs need a CUDA device (" + env.backend().device() + " runs every step eagerly)");
        } else if (System.nanoTime() > env.deadline()) {
            g.addProperty("status", "skipped");
            g.addProperty("error", "the run's budget was spent by the eager variant (run GpuBench --only vit_b32_train for this one)");
        } else {
            try {
                BenchCase.scoped(() -> measureGraphs(env, g, true, batch, res, patch, width, layers, heads, dim));
            } catch (RuntimeException | Error e) {
                BenchCase.failed(g, e);
            }
        }
        out.add(g);
        if (System.nanoTime() > env.deadline()) {
            JsonObject f = BenchCase.result("vit_b32_train", variant, "F32");
            f.addProperty("status", "skipped");
            f.addProperty("error", "the run's budget was spent by the BF16 variants (run GpuBench --only vit_b32_train for this one)");
            out.add(f);
        } else {
            out.add(eager(env, variant, false, batch, res, patch, width, layers, heads, dim));
        }
    }

    private static JsonObject eager(Env env, String variant, boolean bf16, int batch, int res, int patch, int width, int layers, int heads, int dim) {
        JsonObject o = BenchCase.result("vit_b32_train", variant, bf16 ? "BF16" : "F32");
        try {
            BenchCase.scoped(() -> measure(env, o, bf16, batch, res, patch, width, layers, heads, dim));
        } catch (RuntimeException | Error e) {
            BenchCase.failed(o, e);
        }
        return o;
    }

    /** The precision of one variant for a forward pass: BF16 autocast, or plain F32 (backward follows what the forward recorded). */
    private static Autocast.Guard precision(boolean bf16) { return bf16 ? Autocast.bf16() : Autocast.f32(); }

    private static void measureGraphs(Env env, JsonObject o, boolean bf16, int batch, int res, int patch, int width, int layers, int heads, int dim) {
        Device dev = env.backend().device();
        VisionTransformer model = new VisionTransformer(res, patch, width, layers, heads, dim, new Init(0));
        try {
            model.to(dev);
            model.train();
            try (AdamW opt = new AdamW(model.namedParameters(), 1e-4, 0.9, 0.999, 1e-8, 0.1);
                 CudaGraphStep graph = new CudaGraphStep(dev, 2, opt::step)) {
                Tensor pixels = env.randn(DType.F32, 31, batch, 3, res, res);
                long[] ids = new Random(32).longs(batch, 0, dim).toArray();
                Tensor labels = Creation.to(Tensor.ofLongs(ids, batch), dev);
                Tensor lossOut = env.backend().empty(DType.F32);
                Runnable body = () -> {
                    opt.zeroGrad();
                    try (MemoryScope s = MemoryScope.open()) {
                        Tensor loss;
                        try (Autocast.Guard a = precision(bf16)) {
                            loss = Losses.crossEntropy(model.forward(pixels), labels);
                        }
                        Autograd.backward(loss);
                        env.backend().copy(loss, lossOut);
                    }
                    opt.step();
                };
                String key = CudaGraphStep.shapeKey(pixels, labels);
                CudaContext ctx = CudaContext.get(dev.index());
                // GPU time of eager steps (events around the step: launch gaps count as time)
                double eagerGpuMs = gpuMs(ctx, body, 3);
                Runnable step = () -> graph.run(key, body);
                DeviceClock.Timing t = env.clock().time(step, 3, 10, 0, env.caseDeadline(90));
                BenchCase.timing(o, t, 0, 0);
                o.addProperty("img_per_s", BenchCase.round(batch / (t.medianUs() * 1e-6)));
                o.addProperty("step_ms", BenchCase.round(t.medianUs() / 1e3));
                if (graph.graph() == null) throw new IllegalStateException("the step was never captured");
                double graphGpuMs = gpuMs(ctx, step, 5);
                o.addProperty("graph_gpu_ms", BenchCase.round(graphGpuMs));
                o.addProperty("eager_gpu_ms", BenchCase.round(eagerGpuMs));
                o.addProperty("graph_nodes", graph.graph().nodeCount());
                o.addProperty("eager_gap_fraction", BenchCase.round(Math.max(0, 1 - graphGpuMs / eagerGpuMs)));
                o.addProperty("graph_gap_fraction", BenchCase.round(Math.max(0, 1 - graphGpuMs / (t.medianUs() / 1e3))));
                o.addProperty("replayed_steps", graph.replayedSteps());
                double loss = lossOut.item();
                o.addProperty("loss_after", BenchCase.round(loss));
                if (!Double.isFinite(loss)) o.addProperty("note", "the loss is not finite after the timed steps");
            }
        } finally {
            model.close();
        }
    }

    /** Median GPU milliseconds of {@code body} over {@code n} runs: CUDA events recorded before and after it on the stream. */
    private static double gpuMs(CudaContext ctx, Runnable body, int n) {
        double[] ms = new double[n];
        try (CudaTimer timer = ctx.timer()) {
            for (int i = 0; i < n; i++) {
                ctx.synchronize();
                timer.start();
                try (MemoryScope s = MemoryScope.open()) {
                    body.run();
                }
                ms[i] = timer.stopMillis();
            }
        }
        Arrays.sort(ms);
        return ms[n / 2];
    }

    private static void measure(Env env, JsonObject o, boolean bf16, int batch, int res, int patch, int width, int layers, int heads, int dim) {
        long t0 = System.nanoTime();
        VisionTransformer model = new VisionTransformer(res, patch, width, layers, heads, dim, new Init(0));
        try {
            model.to(env.backend().device());
            model.train();
            try (AdamW opt = new AdamW(model.namedParameters(), 1e-4, 0.9, 0.999, 1e-8, 0.1)) {
                Tensor pixels = env.randn(DType.F32, 31, batch, 3, res, res);
                long[] ids = new Random(32).longs(batch, 0, dim).toArray();
                Tensor hostIds = Tensor.ofLongs(ids, batch);
                Tensor labels = Creation.to(hostIds, env.backend().device());
                o.addProperty("setup_s", BenchCase.round((System.nanoTime() - t0) / 1e9));
                Runnable step = () -> {
                    Tensor loss;
                    try (Autocast.Guard a = precision(bf16)) {
                        loss = Losses.crossEntropy(model.forward(pixels), labels);
                    }
                    Autograd.backward(loss);
                    opt.step();
                    opt.zeroGrad();
                };
                // Each sample is one step (minSampleMs 0): a step is long enough to time alone.
                DeviceClock.Timing t = env.clock().time(step, 2, 10, 0, env.caseDeadline(90));
                BenchCase.timing(o, t, 0, 0);
                o.addProperty("img_per_s", BenchCase.round(batch / (t.medianUs() * 1e-6)));
                o.addProperty("step_ms", BenchCase.round(t.medianUs() / 1e3));
                try (MemoryScope s = MemoryScope.open(); Autocast.Guard a = precision(bf16)) {
                    double loss = Losses.crossEntropy(model.forward(pixels), labels).item();
                    o.addProperty("loss_after", BenchCase.round(loss));
                    if (!Double.isFinite(loss)) o.addProperty("note", "the loss is not finite after the timed steps");
                }
            }
        } finally {
            model.close();
        }
    }
}
