package dev.clipvil.cli;

import dev.clipvil.train.ShapesDemo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code clipvil demo}: trains a small CLIP-style ViT on the embedded synthetic shapes, end to end. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Train a small CLIP-style ViT on embedded synthetic shapes (nothing to download).",
                "Evaluates on a held-out split and writes model.safetensors, metrics.jsonl and summary.json into --out."})
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

    @Override
    public Integer call() throws Exception {
        ShapesDemo.Config d = ShapesDemo.Config.defaults(out);
        if (steps < 1) throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        if (!(lr > 0)) throw new IllegalArgumentException("--lr must be positive, got " + lr);
        ShapesDemo.Config c = new ShapesDemo.Config(steps, batchSize, lr, weightDecay, Math.max(1, steps / 10), d.clipNorm(),
                d.imageSize(), d.patch(), d.width(), d.layers(), d.heads(), d.trainSize(), d.testSize(), seed, out, !noProgress);
        ShapesDemo.run(c, System.err);
        return 0;
    }
}
