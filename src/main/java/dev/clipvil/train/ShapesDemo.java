package dev.clipvil.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.data.SyntheticShapes;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Losses;
import dev.clipvil.ops.Reductions;
import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.GradClip;
import dev.clipvil.optim.LrSchedule;
import dev.clipvil.optim.ParamGroup;
import dev.clipvil.optim.LrScheduler;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The engine's end-to-end demo: trains a small CLIP-style ViT to classify the embedded synthetic
 * shapes (nothing to download), with AdamW, linear warmup then cosine decay, gradient clipping and
 * per-step memory scopes; evaluates on a held-out split; writes the weights (safetensors), a
 * metrics.jsonl and a summary.json into the output folder.
 */
public final class ShapesDemo {

    /** Everything the run depends on. */
    public record Config(int steps, int batchSize, double lr, double weightDecay, int warmupSteps, double clipNorm,
                         int imageSize, int patch, int width, int layers, int heads,
                         int trainSize, int testSize, long seed, Path out, boolean progress) {
        public Config {
            if (steps < 1 || batchSize < 1 || trainSize < batchSize || testSize < 1) {
                throw new IllegalArgumentException("demo: steps, batch size and test size must be positive and the training set at least one batch");
            }
        }

        public static Config defaults(Path out) {
            return new Config(400, 64, 3e-3, 0.05, 40, 1.0, 16, 4, 48, 2, 4, 4096, 1024, 7, out, true);
        }
    }

    /** What a run measured. */
    public record Result(double firstLoss, double finalLoss, double testAccuracy, double imagesPerSecond,
                         double seconds, long peakHostBytes, Path checkpoint) {}

    private ShapesDemo() {}

    /** A run on the CPU in F32. */
    public static Result run(Config c, PrintStream log) throws IOException { return run(c, log, Device.CPU, false); }

