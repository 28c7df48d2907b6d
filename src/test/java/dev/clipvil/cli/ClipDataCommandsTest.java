package dev.clipvil.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static dev.clipvil.cli.CliFixtures.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil tokenize} and {@code clipvil preprocess} executed in-process with captured output. */
class ClipDataCommandsTest {
    @TempDir
    Path dir;


    private static Path shared(String relative) {
        Path p = Path.of(System.getProperty("clipvil.shared", "../shared")).resolve(relative);
        if (!Files.exists(p)) {
            String reason = "no " + p.toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
            System.out.println("SKIPPED ClipDataCommandsTest: " + reason);
            Assumptions.abort(reason);
        }
        return p;
    }

    private static String vocab() {
        return shared("data/bpe_simple_vocab_16e6.txt.gz").toString();
    }

    @Test
    void tokenizePrintsOneLinePerText() {
        CliFixtures.Run r = run("tokenize", "--vocab", vocab(), "a photo of a dog.", "What is the man holding?");
        assertEquals(0, r.code(), r.err());
        String nl = System.lineSeparator();
        assertEquals("49406 320 1125 539 320 1929 269 49407" + nl + "49406 768 533 518 786 5050 286 49407" + nl, r.out());
    }

    @Test
    void tokenizeJsonAndPadding() {
        CliFixtures.Run r = run("tokenize", "--vocab", vocab(), "--json", "--pad", "--context-length", "10", "x", "");
        assertEquals(0, r.code(), r.err());
        JsonArray a = JsonParser.parseString(r.out()).getAsJsonArray();
        assertEquals(2, a.size());
        assertEquals("[49406,343,49407,0,0,0,0,0,0,0]", a.get(0).toString());
        assertEquals("[49406,49407,0,0,0,0,0,0,0,0]", a.get(1).toString());
    }

    @Test
    void tokenizeOverflowFailsUnlessTruncated() {
        CliFixtures.Run r = run("tokenize", "--vocab", vocab(), "--context-length", "5", "a photo of a dog.");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("clipvil: error: text 1 is 8 tokens") && r.err().contains("context length 5"), r.err());
        CliFixtures.Run t = run("tokenize", "--vocab", vocab(), "--context-length", "5", "--truncate", "a photo of a dog.");
        assertEquals(0, t.code(), t.err());
        assertEquals("49406 320 1125 539 49407", t.out().strip());
    }

    @Test
    void tokenizeWithAMissingVocabularyNamesIt() {
        CliFixtures.Run r = run("tokenize", "--vocab", dir.resolve("nope.txt.gz").toString(), "hello");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("nope.txt.gz") && r.err().contains("no such file"), r.err());
    }

    @Test
    void vocabularyLookupOrder() throws IOException {
        Path explicit = Files.writeString(dir.resolve("v.txt"), "x");
        Path env = Files.writeString(dir.resolve("env.txt"), "x");
        assertEquals(explicit, BpeVocabLocator.locate(explicit, Map.of(BpeVocabLocator.ENV, env.toString()), dir, null));
        assertEquals(env, BpeVocabLocator.locate(null, Map.of(BpeVocabLocator.ENV, env.toString()), dir, null));
        Path work = Files.createDirectories(dir.resolve("repo/work"));
        Path data = Files.createDirectories(dir.resolve("repo/shared/data"));
        Path jarDir = Files.createDirectories(dir.resolve("repo/clipvil/target"));
        IOException none = assertThrows(IOException.class, () -> BpeVocabLocator.locate(null, Map.of(), work, jarDir));
        assertTrue(none.getMessage().contains("--vocab") && none.getMessage().contains(BpeVocabLocator.ENV)
                && none.getMessage().contains(data.resolve(BpeVocabLocator.FILE).toString()), none.getMessage());
        Path file = Files.writeString(data.resolve(BpeVocabLocator.FILE), "x");
        assertEquals(file, BpeVocabLocator.locate(null, Map.of(), work, null));           // ../shared from the working dir
        assertEquals(file, BpeVocabLocator.locate(null, Map.of(), dir, jarDir));          // ../../shared from the jar's folder
        assertThrows(IOException.class, () -> BpeVocabLocator.locate(null, Map.of(BpeVocabLocator.ENV, "/no/such/vocab"), work, jarDir));
    }

    private Path writeImage(String name, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, ((x * 9) % 256) << 16 | ((y * 5) % 256) << 8 | 77);
        Path p = dir.resolve(name);
        ImageIO.write(img, "png", p.toFile());
        return p;
    }

    @Test
    void preprocessWritesOneTensorPerImage() throws IOException {
        Path a = writeImage("a.png", 40, 30), b = writeImage("b.png", 17, 29);
        Path out = dir.resolve("pre.safetensors");
        CliFixtures.Run r = run("preprocess", "--size", "16", "--out", out.toString(), a.toString(), b.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("wrote 2 image tensors [3, 16, 16]"), r.out());
        Map<String, Tensor> m = SafeTensors.readAll(out);
        try (Tensor want = dev.clipvil.clip.ClipPreprocess.load(b, 16)) {
            assertEquals(List.of("a.png@16", "b.png@16"), List.copyOf(m.keySet()));
            assertEquals(DType.F32, m.get("b.png@16").dtype());
            assertArrayEquals(want.toFloatArray(), m.get("b.png@16").toFloatArray());
        } finally {
            m.values().forEach(Tensor::close);
        }
        CliFixtures.Run g = run("preprocess", "--resize", "12x20", "--out", out.toString(), a.toString());
        assertEquals(0, g.code(), g.err());
        try (SafeTensorsFile f = SafeTensors.open(out)) {
            assertEquals(List.of("a.png@12x20"), f.names());
            assertArrayEquals(new long[] {3, 12, 20}, f.info("a.png@12x20").shape());
        }
    }

    @Test
    void preprocessMatchesTheFixture() throws IOException {
        Path dirFix = shared("fixtures/preprocess");
        Path out = dir.resolve("fix.safetensors");
        CliFixtures.Run r = run("preprocess", "--size", "64", "--out", out.toString(), dirFix.resolve("img2_97x131.png").toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Tensor> got = SafeTensors.readAll(out), want = SafeTensors.readAll(dirFix.resolve("expected.safetensors"));
        try {
            float[] a = got.get("img2_97x131.png@64").toFloatArray(), b = want.get("img2_97x131.png@64").toFloatArray();
            for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 1e-6);
        } finally {
            got.values().forEach(Tensor::close);
            want.values().forEach(Tensor::close);
        }
    }

    @Test
    void preprocessErrorsNameTheFileAndWriteNothing() throws IOException {
        Path good = writeImage("good.png", 20, 20);
        Path bad = Files.write(dir.resolve("bad.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 1, 2});
        Path out = dir.resolve("never.safetensors");
        CliFixtures.Run r = run("preprocess", "--size", "8", "--out", out.toString(), good.toString(), bad.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("clipvil: error: " + bad), r.err());
        assertFalse(Files.exists(out));
        CliFixtures.Run dup = run("preprocess", "--size", "8", "--out", out.toString(), good.toString(), good.toString());
        assertEquals(2, dup.code());
        assertTrue(dup.err().contains("two images are named good.png"), dup.err());
        CliFixtures.Run both = run("preprocess", "--size", "8", "--resize", "8x8", "--out", out.toString(), good.toString());
        assertEquals(2, both.code());
        CliFixtures.Run badGeom = run("preprocess", "--resize", "8by8", "--out", out.toString(), good.toString());
        assertEquals(2, badGeom.code());
        assertTrue(badGeom.err().contains("--resize must be HxW"), badGeom.err());
    }
}
