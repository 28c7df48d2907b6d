package dev.clipvil.vil;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** WordPiece tokenization: HF BertTokenizer golden ids, plus the basic-tokenizer rules on a tiny vocabulary. */
class BertTokenizerTest {
    private static BertTokenizer tiny() {
        return new BertTokenizer(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able",
                "hello", "world", "!", ",", "$", "我", "你", "cafe", "a", "##b", "~"), true);
    }

    @Test
    void goldenIdsFromHfBertTokenizer() throws IOException {
        Path dir = BertFixtures.dir("BertTokenizerTest", "vocab.txt", "tokenizer_golden.json", "expected.safetensors");
        BertTokenizer tok = BertLoader.tokenizer(dir);
        JsonObject golden = JsonParser.parseString(Files.readString(dir.resolve("tokenizer_golden.json"))).getAsJsonObject();
        List<String> texts = new ArrayList<>();
        for (JsonElement c : golden.getAsJsonArray("cases")) {
            JsonObject o = c.getAsJsonObject();
            String text = o.get("text").getAsString();
            texts.add(text);
            List<String> want = new ArrayList<>();
            o.getAsJsonArray("tokens").forEach(e -> want.add(e.getAsString()));
            assertEquals(want, tok.tokenize(text), text);
            int[] ids = new int[o.getAsJsonArray("ids").size()];
            for (int i = 0; i < ids.length; i++) ids[i] = o.getAsJsonArray("ids").get(i).getAsInt();
            assertArrayEquals(ids, tok.encode(text), text);
        }
        // the parity fixture's padded batch is the same texts at max_length 20
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        try {
            Tensor ids = exp.get("input_ids");
            BertEncoding enc = tok.encodeBatch(texts, ids.shape(1));
            assertArrayEquals(toInts(ids), enc.inputIds());
            assertArrayEquals(toInts(exp.get("attention_mask")), enc.attentionMask());
            assertArrayEquals(toInts(exp.get("token_type_ids")), enc.tokenTypeIds());
        } finally {
            exp.values().forEach(Tensor::close);
        }
    }

    private static int[] toInts(Tensor t) {
        long[] l = t.toLongArray();
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) out[i] = (int) l[i];
        return out;
    }

    @Test
    void basicTokenizerRules() {
        BertTokenizer t = tiny();
        assertEquals(List.of("un", "##aff", "##able"), t.tokenize("UNAFFABLE"));
        assertEquals(List.of("hello", ",", "world", "!"), t.tokenize("  Hello,\tworld!\u0000\u200b"));
        assertEquals(List.of("cafe"), t.tokenize("CAFÉ"));
        assertEquals(List.of("我", "你"), t.tokenize("我你"));
        assertEquals(List.of("$", "a", "~", "a", "##b"), t.tokenize("$a~ab"));
        assertEquals(List.of("[UNK]", "hello"), t.tokenize("unaffablex hello"));
        assertEquals(List.of("[UNK]"), t.tokenize("a" + "b".repeat(100)));
        assertEquals(List.of("a", "##b"), t.tokenize("a" + "b"));
        assertEquals(List.of("hello", "[MASK]", "world"), t.tokenize("hello [MASK] world"));
        assertEquals(List.of(), t.tokenize(" \n "));
    }

    @Test
    void encodesPairsWithSegmentsPaddingAndTruncation() {
        BertTokenizer t = tiny();
        BertEncoding e = t.encodePairs(List.of("hello world"), List.of("cafe"), 8);
        assertArrayEquals(new int[]{2, 8, 9, 3, 15, 3, 0, 0}, e.inputIds());
        assertArrayEquals(new int[]{0, 0, 0, 0, 1, 1, 0, 0}, e.tokenTypeIds());
        assertArrayEquals(new int[]{1, 1, 1, 1, 1, 1, 0, 0}, e.attentionMask());
        // longest-first: "hello world hello" (3) vs "cafe a" (2) into 6 - 3 = 3 slots -> 2 + 1
        BertEncoding tr = t.encodePairs(List.of("hello world hello"), List.of("cafe a"), 6);
        assertArrayEquals(new int[]{2, 8, 9, 3, 15, 3}, tr.inputIds());
        BertEncoding single = t.encodeBatch(List.of("hello world hello", "a"), 4);
        assertArrayEquals(new int[]{2, 8, 9, 3, 2, 16, 3, 0}, single.inputIds());
        assertArrayEquals(new int[]{1, 1, 1, 1, 1, 1, 1, 0}, single.attentionMask());
        assertThrows(IllegalArgumentException.class, () -> t.encodeBatch(List.of("a"), 1));
        assertThrows(IllegalArgumentException.class, () -> new BertTokenizer(List.of("[PAD]", "a"), true));
    }
}
