package dev.clipvil.cli;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.VitImageEncoder;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.clip.ClipTokenizer;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil forward} on the reference fixtures (outputs within the README's 1e-4), and its user errors. */
class ForwardCommandTest {
    static final double TOL = 1e-4;

    @TempDir
    Path tmp;

    /** Writes the fixture's inputs (only {@code keys}) to a small file of their own. */
    private Path inputs(Map<String, Tensor> exp, String name, String... keys) throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String k : keys) in.put(k, exp.get(k));
        Path p = tmp.resolve(name);
        SafeTensors.write(p, in);
        return p;
    }

    private static void check(String what, Tensor actual, Tensor expected, Map<String, Double> worst) {
        double e = CliFixtures.relErr(what, actual, expected);
        worst.put(what, e);
        assertTrue(e <= TOL, what + ": relative error " + e + " > " + TOL);
    }

    @Test
    void hfClipSmall() throws IOException {
        Path dir = CliFixtures.dir("ForwardCommandTest", "hf_clip_small", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try (MemoryScope scope = MemoryScope.open()) {
            Path out = tmp.resolve("out.safetensors");
            CliFixtures.Run r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", inputs(exp, "in.safetensors", "pixel_values", "input_ids").toString(), "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            Map<String, Tensor> got = SafeTensors.readAll(out);
            assertEquals(Set.of("image_features", "text_features", "logits_per_image", "vision_last_hidden_state", "text_last_hidden_state", "grid"), got.keySet());
            check("image_embeds", Clip.l2Normalize(got.get("image_features")), exp.get("image_embeds"), worst);
            check("text_embeds", Clip.l2Normalize(got.get("text_features")), exp.get("text_embeds"), worst);
            check("logits_per_image", got.get("logits_per_image"), exp.get("logits_per_image"), worst);
            check("vision_last_hidden_state", got.get("vision_last_hidden_state"), exp.get("vision_last_hidden_state"), worst);
            check("text_last_hidden_state", got.get("text_last_hidden_state"), exp.get("text_last_hidden_state"), worst);
            // grid: the patch tokens after ln_post as [N, C, h, w], as the library computes them
            assertArrayEquals(new int[]{3, 48, 4, 4}, got.get("grid").shape());
            try (Clip clip = ClipLoader.load(dir); GradMode.Guard g = GradMode.noGrad()) {
                Tensor ref = ((VitImageEncoder) clip.visual()).vit().forwardGrid(exp.get("pixel_values"));
                assertTrue(CliFixtures.relErr("grid", got.get("grid"), ref) < 1e-6);
            }
            got.values().forEach(Tensor::close);
        } finally {
            exp.values().forEach(Tensor::close);
        }
        System.out.println("forward hf_clip_small worst max|a-b|/max|b|: " + worst);
    }

    @Test
    void openaiRnSmallGridIsLayer4() throws IOException {
        Path dir = CliFixtures.dir("ForwardCommandTest", "openai_rn_small", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try {
            Path out = tmp.resolve("out.safetensors");
            CliFixtures.Run r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", inputs(exp, "in.safetensors", "pixel_values", "input_ids").toString(), "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            Map<String, Tensor> got = SafeTensors.readAll(out);
            assertEquals(Set.of("image_features", "text_features", "logits_per_image", "text_last_hidden_state", "grid"), got.keySet());
            check("image_features", got.get("image_features"), exp.get("image_features"), worst);
            check("text_features", got.get("text_features"), exp.get("text_features"), worst);
            check("logits_per_image", got.get("logits_per_image"), exp.get("logits_per_image"), worst);
            check("grid (layer4_grid)", got.get("grid"), exp.get("layer4_grid"), worst);
            got.values().forEach(Tensor::close);
        } finally {
            exp.values().forEach(Tensor::close);
        }
        System.out.println("forward openai_rn_small worst max|a-b|/max|b|: " + worst);
    }

    @Test
    void openaiVitSmallImagesOnlyTextsOnlyAndBoth() throws IOException {
        Path dir = CliFixtures.dir("ForwardCommandTest", "openai_vit_small", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try {
            Path out = tmp.resolve("out.safetensors");
            CliFixtures.Run r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", inputs(exp, "both.safetensors", "pixel_values", "input_ids").toString(), "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            Map<String, Tensor> got = SafeTensors.readAll(out);
            check("image_features", got.get("image_features"), exp.get("image_features"), worst);
            check("text_features", got.get("text_features"), exp.get("text_features"), worst);
            check("logits_per_image", got.get("logits_per_image"), exp.get("logits_per_image"), worst);
            got.values().forEach(Tensor::close);

            r = CliFixtures.run("forward", "--model", dir.resolve("model.safetensors").toString(), "--inputs", inputs(exp, "img.safetensors", "pixel_values").toString(), "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            got = SafeTensors.readAll(out);
            assertEquals(Set.of("image_features", "vision_last_hidden_state", "grid"), got.keySet());
            check("image_features (images only)", got.get("image_features"), exp.get("image_features"), worst);
            got.values().forEach(Tensor::close);

            r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", inputs(exp, "txt.safetensors", "input_ids").toString(), "--out", out.toString());
            assertEquals(0, r.code(), r.err());
            got = SafeTensors.readAll(out);
            assertEquals(Set.of("text_features", "text_last_hidden_state"), got.keySet());
            check("text_features (texts only)", got.get("text_features"), exp.get("text_features"), worst);
            got.values().forEach(Tensor::close);
        } finally {
            exp.values().forEach(Tensor::close);
        }
        System.out.println("forward openai_vit_small worst max|a-b|/max|b|: " + worst);
    }

    /** The vocabulary file of ../shared/data (skipping when absent). */
    static Path vocab(String test) {
        Path v = Path.of(System.getProperty("clipvil.shared", "../shared"), "data", "bpe_simple_vocab_16e6.txt.gz");
        if (!java.nio.file.Files.isRegularFile(v)) {
            System.out.println("SKIPPED " + test + ": no " + v.toAbsolutePath().normalize());
            org.junit.jupiter.api.Assumptions.abort("no " + v);
        }
        return v;
    }

    @Test
    void imagesAndTextsArePreprocessedAndTokenizedAsTheLibraryDoes() throws IOException {
        Path dir = CliFixtures.dir("ForwardCommandTest", "openai_vit_small", "config.json", "model.safetensors");
        Path pre = CliFixtures.dir("ForwardCommandTest", "preprocess", "img0_640x480.png", "img2_97x131.png");
        Path vocab = vocab("ForwardCommandTest");
        List<Path> imgs = List.of(pre.resolve("img0_640x480.png"), pre.resolve("img2_97x131.png"));
        List<String> texts = List.of("a photo of a cat.", "a diagram");
        Path in = tmp.resolve("in.safetensors");
        try (Tensor px = ClipPreprocess.loadBatch(imgs, 32); Tensor ids = ClipTokenizer.load(vocab).tokenize(texts)) {
            SafeTensors.write(in, Map.of("pixel_values", px, "input_ids", ids));
        }
        Path a = tmp.resolve("a.safetensors"), b = tmp.resolve("b.safetensors");
        CliFixtures.Run r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", in.toString(), "--out", a.toString());
        assertEquals(0, r.code(), r.err());
        r = CliFixtures.run("forward", "--model", dir.toString(), "--images", imgs.get(0).toString(), imgs.get(1).toString(),
                "--texts", texts.get(0), texts.get(1), "--vocab", vocab.toString(), "--out", b.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, Tensor> ea = SafeTensors.readAll(a), eb = SafeTensors.readAll(b);
        try {
            assertEquals(ea.keySet(), eb.keySet());
            for (String k : ea.keySet()) assertArrayEquals(ea.get(k).toFloatArray(), eb.get(k).toFloatArray(), k);
        } finally {
            ea.values().forEach(Tensor::close);
            eb.values().forEach(Tensor::close);
        }
        try (SafeTensorsFile f = SafeTensors.open(b)) {
            assertTrue(f.metadata().get("texts").contains("a diagram"), f.metadata().toString());
        }
        r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", in.toString(), "--texts", "x", "--vocab", vocab.toString(), "--out", b.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("both --texts and"), r.err());
    }

    @Test
    void userErrorsNameTheFileKeyAndShape() throws IOException {
        Path dir = CliFixtures.dir("ForwardCommandTest", "openai_vit_small", "config.json", "model.safetensors");
        Path out = tmp.resolve("out.safetensors");
        Path bad = tmp.resolve("bad.safetensors");
        try (Tensor px = Tensor.of(new float[3 * 16 * 16], 1, 3, 16, 16)) {
            SafeTensors.write(bad, Map.of("pixel_values", px));
        }
        CliFixtures.Run r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'pixel_values' has shape [1, 3, 16, 16], the model expects [N, 3, 32, 32]"), r.err());

        try (Tensor other = Tensor.of(new float[2], 2)) {
            SafeTensors.write(bad, Map.of("x", other));
        }
        r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("neither 'pixel_values' nor 'input_ids'"), r.err());

        try (Tensor ids = Tensor.ofInts(new int[]{49406, 99999}, 1, 2)) {
            SafeTensors.write(bad, Map.of("input_ids", ids));
        }
        r = CliFixtures.run("forward", "--model", dir.toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("holds id 99999"), r.err());

        r = CliFixtures.run("forward", "--model", tmp.resolve("nope").toString(), "--inputs", bad.toString(), "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("clipvil: error: no such file: "), r.err());

        r = CliFixtures.run("forward", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("--inputs"), r.out());
    }
}
