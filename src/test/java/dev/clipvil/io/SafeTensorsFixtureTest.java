package dev.clipvil.io;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reads the HF CLIP fixture written by the reference implementation (skipped when ../shared is absent). */
class SafeTensorsFixtureTest {
    private static Path fixture() {
        Path dir = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", "hf_clip_small");
        if (!Files.isRegularFile(dir.resolve("model.safetensors")) || !Files.isRegularFile(dir.resolve("config.json"))) {
            String reason = "no fixture at " + dir.toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
            System.out.println("SKIPPED SafeTensorsFixtureTest: " + reason);
            Assumptions.abort(reason);
        }
        return dir;
    }

    private static int[] shape(Map<String, Tensor> m, String name) {
        Tensor t = m.get(name);
        if (t == null) throw new AssertionError("fixture lacks " + name);
        return t.shape();
    }

    @Test
    void readsHfClipSmallWithShapesFromItsConfig() throws IOException {
        Path dir = fixture();
        JsonObject cfg = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        JsonObject text = cfg.getAsJsonObject("text_config"), vision = cfg.getAsJsonObject("vision_config");
        int proj = cfg.get("projection_dim").getAsInt();
        int tw = text.get("hidden_size").getAsInt(), vocab = text.get("vocab_size").getAsInt();
        int ctx = text.get("max_position_embeddings").getAsInt();
        int vw = vision.get("hidden_size").getAsInt(), patch = vision.get("patch_size").getAsInt();
        int image = vision.get("image_size").getAsInt(), channels = vision.get("num_channels").getAsInt();
        int vff = vision.get("intermediate_size").getAsInt();

        Map<String, Tensor> m = SafeTensors.readAll(dir.resolve("model.safetensors"));
        try {
            assertEquals(78, m.size());
            m.values().forEach(t -> assertEquals(DType.F32, t.dtype()));
            assertArrayEquals(new int[] {vocab, tw}, shape(m, "text_model.embeddings.token_embedding.weight"));
            assertArrayEquals(new int[] {ctx, tw}, shape(m, "text_model.embeddings.position_embedding.weight"));
            assertArrayEquals(new int[] {vw, channels, patch, patch}, shape(m, "vision_model.embeddings.patch_embedding.weight"));
            int tokens = (image / patch) * (image / patch) + 1;
            assertArrayEquals(new int[] {tokens, vw}, shape(m, "vision_model.embeddings.position_embedding.weight"));
            assertArrayEquals(new int[] {vff, vw}, shape(m, "vision_model.encoder.layers.1.mlp.fc1.weight"));
            assertArrayEquals(new int[] {proj, vw}, shape(m, "visual_projection.weight"));
            assertArrayEquals(new int[] {proj, tw}, shape(m, "text_projection.weight"));
            assertArrayEquals(new int[0], shape(m, "logit_scale"));
            // values cross-checked with numpy.frombuffer on the same file
            assertEquals(2.664625406265259, m.get("logit_scale").item(), 0);
            float[] pe = m.get("vision_model.embeddings.patch_embedding.weight").toFloatArray();
            assertEquals(-0.018176808953285217f, pe[0]);
            assertEquals(-0.011768100783228874f, pe[pe.length - 1]);
            double sum = 0;
            for (double v : m.get("text_projection.weight").toDoubleArray()) sum += v;
            assertEquals(8.873521452420391, sum, 1e-9);
        } finally {
            m.values().forEach(Tensor::close);
        }
        try (SafeTensorsFile f = SafeTensors.open(dir.resolve("model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
    }
}
