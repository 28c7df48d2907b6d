package dev.clipvil.cli;

import dev.clipvil.ops.Autocast;
import dev.clipvil.train.TrainedVqa;
import dev.clipvil.train.VqaPredict;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code clipvil predict}: the top answers of a trained run to one question about one image. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = {"Answer a question about an image with a model trained by `clipvil train` (its last checkpoint).",
                "Runs on --device in --precision (auto: bf16 on a GPU, f32 on the CPU), whatever the run was trained in."})
final class PredictCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--run", required = true, paramLabel = "RUN_DIR", description = "A folder written by clipvil train.")
    Path run;
    @Option(names = "--image", required = true, paramLabel = "IMG", description = "The picture (JPEG, PNG, ...).")
    Path image;
    @Option(names = "--question", required = true, description = "The question, e.g. \"what color is the circle?\".")
    String question;
    @Option(names = "--top", defaultValue = "5", description = "How many answers to print (default: ${DEFAULT-VALUE}).")
    int top;
    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws Exception {
        compute.check();
        if (top < 1) throw new IllegalArgumentException("--top must be >= 1, got " + top);
        if (!Files.isRegularFile(image)) throw new NoSuchFileException(image.toString(), null, "no such image");
        if (question.isBlank()) throw new IllegalArgumentException("--question is empty");
        PrintWriter w = spec.commandLine().getOut();
        Compute c = compute.resolve("predict", spec.commandLine().getErr(), false, null);
        try (Compute.Scope switches = c.open(); TrainedVqa m = TrainedVqa.load(run, c.device())) {
            List<VqaPredict.Scored> answers;
            try (Autocast.Guard ac = c.autocast()) {
                answers = m.ask(image, question, top);
            }
            w.printf(Locale.ROOT, "%s (step %d): %s%n", run, m.step(), question);
            for (VqaPredict.Scored s : answers) w.printf(Locale.ROOT, "  %-16s %.4f%n", s.answer(), s.score());
        }
        w.flush();
        return 0;
    }
}
