package dev.clipvil.cli;

import dev.clipvil.train.ShapesDemo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code clipvil demo}: trains a small CLIP-style ViT on the embedded synthetic shapes, end to end. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Train a small CLIP-style ViT on embedded synthetic shapes (nothing to download).",
                "Evaluates on a held-out split and writes model.safetensors, metrics.jsonl and summary.json into --out.",
                "Runs on --device in --precision (bf16: BF16 autocast of the forward passes; weights and AdamW states stay F32)."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--steps", defaultValue = "400", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch-size", defaultValue = "64", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Peak AdamW learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--weight-decay", defaultValue = "0.05", description = "AdamW weight decay on matrices (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--seed", defaultValue = "7", description = "Seed of the data, the weights and the batch order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", defaultValue = "runs/demo", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--no-progress", description = "Do not draw the progress bar.")
    boolean noProgress;

    @Mixin
    ComputeOptions compute;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        compute.check();
        ShapesDemo.Config d = ShapesDemo.Config.defaults(out);
        if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + lr);
        ShapesDemo.Config c = new ShapesDemo.Config(steps, batchSize, lr, weightDecay, Math.max(1, steps / 10), d.clipNorm(),
                d.imageSize(), d.patch(), d.width(), d.layers(), d.heads(), d.trainSize(), d.testSize(), seed, out, !noProgress);
        Compute run = compute.resolve("demo", spec.commandLine().getErr(), false, null);
        try (Compute.Scope switches = run.open()) {
            ShapesDemo.run(c, System.err, run.device(), run.bf16());
        }
        return 0;
    }
}
