package dev.clipvil.clip;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** CLIP loads from OpenAI's release formats (torch.save zip, TorchScript archive) to the same model as from safetensors. */
class ClipLoaderTorchTest {
    @Test
    void torchScriptAndTorchSaveLoadLikeSafetensors() throws Exception {
        Path dir = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", "openai_pt_small");
        if (!Files.isDirectory(dir)) {
            String reason = "no fixture at " + dir.toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
            System.out.println("SKIPPED ClipLoaderTorchTest: " + reason);
            Assumptions.abort(reason);
        }
        try (Clip ref = ClipLoader.load(dir.resolve("model.safetensors"));
             Clip ts = ClipLoader.load(dir.resolve("torchscript.pt"));
             Clip sd = ClipLoader.load(dir.resolve("state_dict.pt"))) {
            Map<String, Tensor> a = ref.stateDict(), b = ts.stateDict(), c = sd.stateDict();
            assertEquals(a.keySet(), b.keySet());
            assertEquals(a.keySet(), c.keySet());
            for (String k : a.keySet()) {
                assertArrayEquals(a.get(k).toDoubleArray(), b.get(k).toDoubleArray(), 0.0, k);
                assertArrayEquals(a.get(k).toDoubleArray(), c.get(k).toDoubleArray(), 0.0, k);
            }
        }
    }
}
