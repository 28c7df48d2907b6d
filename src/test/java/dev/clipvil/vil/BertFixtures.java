package dev.clipvil.vil;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates ../shared/fixtures/hf_bert_small (skipping the test with a printed message when absent) and compares tensors. */
final class BertFixtures {
    private BertFixtures() {}

    static Path dir(String test, String... files) {
        Path d = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", "hf_bert_small");
        for (String f : files) {
            if (!Files.isRegularFile(d.resolve(f))) {
                String reason = "no " + f + " at " + d.toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
                System.out.println("SKIPPED " + test + ": " + reason);
                Assumptions.abort(reason);
            }
        }
        return d;
    }

    static double maxAbs(Tensor t) {
        double m = 0;
        for (double v : t.toDoubleArray()) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** max|a-b| / scale, after checking the shapes agree. */
    static double relErr(String what, Tensor actual, Tensor expected, double scale) {
        if (!java.util.Arrays.equals(actual.shape(), expected.shape())) {
            throw new AssertionError(what + ": shape " + java.util.Arrays.toString(actual.shape()) + " vs " + java.util.Arrays.toString(expected.shape()));
        }
        double[] a = actual.toDoubleArray(), b = expected.toDoubleArray();
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m / scale;
    }
}
