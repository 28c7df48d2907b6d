package dev.clipvil.cli;

import dev.clipvil.data.SyntheticVqa;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code clipvil make-synthetic}: a small VQA v2-format dataset of coloured shapes, for runs with nothing downloaded. */
@Command(name = "make-synthetic", mixinStandardHelpOptions = true,
        description = "Write a synthetic VQA dataset (shapes, colours, counts, positions) in the VQA v2 release layout.")
final class MakeSyntheticCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (new, empty, or a previous synthetic dataset).")
    Path out;

    @Option(names = "--train", defaultValue = "2000", description = "Training images (default: ${DEFAULT-VALUE}).")
    int train;

    @Option(names = "--val", defaultValue = "500", description = "Validation images (default: ${DEFAULT-VALUE}).")
    int val;

    @Option(names = "--size", defaultValue = "64", description = "Image side in pixels (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
        long t0 = System.nanoTime();
        SyntheticVqa.Summary s = SyntheticVqa.write(out, train, val, size, seed);
        PrintWriter pw = spec.commandLine().getOut();
        pw.println(String.format(Locale.ROOT, "make-synthetic: %d train + %d val images (%dx%d), %d questions, seed %d -> %s in %.1f s",
                s.trainImages(), s.valImages(), s.size(), s.size(), s.questions(), s.seed(), s.dir(), (System.nanoTime() - t0) / 1e9));
        pw.flush();
        return 0;
    }
}
