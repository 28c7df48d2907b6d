package dev.clipvil.cli;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.clip.ClipSaver;
import dev.clipvil.nn.BatchNorm2d;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Views;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.train.TrainProgress;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code clipvil finetune-clip}: contrastive fine-tuning of every parameter of a CLIP model with
 * AdamW (BatchNorm statistics frozen), on the image/text pairs of a safetensors file (pixel_values,
 * input_ids; row i of one goes with row i of the other) or of a CSV file (image,caption), in batches of --batch-size rows taken in
 * order and cycled. Writes one JSON line per step to the log ({@code step}, {@code loss} computed
 * before that step's update, {@code lr}) and the model as a folder that {@code --model} loads again,
 * in the key format it came in.
 */
@Command(name = "finetune-clip", mixinStandardHelpOptions = true,
        description = {"Fine-tune a CLIP model with its symmetric contrastive loss and AdamW (all parameters, BatchNorm frozen).",
                "Writes a JSON line per step to --log and the tuned model (model.safetensors + config.json) into --out.",
                "Runs on --device in --precision (bf16: BF16 autocast of the forward pass; weights, gradients and AdamW states stay F32)."})
final class FinetuneClipCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE", description = "CLIP model: HF folder, OpenAI .safetensors/.pt, or a folder holding one.")
    Path model;

    static final class Source {
        @Option(names = "--inputs", paramLabel = "IN.safetensors", description = "pixel_values [N,3,R,R] and input_ids [N,S]: the training pairs.")
        Path inputs;

        @Option(names = "--data", paramLabel = "PAIRS.csv", description = "CSV with the columns image,caption (image paths relative to the CSV).")
        Path data;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = "--steps", required = true, description = "Optimizer steps.")
    int steps;

    @Option(names = "--lr", defaultValue = "1e-5", description = "AdamW learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--betas", defaultValue = "0.9,0.98", paramLabel = "B1,B2", description = "AdamW betas (default: ${DEFAULT-VALUE}).")
    String betas;

    @Option(names = "--eps", defaultValue = "1e-6", description = "AdamW epsilon (default: ${DEFAULT-VALUE}).")
    double eps;

    @Option(names = "--weight-decay", defaultValue = "0.2", description = "AdamW decoupled weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--batch-size", defaultValue = "0",
            description = "Pairs per step; 0 = all pairs of --inputs in one batch, 32 with --data (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--log", paramLabel = "LOG.jsonl", description = "Per-step log (default: OUT/train_log.jsonl).")
    Path log;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "DIR", description = "Output model folder.")
    Path out;

    @Option(names = "--save-every", defaultValue = "0", description = "Also write the model every this many steps (0: only at the end).")
    int saveEvery;

    @Option(names = "--no-progress", description = "Do not draw the progress bar.")
    boolean noProgress;

    @Mixin
    TextOptions text;

    @Mixin
    ComputeOptions compute;

    /** The training pairs, by row: a batch of rows [start, start + len) as (pixels, ids), made in the caller's memory scope. */
    private interface Pairs extends AutoCloseable {
        int size();

        Tensor[] batch(int start, int len) throws IOException;

        @Override
        void close();
    }

    /** The pairs of --inputs (moved to the run's device once, whole) or of --data (read, and moved, a batch at a time). */
    private Pairs pairs(Clip clip, Compute c) throws IOException {
        if (source.inputs != null) {
            ClipBatch data = ClipBatch.read(source.inputs, clip.config());
            if (data.pixels() == null || data.ids() == null) {
                data.close();
                throw new IllegalArgumentException(source.inputs + ": fine-tuning needs both '" + ClipBatch.PIXELS + "' and '" + ClipBatch.IDS + "'");
            }
            if (data.ids().shape(0) != data.pixels().shape(0)) {
                data.close();
                throw new IllegalArgumentException(source.inputs + ": " + data.pixels().shape(0) + " images but " + data.ids().shape(0) + " texts; the pairs must line up");
            }
            ClipBatch all = data.on(c);
            return new Pairs() {
                public int size() { return all.size(); }
                public Tensor[] batch(int start, int len) { return new Tensor[]{Views.narrow(all.pixels(), 0, start, len), Views.narrow(all.ids(), 0, start, len)}; }
                public void close() { all.close(); }
            };
        }
        PairsCsv csv = PairsCsv.read(source.data);
        text.tokenizer(model);
        return new Pairs() {
            public int size() { return csv.images().size(); }
            public Tensor[] batch(int start, int len) throws IOException {
                Tensor px = ClipPreprocess.loadBatch(csv.images().subList(start, start + len), clip.config().imageResolution());
                Tensor ids = ClipBatch.checkIds(source.data.toString(), text.tokenize(model, clip.config(), csv.captions().subList(start, start + len)), clip.config());
                return new Tensor[]{px, ids};
            }
            public void close() {}
        };
    }

    @Override
    public Integer call() throws IOException {
        compute.check();
        if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + lr);
        if (batchSize < 0) throw new IllegalArgumentException("--batch-size must be >= 0, got " + batchSize);
        if (batchSize == 1) throw new IllegalArgumentException("--batch-size 1 gives a contrastive loss of 0 (one pair has nothing to contrast with); use at least 2");
        double[] b = parseBetas(betas);
        Path logPath = log != null ? log : out.resolve("train_log.jsonl");
        long t0 = System.nanoTime();
        double last = Double.NaN;
        String from = source.inputs != null ? source.inputs.toString() : source.data.toString();
        Compute c = compute.resolve("finetune-clip", spec.commandLine().getErr(), false, null);
        try (Compute.Scope switches = c.open(); Clip clip = ClipLoader.load(model); Pairs data = pairs(clip, c)) {
            int n = data.size();
            if (n < 2) throw new IllegalArgumentException(from + ": one pair has nothing to contrast with; at least 2 are needed");
            int bs = batchSize == 0 ? (source.data != null ? Math.min(32, n) : n) : Math.min(batchSize, n);
            int batches = (n + bs - 1) / bs;
            clip.to(c.device());                      // before the optimizer: its state is made beside the parameters
            clip.train();
            BatchNorm2d.freezeStatistics(clip);
            Files.createDirectories(out);
            if (logPath.toAbsolutePath().getParent() != null) Files.createDirectories(logPath.toAbsolutePath().getParent());
            try (AdamW opt = new AdamW(clip.namedParameters(), lr, b[0], b[1], eps, weightDecay);
                 BufferedWriter w = Files.newBufferedWriter(logPath, StandardCharsets.UTF_8);
                 TrainProgress bar = new TrainProgress("finetune-clip", steps, !noProgress, System.err)) {
                for (int step = 1; step <= steps; step++) {
                    int start = ((step - 1) % batches) * bs, len = Math.min(bs, n - start);
                    if (len < 2) { // a lone last pair: take it with the one before
                        start -= 1;
                        len = 2;
                    }
                    try (MemoryScope scope = MemoryScope.open()) {
                        opt.zeroGrad();
                        Tensor[] pair = data.batch(start, len);
                        Tensor pixels = c.onDevice(pair[0]), ids = c.onDevice(pair[1]);
                        Tensor loss;
                        try (Autocast.Guard ac = c.autocast()) {   // the forward pass and the loss; backward follows what they recorded
                            loss = Clip.contrastiveLoss(clip.forward(pixels, ids).logitsPerImage());
                        }
                        last = loss.item();                         // the step's one read back
                        if (!Double.isFinite(last)) throw new IllegalArgumentException("the loss is " + last + " at step " + step + "; try a smaller --lr");
                        Autograd.backward(loss);
                        opt.step();
                    }
                    opt.zeroGrad();
                    w.write(String.format(Locale.ROOT, "{\"step\":%d,\"loss\":%s,\"lr\":%s,\"batch_size\":%d}%n", step, Double.toString(last), Double.toString(lr), len));
                    w.flush();
                    bar.step(String.format(Locale.ROOT, "loss %.4f", last));
                    if (saveEvery > 0 && step % saveEvery == 0 && step < steps) save(clip, step);
                }
            }
            save(clip, steps);
        }
        PrintWriter pw = spec.commandLine().getOut();
        pw.printf(Locale.ROOT, "fine-tuned %s for %d steps (last loss %.6f) in %.1f s: model in %s, log in %s%n",
                model, steps, last, (System.nanoTime() - t0) / 1e9, out, logPath);
        pw.flush();
        return 0;
    }

    private void save(Clip clip, int step) throws IOException {
        ClipSaver.save(clip, model, out, Map.of("step", Integer.toString(step), "source_model", model.toString()));
    }

    static double[] parseBetas(String s) {
        String[] p = s.split(",");
        try {
            if (p.length == 2) {
                double b1 = Double.parseDouble(p[0].trim()), b2 = Double.parseDouble(p[1].trim());
                if (b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1) return new double[]{b1, b2};
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--betas must be two numbers in [0, 1) as B1,B2, got '" + s + "'");
    }
}
