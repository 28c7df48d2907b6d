package dev.clipvil.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import dev.clipvil.clip.Clip;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.ops.Softmax;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil zeroshot} and {@code clipvil embed} on the openai_vit_small fixture, checked against {@code clipvil forward}. */
class ZeroshotEmbedCommandTest {
    @TempDir
    Path tmp;

    private Path model() { return CliFixtures.dir("ZeroshotEmbedCommandTest", "openai_vit_small", "config.json", "model.safetensors"); }

    private Path images() { return CliFixtures.dir("ZeroshotEmbedCommandTest", "preprocess", "img0_640x480.png", "img1_300x200.png", "img2_97x131.png"); }

    /** forward's outputs for these images / texts (caller closes). */
    private Map<String, Tensor> forward(Path vocab, List<String> args) throws IOException {
        Path out = tmp.resolve("fwd.safetensors");
        String[] a = new String[6 + args.size()];
        a[0] = "forward"; a[1] = "--model"; a[2] = model().toString(); a[3] = "--vocab"; a[4] = vocab.toString(); a[5] = "--out=" + out;
        for (int i = 0; i < args.size(); i++) a[6 + i] = args.get(i);
        CliFixtures.Run r = CliFixtures.run(a);
        assertEquals(0, r.code(), r.err());
        return SafeTensors.readAll(out);
    }

    @Test
    void zeroshotRanksLabelsWithForwardsProbabilities() throws IOException {
        Path vocab = ForwardCommandTest.vocab("ZeroshotEmbedCommandTest"), img = images().resolve("img1_300x200.png");
        CliFixtures.Run r = CliFixtures.run("zeroshot", "--model", model().toString(), "--vocab", vocab.toString(), "--image", img.toString(),
                "--labels", "cat, dog,red car", "--template", "a picture of a {}");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(3, lines.length, r.out());
        Map<String, Tensor> f = forward(vocab, List.of("--images", img.toString(), "--texts", "a picture of a cat", "a picture of a dog", "a picture of a red car"));
        try (MemoryScope s = MemoryScope.open()) {
            double[] p = Softmax.softmax(f.get("logits_per_image"), 1).toDoubleArray();
            String[] names = {"cat", "dog", "red car"};
            double prev = 2, sum = 0;
            for (String line : lines) {
                int cut = line.lastIndexOf(' ');
                String label = line.substring(0, cut).strip();
                double prob = Double.parseDouble(line.substring(cut + 1));
                assertTrue(prob <= prev, "ranked: " + r.out());
                prev = prob;
                sum += prob;
                assertEquals(p[List.of(names).indexOf(label)], prob, 1e-4, label);
            }
            assertEquals(1, sum, 1e-3);
        } finally {
            f.values().forEach(Tensor::close);
        }
        r = CliFixtures.run("zeroshot", "--model", model().toString(), "--vocab", vocab.toString(), "--image", img.toString(), "--labels", "a,a");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'a' appears twice"), r.err());
        r = CliFixtures.run("zeroshot", "--model", model().toString(), "--vocab", vocab.toString(), "--image", tmp.resolve("none.png").toString(), "--labels", "a");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("none.png"), r.err());
    }

    @Test
    void embedBatchesSkipsUndecodableImagesAndListsInputs() throws IOException {
        Path vocab = ForwardCommandTest.vocab("ZeroshotEmbedCommandTest"), src = images(), dir = tmp.resolve("imgs");
        Files.createDirectories(dir);
        for (String n : new String[]{"img0_640x480.png", "img1_300x200.png", "img2_97x131.png"}) Files.copy(src.resolve(n), dir.resolve(n));
        Files.write(dir.resolve("broken.png"), new byte[]{1, 2, 3, 4, 5});
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        Path texts = tmp.resolve("texts.txt"), out = tmp.resolve("emb.safetensors");
        Files.writeString(texts, "a cat\n\na dog\na red car\n");
        CliFixtures.Run r = CliFixtures.run("embed", "--model", model().toString(), "--vocab", vocab.toString(), "--images", dir.toString(),
                "--texts", texts.toString(), "--batch-size", "2", "--out", out.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipping " + dir.resolve("broken.png")), r.err());
        assertTrue(r.err().contains("1 of 4 images skipped"), r.err());
        Map<String, Tensor> emb = SafeTensors.readAll(out);
        List<String> kept = List.of(dir.resolve("img0_640x480.png").toString(), dir.resolve("img1_300x200.png").toString(), dir.resolve("img2_97x131.png").toString());
        Map<String, Tensor> f = forward(vocab, List.of("--images", kept.get(0), kept.get(1), kept.get(2), "--texts", "a cat", "a dog", "a red car"));
        try (SafeTensorsFile file = SafeTensors.open(out); MemoryScope s = MemoryScope.open()) {
            JsonArray names = JsonParser.parseString(file.metadata().get("images")).getAsJsonArray();
            assertEquals(3, names.size());
            for (int i = 0; i < 3; i++) assertEquals(kept.get(i), names.get(i).getAsString());
            assertEquals("[\"a cat\",\"a dog\",\"a red car\"]", file.metadata().get("texts"));
            assertArrayEquals(new int[]{3, 24}, emb.get("image_embeds").shape());
            assertArrayEquals(new int[]{3, 24}, emb.get("text_embeds").shape());
            assertTrue(CliFixtures.relErr("image_embeds", emb.get("image_embeds"), Clip.l2Normalize(f.get("image_features"))) < 1e-5);
            assertTrue(CliFixtures.relErr("text_embeds", emb.get("text_embeds"), Clip.l2Normalize(f.get("text_features"))) < 1e-5);
        } finally {
            emb.values().forEach(Tensor::close);
            f.values().forEach(Tensor::close);
        }
        assertFalse(r.out().isEmpty());
        r = CliFixtures.run("embed", "--model", model().toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("give --images and/or --texts"), r.err());
    }
}
