package dev.clipvil.cli;

import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil forward} on the hf_bert_small BERT folder: text-only and fused outputs within the README's 1e-4, and input errors. */
class BertForwardCommandTest {
    static final double TOL = 1e-4;

    @TempDir
    Path tmp;

    private Path inputs(Map<String, Tensor> exp, String name, String... keys) throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String k : keys) in.put(k, exp.get(k));
        Path p = tmp.resolve(name);
        SafeTensors.write(p, in);
        return p;
    }

    private Map<String, Tensor> forward(Path dir, Path in) throws IOException {
        Path out = tmp.resolve("out.safetensors");
        CliFixtures.Run r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", in.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("last_hidden_state"), r.out());
        return SafeTensors.readAll(out);
    }

    @Test
    void hfBertSmallTextOnlyAndFused() throws IOException {
        Path dir = CliFixtures.dir("BertForwardCommandTest", "hf_bert_small", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try {
            assertTrue(BertForward.isBertFolder(dir));
            Map<String, Tensor> got = forward(dir, inputs(exp, "text.safetensors", "input_ids", "token_type_ids", "attention_mask"));
            assertEquals(Set.of("last_hidden_state", "pooled"), got.keySet());
            for (Tensor t : got.values()) assertEquals(DType.F32, t.dtype());
            worst.put("text last_hidden_state", CliFixtures.relErr("text", got.get("last_hidden_state"), exp.get("text_only_last_hidden_state")));
            worst.put("text pooled", CliFixtures.relErr("text pooled", got.get("pooled"), exp.get("text_only_pooled")));
            got.values().forEach(Tensor::close);

            got = forward(dir, inputs(exp, "fused.safetensors", "input_ids", "token_type_ids", "attention_mask", "visual_embeds"));
            assertArrayEquals(new int[]{5, 27, 32}, got.get("last_hidden_state").shape());
            worst.put("fused last_hidden_state", CliFixtures.relErr("fused", got.get("last_hidden_state"), exp.get("fused_last_hidden_state")));
            worst.put("fused pooled", CliFixtures.relErr("fused pooled", got.get("pooled"), exp.get("fused_pooled")));
            got.values().forEach(Tensor::close);

            // I64 ids give the same result
            try (Tensor ids = Tensor.ofLongs(exp.get("input_ids").toLongArray(), 5, 20)) {
                Path in = tmp.resolve("i64.safetensors");
                SafeTensors.write(in, Map.of("input_ids", ids, "attention_mask", exp.get("attention_mask"), "token_type_ids", exp.get("token_type_ids")));
                got = forward(dir, in);
                worst.put("text last_hidden_state (I64 ids)", CliFixtures.relErr("i64", got.get("last_hidden_state"), exp.get("text_only_last_hidden_state")));
                got.values().forEach(Tensor::close);
            }
        } finally {
            exp.values().forEach(Tensor::close);
        }
        System.out.println("forward hf_bert_small worst max|a-b|/max|b|: " + worst);
        worst.forEach((k, v) -> assertTrue(v <= TOL, k + ": relative error " + v + " > " + TOL));
    }

    @Test
    void defaultsAreZeroTypesAndFullAttention() throws IOException {
        Path dir = CliFixtures.dir("BertForwardCommandTest", "hf_bert_small", "config.json", "model.safetensors");
        try (Tensor ids = Tensor.ofInts(new int[]{2, 10, 11, 3, 2, 12, 13, 3}, 2, 4); Tensor zeros = Tensor.ofInts(new int[8], 2, 4);
             Tensor ones = Tensor.ofInts(new int[]{1, 1, 1, 1, 1, 1, 1, 1}, 2, 4)) {
            Path bare = tmp.resolve("bare.safetensors"), full = tmp.resolve("full.safetensors");
            SafeTensors.write(bare, Map.of("input_ids", ids));
            SafeTensors.write(full, Map.of("input_ids", ids, "token_type_ids", zeros, "attention_mask", ones));
            Map<String, Tensor> a = forward(dir, bare), b = forward(dir, full);
            assertArrayEquals(b.get("last_hidden_state").toFloatArray(), a.get("last_hidden_state").toFloatArray());
            assertArrayEquals(b.get("pooled").toFloatArray(), a.get("pooled").toFloatArray());
            a.values().forEach(Tensor::close);
            b.values().forEach(Tensor::close);
        }
    }

    @Test
    void inputErrorsNameTheKeyAndFile() throws IOException {
        Path dir = CliFixtures.dir("BertForwardCommandTest", "hf_bert_small", "config.json", "model.safetensors");
        Path bad = tmp.resolve("bad.safetensors"), out = tmp.resolve("out.safetensors");
        try (Tensor mask = Tensor.ofInts(new int[]{1, 1}, 1, 2)) {
            SafeTensors.write(bad, Map.of("attention_mask", mask));
        }
        CliFixtures.Run r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains(bad + ": no 'input_ids'"), r.err());

        try (Tensor ids = Tensor.ofInts(new int[]{2, 10, 3}, 1, 3); Tensor vis = Tensor.of(new float[2 * 16], 1, 2, 16)) {
            SafeTensors.write(bad, Map.of("input_ids", ids, "visual_embeds", vis));
        }
        r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains(bad + ": 'visual_embeds' has shape [1, 2, 16], the model expects [1, V, 32]"), r.err());

        try (Tensor ids = Tensor.ofInts(new int[]{2, 10, 3}, 1, 3); Tensor types = Tensor.ofInts(new int[]{0, 0}, 1, 2)) {
            SafeTensors.write(bad, Map.of("input_ids", ids, "token_type_ids", types));
        }
        r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'token_type_ids' has shape [1, 2], expected [1, 3] like 'input_ids'"), r.err());

        try (Tensor ids = Tensor.of(new float[]{2, 10, 3}, 1, 3)) {
            SafeTensors.write(bad, Map.of("input_ids", ids));
        }
        r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'input_ids' must be I32 or I64, got F32"), r.err());

        try (Tensor ids = Tensor.ofInts(new int[]{2, 93, 3}, 1, 3)) {
            SafeTensors.write(bad, Map.of("input_ids", ids));
        }
        r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'input_ids' holds 93 at row 0, position 1, outside [0, 93)"), r.err());

        r = CliFixtures.run("forward", "--model", dir.toString(), "--texts", "a cat", "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("is a BERT folder"), r.err());
        assertFalse(Files.exists(out), "no output written on errors");
    }

    @Test
    void bertFolderDetection() throws IOException {
        Path d = Files.createDirectory(tmp.resolve("m"));
        assertFalse(BertForward.isBertFolder(d), "no config.json");
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"bert\"}");
        assertTrue(BertForward.isBertFolder(d));
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"clip\", \"text_config\": {}, \"vision_config\": {}}");
        assertFalse(BertForward.isBertFolder(d));
        Files.writeString(d.resolve("config.json"), "{\"vocab_size\": 20, \"hidden_size\": 8, \"num_hidden_layers\": 1, \"intermediate_size\": 16}");
        assertTrue(BertForward.isBertFolder(d), "BERT fields, no weights to look at");
        try (Tensor w = Tensor.of(new float[4], 2, 2)) {
            SafeTensors.write(d.resolve("model.safetensors"), Map.of("visual.conv1.weight", w));
            assertFalse(BertForward.isBertFolder(d), "weights without BERT keys");
            SafeTensors.write(d.resolve("model.safetensors"), Map.of("embeddings.word_embeddings.weight", w));
            assertTrue(BertForward.isBertFolder(d));
        }
        Files.writeString(d.resolve("config.json"), "not json");
        assertFalse(BertForward.isBertFolder(d));
        assertFalse(BertForward.isBertFolder(tmp.resolve("missing")));
    }
}
