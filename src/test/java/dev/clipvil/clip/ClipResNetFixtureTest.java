package dev.clipvil.clip;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Init;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CLIP's ResNet image tower against the reference implementation's outputs (../shared/fixtures/
 * openai_rn_small: OpenAI-format weights incl. BatchNorm buffers, eval mode). Skipped with a message
 * when the fixtures are absent.
 */
class ClipResNetFixtureTest {
    static Path fixture(String name) {
        Path dir = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", name);
        if (!Files.isRegularFile(dir.resolve("model.safetensors")) || !Files.isRegularFile(dir.resolve("expected.safetensors"))) {
            String reason = "no fixture at " + dir.toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
            System.out.println("SKIPPED " + ClipResNetFixtureTest.class.getSimpleName() + ": " + reason);
            Assumptions.abort(reason);
        }
        return dir;
    }

    /** max |a - b| / max |b|. */
    static double relError(Tensor got, Tensor want) {
        assertArrayEquals(want.shape(), got.shape());
        double[] a = got.toDoubleArray(), b = want.toDoubleArray();
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    /** The tower the fixture's config.json describes, with CLIP's heads = width * 32 / 64. */
    static ModifiedResNet towerFromConfig(Path dir) throws IOException {
        JsonObject cfg = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        var layersJson = cfg.getAsJsonArray("vision_layers");
        int[] layers = new int[layersJson.size()];
        for (int i = 0; i < layers.length; i++) layers[i] = layersJson.get(i).getAsInt();
        int width = cfg.get("vision_width").getAsInt();
        return new ModifiedResNet(layers, cfg.get("embed_dim").getAsInt(), width * 32 / 64, cfg.get("image_resolution").getAsInt(), width, new Init(0));
    }

    @Test
    void visualTowerMatchesTheReference() throws IOException {
        Path dir = fixture("openai_rn_small");
        Map<String, Tensor> model = SafeTensors.readAll(dir.resolve("model.safetensors"));
        Map<String, Tensor> expected = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        try (ModifiedResNet rn = towerFromConfig(dir); MemoryScope s = MemoryScope.open()) {
            Map<String, Tensor> visual = new LinkedHashMap<>();
            model.forEach((k, v) -> { if (k.startsWith("visual.")) visual.put(k.substring("visual.".length()), v); });
            assertEquals(new TreeSet<>(visual.keySet()), new TreeSet<>(rn.stateDict().keySet()));
            assertTrue(rn.loadStateDict(visual).isClean());
            rn.eval();
            Tensor px = expected.get("pixel_values");
            double gridErr = relError(rn.forwardGrid(px), expected.get("layer4_grid"));
            double featErr = relError(rn.forward(px), expected.get("image_features"));
            // frozen BatchNorm: training mode gives the eval outputs
            rn.train();
            double trainErr = relError(rn.forward(px), expected.get("image_features"));
            System.out.printf("ClipResNetFixtureTest: layer4_grid rel err %.3g, image_features %.3g (train mode, frozen BN: %.3g)%n", gridErr, featErr, trainErr);
            assertTrue(gridErr <= 1e-4, "layer4_grid rel err " + gridErr);
            assertTrue(featErr <= 1e-4, "image_features rel err " + featErr);
            assertTrue(trainErr <= 1e-4, "image_features (train mode, frozen BN) rel err " + trainErr);
        } finally {
            model.values().forEach(Tensor::close);
            expected.values().forEach(Tensor::close);
        }
    }
}
