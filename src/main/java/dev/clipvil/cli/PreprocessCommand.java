package dev.clipvil.cli;

import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.Tensor;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code clipvil preprocess}: CLIP-preprocessed images written to a safetensors file. */
@Command(name = "preprocess", mixinStandardHelpOptions = true,
        description = {"Preprocess images as CLIP does and write them to a .safetensors file.",
                "Shorter side resized bicubic to N exactly as Pillow does, center crop, RGB, normalised with CLIP's mean and std;",
                "EXIF orientation applied. One float32 tensor [3, N, N] per image, named <file name>@<N>, written atomically.",
                "With --resize HxW instead: a plain resize to H x W (no crop), named <file name>@<H>x<W>."})
final class PreprocessCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    static final class Geometry {
        @Option(names = "--size", paramLabel = "N", description = "Square input size of the model (e.g. 224).")
        Integer size;

        @Option(names = "--resize", paramLabel = "HxW", description = "Resize to exactly H x W instead (e.g. 384x640).")
        String resize;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Geometry geometry;

    @Option(names = "--out", required = true, paramLabel = "OUT.safetensors", description = "Output file.")
    Path out;

    @Parameters(paramLabel = "IMAGE", arity = "1..*", description = "Image files (PNG, JPEG, GIF, BMP).")
    List<Path> images;

    @Override
    public Integer call() throws IOException {
        int h, w;
        String suffix;
        if (geometry.size != null) {
            h = w = geometry.size;
            if (h < 1) throw new IllegalArgumentException("--size must be positive, got " + h);
            suffix = "@" + h;
        } else {
            String[] parts = geometry.resize.toLowerCase(java.util.Locale.ROOT).split("x");
            try {
                if (parts.length != 2) throw new NumberFormatException();
                h = Integer.parseInt(parts[0].strip());
                w = Integer.parseInt(parts[1].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--resize must be HxW, such as 384x640, got " + geometry.resize);
            }
            if (h < 1 || w < 1) throw new IllegalArgumentException("--resize sizes must be positive, got " + geometry.resize);
            suffix = "@" + h + "x" + w;
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try {
            for (Path image : images) {
                String key = image.getFileName() + suffix;
                if (tensors.containsKey(key)) throw new IllegalArgumentException("two images are named " + image.getFileName() + ": their tensors would share the key " + key);
                tensors.put(key, geometry.size != null ? ClipPreprocess.load(image, h) : ClipPreprocess.loadResized(image, h, w));
            }
            SafeTensors.write(out, tensors, Map.of("preprocess", geometry.size != null
                    ? "clip resize-shorter-side bicubic + center-crop " + h : "resize bicubic " + h + "x" + w));
        } finally {
            tensors.values().forEach(Tensor::close);
        }
        PrintWriter pw = spec.commandLine().getOut();
        pw.printf("wrote %d image tensor%s [3, %d, %d] to %s%n", tensors.size(), tensors.size() == 1 ? "" : "s", h, w, out);
        pw.flush();
        return 0;
    }
}
