package dev.clipvil.clip;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokenizer against the reference ids of {@code fixtures/tokenizer/clip_bpe_golden.json} (OpenAI's
 * simple tokenizer on tricky strings), from the shipped merges file and from a Hugging Face folder.
 */
class ClipTokenizerGoldenTest {
    private record Case(String text, int[] ids, String decoded) {}

    private static ClipTokenizer tokenizer;
    private static List<Case> cases;

    @BeforeAll
    static void load() throws IOException {
        Path vocab = SharedData.bpeVocab("ClipTokenizerGoldenTest");
        Path golden = SharedData.require("fixtures/tokenizer/clip_bpe_golden.json", "ClipTokenizerGoldenTest");
        tokenizer = ClipTokenizer.load(vocab);
        JsonObject json = JsonParser.parseString(Files.readString(golden, StandardCharsets.UTF_8)).getAsJsonObject();
        cases = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("cases")) {
            JsonObject c = e.getAsJsonObject();
            JsonArray ids = c.getAsJsonArray("ids");
            int[] a = new int[ids.size()];
            for (int i = 0; i < a.length; i++) a[i] = ids.get(i).getAsInt();
            cases.add(new Case(c.get("text").getAsString(), a, c.get("decoded").getAsString()));
        }
        assertTrue(cases.size() >= 10, "golden has " + cases.size() + " cases");
    }

    @Test
    void vocabularyHasTheReferenceLayout() {
        BpeVocabulary v = tokenizer.vocabulary();
        assertEquals(49408, v.size());
        assertEquals(48894, v.mergeCount());
        assertEquals(49406, v.startId());
        assertEquals(49407, v.endId());
        assertEquals("!", v.token(0));
        assertEquals("!</w>", v.token(256));
        assertEquals("a</w>", v.token(320));
    }

    @Test
    void everyGoldenCaseEncodesAndDecodesExactly() {
        for (Case c : cases) {
            assertArrayEquals(c.ids, tokenizer.encodeWithSpecials(c.text), "ids of " + c.text);
            int[] body = Arrays.copyOfRange(c.ids, 1, c.ids.length - 1);
            assertEquals(c.decoded, tokenizer.decode(body), "decoded " + c.text);
        }
    }

    @Test
    void tokenizePadsWithZerosInI32AndI64() {
        List<String> texts = cases.stream().map(Case::text).toList();
        try (Tensor t32 = tokenizer.tokenize(texts); Tensor t64 = tokenizer.tokenize(texts, 77, false, DType.I64)) {
            assertEquals(DType.I32, t32.dtype());
            assertEquals(DType.I64, t64.dtype());
            assertArrayEquals(new int[] {texts.size(), 77}, t32.shape());
            long[] a = t32.toLongArray(), b = t64.toLongArray();
            assertArrayEquals(a, b);
            for (int i = 0; i < texts.size(); i++) {
                int[] ids = cases.get(i).ids;
                for (int j = 0; j < 77; j++) assertEquals(j < ids.length ? ids[j] : 0, a[i * 77 + j], "row " + i + " col " + j);
            }
        }
    }

    @Test
    void overflowIsAnErrorUnlessTruncated() {
        String longText = "a photo of a dog. ".repeat(20); // 6 tokens per repeat
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> tokenizer.tokenize(List.of("ok", longText), 77, false));
        assertTrue(e.getMessage().contains("text 2 is 122 tokens") && e.getMessage().contains("context length 77")
                && e.getMessage().contains("a photo of a dog."), e.getMessage());
        try (Tensor t = tokenizer.tokenize(List.of(longText), 77, true)) {
            long[] row = t.toLongArray();
            int[] full = tokenizer.encodeWithSpecials(longText);
            for (int j = 0; j < 76; j++) assertEquals(full[j], row[j]);
            assertEquals(49407, row[76]);
        }
        // exactly full fits
        String fits = "a ".repeat(75);
        try (Tensor t = tokenizer.tokenize(List.of(fits), 77, false)) {
            assertEquals(49407, t.toLongArray()[76]);
        }
    }

    @Test
    void huggingFaceFolderGivesTheSameIds(@TempDir Path dir) throws IOException {
        Path hf = SharedData.root().resolve("fixtures/hf_clip_small");
        Path folder = Files.isRegularFile(hf.resolve("vocab.json")) && Files.isRegularFile(hf.resolve("merges.txt")) ? hf : writeHfFolder(dir);
        ClipTokenizer fromHf = ClipTokenizer.load(folder);
        assertEquals(49406, fromHf.vocabulary().startId());
        assertEquals(49407, fromHf.vocabulary().endId());
        for (Case c : cases) assertArrayEquals(c.ids, fromHf.encodeWithSpecials(c.text), "HF ids of " + c.text);
    }

    /**
     * A Hugging Face tokenizer folder as the HF CLIP checkpoints have it: {@code merges.txt} (a version
     * header, then the merges) and {@code vocab.json} (token to id), written from the shipped merges file.
     */
    private static Path writeHfFolder(Path dir) throws IOException {
        String text;
        try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(SharedData.bpeVocab("ClipTokenizerGoldenTest")))) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String[] lines = text.split("\n");
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        for (int i = 1; i <= 48894; i++) merges.append(lines[i]).append('\n');
        Files.writeString(dir.resolve("merges.txt"), merges, StandardCharsets.UTF_8);
        JsonObject vocab = new JsonObject();
        List<String> tokens = tokenizer.vocabulary().tokens();
        // HF writes the ids in its own order; write them in reverse to show the order does not matter
        for (int id = tokens.size() - 1; id >= 0; id--) vocab.addProperty(tokens.get(id), id);
        try (Writer w = Files.newBufferedWriter(dir.resolve("vocab.json"), StandardCharsets.UTF_8)) {
            w.write(vocab.toString());
        }
        return dir;
    }

    @Test
    void randomStringsMatchTheReferenceAlgorithm() throws IOException {
        // ids computed in Python by the reference algorithm with ftfy 6.3.1 and the regex module (see the file's note)
        JsonObject json;
        try (var in = ClipTokenizerGoldenTest.class.getResourceAsStream("tokenizer_random_cases.json")) {
            json = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
        int n = 0;
        for (JsonElement e : json.getAsJsonArray("cases")) {
            JsonArray c = e.getAsJsonArray(), ids = c.get(1).getAsJsonArray();
            int[] want = new int[ids.size()];
            for (int i = 0; i < want.length; i++) want[i] = ids.get(i).getAsInt();
            assertArrayEquals(want, tokenizer.encode(c.get(0).getAsString()), "ids of " + c.get(0));
            n++;
        }
        assertEquals(160, n);
    }
}
