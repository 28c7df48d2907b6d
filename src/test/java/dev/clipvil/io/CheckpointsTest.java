package dev.clipvil.io;

import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Model folders: single and sharded safetensors, their precedence, and broken indexes. */
class CheckpointsTest {
    @TempDir
    Path dir;

    private static void write(Path f, String name, float... xs) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(name, Tensor.of(xs, xs.length));
        SafeTensors.write(f, m);
        m.values().forEach(Tensor::close);
    }

    private Path folder(String name, String index) throws IOException {
        Path d = Files.createDirectory(dir.resolve(name));
        write(d.resolve("model-00001-of-00002.safetensors"), "a.weight", 1, 2);
        write(d.resolve("model-00002-of-00002.safetensors"), "b.weight", 3);
        Files.writeString(d.resolve("model.safetensors.index.json"), index, StandardCharsets.UTF_8);
        return d;
    }

    private static String index(String... nameShard) {
        StringBuilder sb = new StringBuilder("{\"metadata\": {\"total_size\": 12}, \"weight_map\": {");
        for (int i = 0; i < nameShard.length; i += 2) {
            if (i > 0) sb.append(", ");
            sb.append('"').append(nameShard[i]).append("\": \"").append(nameShard[i + 1]).append('"');
        }
        return sb.append("}}").toString();
    }

    @Test
    void shardedFolderReadsEveryShard() throws IOException {
        Path d = folder("sharded", index("a.weight", "model-00001-of-00002.safetensors", "b.weight", "model-00002-of-00002.safetensors"));
        assertEquals(new Checkpoints.Source(d.resolve("model.safetensors.index.json"), CheckpointFormat.SAFETENSORS_SHARDED), Checkpoints.locate(d));
        Map<String, Tensor> m = Checkpoints.readStateDict(d);
        try {
            assertEquals(List.of("a.weight", "b.weight"), List.copyOf(m.keySet()));
            assertArrayEquals(new float[] {1, 2}, m.get("a.weight").toFloatArray());
            assertArrayEquals(new float[] {3}, m.get("b.weight").toFloatArray());
        } finally {
            m.values().forEach(Tensor::close);
        }
        // a single model.safetensors takes precedence
        write(d.resolve("model.safetensors"), "single", 9);
        assertEquals(CheckpointFormat.SAFETENSORS, Checkpoints.locate(d).format());
    }

    @Test
    void brokenIndexesAreReported() throws IOException {
        long before = HostMemory.get().inUseBytes();
        Path missing = folder("missing", index("a.weight", "model-00001-of-00002.safetensors", "c.weight", "model-00002-of-00002.safetensors"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.readStateDict(missing));
        assertTrue(e.getMessage().contains("tensor 'c.weight' is listed in the weight map but its shard"), e.getMessage());
        Path outside = folder("outside", index("a.weight", "../sharded/x.safetensors"));
        e = assertThrows(CheckpointException.class, () -> Checkpoints.readStateDict(outside));
        assertTrue(e.getMessage().contains("lies outside the model folder"), e.getMessage());
        Path noMap = folder("nomap", "{\"metadata\": {}}");
        e = assertThrows(CheckpointException.class, () -> Checkpoints.readStateDict(noMap));
        assertTrue(e.getMessage().contains("has no \"weight_map\" object"), e.getMessage());
        Path twice = folder("twice", index("a.weight", "model-00001-of-00002.safetensors", "b.weight", "model-00002-of-00002.safetensors"));
        write(twice.resolve("model-00002-of-00002.safetensors"), "a.weight", 5);
        e = assertThrows(CheckpointException.class, () -> Checkpoints.readStateDict(twice));
        assertTrue(e.getMessage().contains("tensor 'a.weight' appears in two shards"), e.getMessage());
        assertEquals(before, HostMemory.get().inUseBytes(), "failed loads free what they read");
    }
}
