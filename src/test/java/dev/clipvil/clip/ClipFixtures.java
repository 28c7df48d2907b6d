package dev.clipvil.clip;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Locating the reference fixtures (skipping, with a printed message, when ../shared is absent) and comparing against them. */
final class ClipFixtures {
    private ClipFixtures() {}

    /** The fixture folder {@code name}, or an aborted (skipped) test when it or one of {@code files} is missing. */
    static Path dir(String test, String name, String... files) {
        Path dir = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", name);
        for (String f : files) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                String reason = "no fixture " + dir.resolve(f).toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
                System.out.println("SKIPPED " + test + ": " + reason);
                Assumptions.abort(reason);
            }
        }
        return dir;
    }

    /** max |a - b| / max |b| over all elements; shapes must match (a 0-d tensor matches [1]). */
    static double relErr(String what, Tensor actual, Tensor expected) { return relErr(what, actual, expected, maxAbs(expected)); }

    /** max |a - b| / scale. */
    static double relErr(String what, Tensor actual, Tensor expected, double scale) {
        if (actual.numel() != 1 || expected.numel() != 1) assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] a = actual.toDoubleArray(), b = expected.toDoubleArray();
        double num = 0;
        for (int i = 0; i < b.length; i++) num = Math.max(num, Math.abs(a[i] - b[i]));
        return scale == 0 ? num : num / scale;
    }

    /**
     * The scale a gradient error is judged against: the largest reference gradient of the tensor
     * {@code k}, except for an attention key bias ("...k_proj.bias"): adding a constant to every key's
     * score leaves the softmax unchanged, so its gradient is exactly zero and both sides hold rounding
     * noise (~1e-9). It is judged as the part of the packed q/k/v input bias it is (OpenAI's
     * in_proj_bias): against the largest gradient of the q, k and v biases together.
     */
    static double gradScale(String k, Map<String, Tensor> expected) {
        if (!k.endsWith("k_proj.bias")) return maxAbs(expected.get("grad." + k));
        double m = 0;
        for (String p : new String[]{"q_proj", "k_proj", "v_proj"}) m = Math.max(m, maxAbs(expected.get("grad." + k.replace("k_proj", p))));
        return m;
    }

    static double maxAbs(Tensor t) {
        double m = 0;
        for (double v : t.toDoubleArray()) m = Math.max(m, Math.abs(v));
        return m;
    }
}
