package dev.clipvil.cli;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Softmax;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code clipvil zeroshot --model M --image IMG --labels "cat,dog"}: CLIP's zero-shot classification
 * of one image. Each label goes into the template, the image is scored against every prompt, and the
 * labels are printed best first with the softmax of CLIP's logits (exp(logit_scale) times the cosine).
 */
@Command(name = "zeroshot", mixinStandardHelpOptions = true,
        description = {"Zero-shot classify an image with CLIP: the labels ranked with their probabilities.",
                "Each label is put into --template (\"{}\" is replaced by the label) and tokenized."})
final class ZeroshotCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE", description = "CLIP model: HF folder, OpenAI .safetensors/.pt, or a folder holding one.")
    Path model;

    @Option(names = "--image", required = true, paramLabel = "IMG", description = "The image to classify.")
    Path image;

    @Option(names = "--labels", required = true, paramLabel = "L1,L2,...", description = "Comma-separated class labels (at least one).")
    String labels;

    @Option(names = "--template", defaultValue = "a photo of a {}.", description = "Prompt template; {} is the label (default: \"${DEFAULT-VALUE}\").")
    String template;

    @Option(names = "--top", defaultValue = "0", description = "Print only the best K labels (0: all).")
    int top;

    @Mixin
    TextOptions text;

    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws IOException {
        compute.check();
        List<String> names = parseLabels(labels);
        if (!template.contains("{}")) throw new IllegalArgumentException("--template must contain {} (where the label goes), got '" + template + "'");
        if (top < 0) throw new IllegalArgumentException("--top must be >= 0, got " + top);
        List<String> prompts = new ArrayList<>();
        for (String l : names) prompts.add(template.replace("{}", l));
        double[] probs;
        Compute c = compute.resolve("zeroshot", spec.commandLine().getErr(), false, null);
        try (Compute.Scope switches = c.open(); Clip clip = ClipLoader.load(model); MemoryScope scope = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            clip.to(c.device());
            Tensor pixels = c.onDevice(ClipPreprocess.loadBatch(List.of(image), clip.config().imageResolution()));
            Tensor ids = c.onDevice(ClipBatch.checkIds("the prompts", text.tokenize(model, clip.config(), prompts), clip.config()));
            Tensor logits;
            try (Autocast.Guard ac = c.autocast()) {
                logits = clip.forward(pixels, ids).logitsPerImage();                         // [1, L]
            }
            probs = Softmax.softmax(logits, 1).toDoubleArray();                              // one read back
        }
        Integer[] order = new Integer[names.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        final double[] p = probs;
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -p[i]));
        PrintWriter out = spec.commandLine().getOut();
        int shown = top == 0 ? order.length : Math.min(top, order.length);
        int width = 0;
        for (String n : names) width = Math.max(width, n.length());
        for (int r = 0; r < shown; r++) out.printf(Locale.ROOT, "%-" + width + "s  %.4f%n", names.get(order[r]), p[order[r]]);
        out.flush();
        return 0;
    }

    /** The labels of "a, b,c": trimmed, non-empty, distinct. */
    static List<String> parseLabels(String s) {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (String part : s.split(",")) {
            String l = part.trim();
            if (l.isEmpty()) continue;
            if (!out.add(l)) throw new IllegalArgumentException("--labels: '" + l + "' appears twice");
        }
        if (out.isEmpty()) throw new IllegalArgumentException("--labels: no label in '" + s + "'");
        return new ArrayList<>(out);
    }
}
