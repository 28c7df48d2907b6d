package dev.clipvil.clip;

import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Preprocessing against {@code fixtures/preprocess/expected.safetensors}: the reference transform
 * (torchvision on Pillow) of three PNGs at 224 and 64 px. Tolerances of the fixture README: mean
 * |a-b| <= 2e-3 and max <= 0.05; being Pillow-exact, this implementation is expected to match to
 * float rounding.
 */
class ClipPreprocessFixtureTest {
    private static final List<String> IMAGES = List.of("img0_640x480.png", "img1_300x200.png", "img2_97x131.png");

    @Test
    void matchesTheReferenceTransform() throws IOException {
        Path dir = SharedData.require("fixtures/preprocess/expected.safetensors", "ClipPreprocessFixtureTest").getParent();
        Map<String, Tensor> expected = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        try {
            int checked = 0;
            for (String image : IMAGES) {
                for (int n : new int[] {224, 64}) {
                    Tensor want = expected.get(image + "@" + n);
                    assertTrue(want != null, "fixture lacks " + image + "@" + n + "; has " + expected.keySet());
                    try (Tensor got = ClipPreprocess.load(dir.resolve(image), n)) {
                        assertArrayEquals(want.shape(), got.shape());
                        float[] a = got.toFloatArray(), b = want.toFloatArray();
                        double sum = 0, max = 0;
                        for (int i = 0; i < a.length; i++) {
                            double d = Math.abs(a[i] - b[i]);
                            sum += d;
                            max = Math.max(max, d);
                        }
                        double mean = sum / a.length;
                        System.out.printf("preprocess parity %s@%d: mean |a-b| %.3g, max %.3g%n", image, n, mean, max);
                        assertTrue(mean <= 2e-3 && max <= 0.05, image + "@" + n + ": mean " + mean + " max " + max);
                        assertTrue(max <= 1e-6, image + "@" + n + " should be Pillow-exact: max " + max);
                        checked++;
                    }
                }
            }
            assertEquals(6, checked);
            try (Tensor batch = ClipPreprocess.loadBatch(IMAGES.stream().map(dir::resolve).toList(), 64)) {
                assertArrayEquals(new int[] {3, 3, 64, 64}, batch.shape());
                float[] all = batch.toFloatArray();
                for (int i = 0; i < 3; i++) {
                    float[] one = expected.get(IMAGES.get(i) + "@64").toFloatArray();
                    for (int j = 0; j < one.length; j++) assertEquals(one[j], all[i * one.length + j], 1e-6);
                }
            }
        } finally {
            expected.values().forEach(Tensor::close);
        }
    }
}
