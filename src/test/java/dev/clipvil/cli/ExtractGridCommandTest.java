package dev.clipvil.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil extract-grid}: shards, the index, skipped images, resuming after an interruption, ViT grids at a new size. */
class ExtractGridCommandTest {
    @TempDir
    Path tmp;

    private Path imageFolder() throws IOException {
        Path src = CliFixtures.dir("ExtractGridCommandTest", "preprocess", "img0_640x480.png", "img1_300x200.png", "img2_97x131.png");
        Path dir = tmp.resolve("imgs");
        Files.createDirectories(dir);
        for (String n : new String[]{"img0_640x480.png", "img1_300x200.png", "img2_97x131.png"}) Files.copy(src.resolve(n), dir.resolve(n));
        Files.write(dir.resolve("a_broken.png"), new byte[]{9, 9, 9});
        return dir;
    }

    private static JsonObject index(Path out) throws IOException {
        return JsonParser.parseString(Files.readString(out.resolve("index.json"))).getAsJsonObject();
    }

    @Test
    void resNetShardsIndexAndResume() throws IOException {
        Path model = CliFixtures.dir("ExtractGridCommandTest", "openai_rn_small", "config.json", "model.safetensors");
        Path imgs = imageFolder(), out = tmp.resolve("grid");
        String[] args = {"extract-grid", "--model", model.toString(), "--images", imgs.toString(), "--size", "64x96", "--shard-size", "2",
                "--batch-size", "1", "--out", out.toString(), "--no-progress"};
        CliFixtures.Run r = CliFixtures.run(args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipping " + imgs.resolve("a_broken.png")), r.err());
        // name order: a_broken.png, img0 | img1, img2
        JsonObject idx = index(out);
        JsonObject images = idx.getAsJsonObject("images");
        assertEquals(Set.of("img0_640x480.png", "img1_300x200.png", "img2_97x131.png"), images.keySet());
        assertEquals("grid-00000.safetensors", images.get("img0_640x480.png").getAsString());
        assertEquals("grid-00001.safetensors", images.get("img2_97x131.png").getAsString());
        assertEquals("a_broken.png", idx.getAsJsonArray("failed").get(0).getAsString());
        Map<String, Tensor> shard1 = SafeTensors.readAll(out.resolve("grid-00001.safetensors"));
        try (Clip clip = ClipLoader.load(model); MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor got = shard1.get("img2_97x131.png");
            assertArrayEquals(new int[]{256, 2, 3}, got.shape());
            Tensor ref = ForwardCommand.grid(clip, ClipPreprocess.loadResizedBatch(List.of(imgs.resolve("img2_97x131.png")), 64, 96));
            assertTrue(CliFixtures.relErr("grid", got, dev.clipvil.ops.Views.select(ref, 0, 0)) < 1e-5);
        } finally {
            shard1.values().forEach(Tensor::close);
        }

        // an interruption after shard 0: shard 1 is missing from the index (its file may be half there)
        JsonObject cut = index(out);
        cut.getAsJsonArray("shards").remove(1);
        cut.getAsJsonObject("images").remove("img1_300x200.png");
        cut.getAsJsonObject("images").remove("img2_97x131.png");
        Files.writeString(out.resolve("index.json"), cut.toString());
        Files.write(out.resolve("grid-00001.safetensors"), new byte[]{1, 2, 3});
        // mark shard 0 so that we can tell it is kept, not recomputed
        try (Tensor marker = Tensor.of(new float[]{42}, 1)) {
            SafeTensors.write(out.resolve("grid-00000.safetensors"), Map.of("marker", marker));
        }
        r = CliFixtures.run(args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("1 written, 1 kept"), r.out());
        try (var f = SafeTensors.open(out.resolve("grid-00000.safetensors"))) {
            assertEquals(List.of("marker"), f.names());
        }
        try (var f = SafeTensors.open(out.resolve("grid-00001.safetensors"))) {
            assertEquals(List.of("img1_300x200.png", "img2_97x131.png"), f.names());
        }
        assertEquals(3, index(out).getAsJsonObject("images").size());
        assertFalse(Files.exists(out.resolve("index.json.tmp")));

        // other options on the same folder are refused, naming the index
        String[] other = args.clone();
        other[6] = "64x64";
        r = CliFixtures.run(other);
        assertEquals(2, r.code());
        assertTrue(r.err().contains("index.json was written with --size 64x96"), r.err());
    }

    @Test
    void vitGridAtAnotherSizeAndBadSizes() throws IOException {
        Path model = CliFixtures.dir("ExtractGridCommandTest", "openai_vit_small", "config.json", "model.safetensors");
        Path imgs = imageFolder(), out = tmp.resolve("vit");
        CliFixtures.Run r = CliFixtures.run("extract-grid", "--model", model.toString(), "--images", imgs.toString(), "--size", "48x64", "--dtype", "f16",
                "--out", out.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        try (var f = SafeTensors.open(out.resolve("grid-00000.safetensors"))) {
            assertEquals(List.of("img0_640x480.png", "img1_300x200.png", "img2_97x131.png"), f.names());
            assertEquals("[128, 3, 4]", f.info("img1_300x200.png").shapeString().replace(",", ", ").replace("  ", " "));
            assertEquals("F16", f.info("img1_300x200.png").dtype());
        }
        // 40 is not a multiple of the patch (16): the last 8 rows are ignored, as the reference's strided patch conv does
        r = CliFixtures.run("extract-grid", "--model", model.toString(), "--images", imgs.toString(), "--size", "40x64", "--out", tmp.resolve("v2").toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        try (var f = SafeTensors.open(tmp.resolve("v2").resolve("grid-00000.safetensors"))) {
            assertEquals("[128, 2, 4]", f.info("img1_300x200.png").shapeString().replace(",", ", ").replace("  ", " "));
        }
        r = CliFixtures.run("extract-grid", "--model", model.toString(), "--images", imgs.toString(), "--size", "8x64", "--out", tmp.resolve("v4").toString(), "--no-progress");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("at least the patch size 16"), r.err());
        r = CliFixtures.run("extract-grid", "--model", model.toString(), "--images", imgs.toString(), "--size", "48", "--out", tmp.resolve("v3").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--size must be HxW"), r.err());
    }
}