    /**
     * A run on {@code device}: the model, both image sets, gradients and AdamW states live there, and
     * each step reads back only its loss; with {@code bf16} the forward passes (training and
     * evaluation) run under BF16 autocast (weights, gradients and optimizer states stay F32).
     */
    public static Result run(Config c, PrintStream log, Device device, boolean bf16) throws IOException {
        Files.createDirectories(c.out());
        long t0 = System.nanoTime();
        try (SyntheticShapes.Batch train = onDevice(SyntheticShapes.generate(c.trainSize(), c.imageSize(), c.seed()), device);
             SyntheticShapes.Batch test = onDevice(SyntheticShapes.generate(c.testSize(), c.imageSize(), c.seed() + 1), device);
             ShapesClassifier model = new ShapesClassifier(c.imageSize(), c.patch(), c.width(), c.layers(), c.heads(),
                     SyntheticShapes.CLASSES.length, new Init(c.seed()));
             AdamW opt = new AdamW(ParamGroup.decayAndNoDecay("model", model.to(device).namedParameters(), c.lr(), c.weightDecay()), 0.9, 0.98, 1e-6)) {
            log.printf("demo: ViT %dx%d patch %d, width %d, %d layers, %d heads (%,d parameters); %d train / %d test images%n",
                    c.imageSize(), c.imageSize(), c.patch(), c.width(), c.layers(), c.heads(), model.parameterCount(), c.trainSize(), c.testSize());
            LrScheduler sched = new LrScheduler(opt, LrSchedule.warmupCosine(c.warmupSteps(), c.steps()));
            Path metrics = c.out().resolve("metrics.jsonl");
            Gson gson = new Gson();
            SplittableRandom order = new SplittableRandom(c.seed() + 2);
            int[] perm = permutation(c.trainSize(), order);
            int cursor = 0;
            double first = Double.NaN, ema = Double.NaN, last = Double.NaN;
            HostMemory.get().resetPeak();
            long trainStart = System.nanoTime();
            model.train();
            try (Writer w = Files.newBufferedWriter(metrics, StandardCharsets.UTF_8);
                 TrainProgress bar = new TrainProgress("train", c.steps(), c.progress(), log)) {
                for (int step = 1; step <= c.steps(); step++) {
                    if (cursor + c.batchSize() > perm.length) {
                        perm = permutation(c.trainSize(), order);
                        cursor = 0;
                    }
                    long[] idx = new long[c.batchSize()];
                    for (int i = 0; i < idx.length; i++) idx[i] = perm[cursor++];
                    double loss;
                    double lr;
                    try (MemoryScope scope = MemoryScope.open()) {
                        Tensor ids = Creation.onDevice(Tensor.ofLongs(idx, idx.length), device);
                        Tensor x = Indexing.indexSelect(train.images(), 0, ids);
                        Tensor y = Indexing.indexSelect(train.labels(), 0, ids);
                        Tensor l;
                        try (Autocast.Guard ac = autocast(bf16)) {
                            l = Losses.crossEntropy(model.forward(x), y);
                        }
                        Autograd.backward(l);
                        GradClip.clipGradNorm(model.parameters(), c.clipNorm());
                        lr = opt.groups().get(0).lr();
                        opt.step();
                        sched.step();
                        opt.zeroGrad();
                        loss = l.item();
                    }
                    if (step == 1) first = loss;
                    last = loss;
                    ema = Double.isNaN(ema) ? loss : 0.95 * ema + 0.05 * loss;
                    double elapsed = (System.nanoTime() - trainStart) / 1e9;
                    double ips = step * (double) c.batchSize() / elapsed;
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("step", step);
                    m.put("loss", loss);
                    m.put("lr", lr);
                    m.put("images_per_s", Math.round(ips * 10) / 10.0);
                    w.write(gson.toJson(m));
                    w.write('\n');
                    bar.step(String.format("loss %.4f  %.0f img/s", ema, ips));
                }
            }
            double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
            double acc;
            try (Autocast.Guard ac = autocast(bf16)) {
                acc = accuracy(model, test, c.batchSize());
            }
            Path ckpt = c.out().resolve("model.safetensors");
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "clipvil");
            meta.put("model", "ShapesClassifier");
            SafeTensors.write(ckpt, model.stateDict(), meta);
            Result r = new Result(first, last, acc, c.steps() * (double) c.batchSize() / trainSeconds,
                    (System.nanoTime() - t0) / 1e9, HostMemory.get().peakBytes(), ckpt);
            Gson pretty = new GsonBuilder().setPrettyPrinting().create();
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("config", c.toString());
            summary.put("first_loss", r.firstLoss());
            summary.put("final_loss", r.finalLoss());
            summary.put("test_accuracy", r.testAccuracy());
            summary.put("train_images_per_s", r.imagesPerSecond());
            summary.put("seconds", r.seconds());
            Files.writeString(c.out().resolve("summary.json"), pretty.toJson(summary));
            log.printf("demo: loss %.4f -> %.4f, held-out accuracy %.1f%% (%d images), %.0f img/s, %.1f s; wrote %s%n",
                    first, last, 100 * acc, c.testSize(), r.imagesPerSecond(), r.seconds(), c.out());
            return r;
        }
    }

    /** Fraction of {@code data} whose argmax logit is the label, in eval mode without gradients. */
    static double accuracy(ShapesClassifier model, SyntheticShapes.Batch data, int batch) {
        model.eval();
        int n = data.labels().numel(), correct = 0;
        long[] labels = data.labels().toLongArray();
        try (GradMode.Guard g = GradMode.noGrad()) {
            for (int s = 0; s < n; s += batch) {
                int len = Math.min(batch, n - s);
                try (MemoryScope scope = MemoryScope.open()) {
                    Tensor x = dev.clipvil.ops.Views.narrow(data.images(), 0, s, len);
                    long[] pred = Reductions.argmax(model.forward(x), 1, false).toLongArray();
                    for (int i = 0; i < len; i++) if (pred[i] == labels[s + i]) correct++;
                }
            }
        }
        model.train();
        return (double) correct / n;
    }

    private static Autocast.Guard autocast(boolean bf16) { return bf16 ? Autocast.bf16() : Autocast.f32(); }

    /** {@code b} with its tensors on {@code device} (itself on the CPU; else the host tensors are closed). */
    private static SyntheticShapes.Batch onDevice(SyntheticShapes.Batch b, Device device) {
        if (device.equals(Device.CPU)) return b;
        return new SyntheticShapes.Batch(MemoryScope.detach(Creation.onDevice(b.images(), device)), MemoryScope.detach(Creation.onDevice(b.labels(), device)));
    }

    private static int[] permutation(int n, SplittableRandom r) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
