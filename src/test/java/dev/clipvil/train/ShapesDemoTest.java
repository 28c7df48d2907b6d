package dev.clipvil.train;

import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapesDemoTest {

    @Test
    void shortRunLearnsAndWritesItsOutputs(@TempDir Path dir) throws Exception {
        ShapesDemo.Config d = ShapesDemo.Config.defaults(dir);
        ShapesDemo.Config c = new ShapesDemo.Config(150, 32, 5e-3, 0.05, 15, 1.0, 16, 4, 32, 1, 2, 512, 256, 11, dir, false);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ShapesDemo.Result r = ShapesDemo.run(c, new PrintStream(log, true));
        assertTrue(r.finalLoss() < 0.8 * r.firstLoss(), "loss should fall: " + r.firstLoss() + " -> " + r.finalLoss());
        assertTrue(r.testAccuracy() > 0.4, "held-out accuracy above chance (0.25): " + r.testAccuracy());
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(150, lines.size());
        assertTrue(lines.get(0).startsWith("{\"step\":1,\"loss\":"), lines.get(0));
        Map<String, Tensor> sd = SafeTensors.readAll(dir.resolve("model.safetensors"));
        assertTrue(sd.containsKey("visual.transformer.resblocks.0.attn.in_proj_weight"), sd.keySet().toString());
        assertEquals(List.of(3, 32), List.of(sd.get("visual.positional_embedding").shape(0) - 14, sd.get("visual.positional_embedding").shape(1)));
        sd.values().forEach(Tensor::close);
        assertTrue(Files.exists(dir.resolve("summary.json")));
        assertTrue(log.toString().contains("held-out accuracy"), log.toString());
        assertEquals(400, d.steps());
    }
}
