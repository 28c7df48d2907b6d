package dev.clipvil.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil finetune-clip}: the reference AdamW trajectory through the command, and the checkpoint reloading. */
class FinetuneClipCommandTest {
    static final double TOL = 1e-4;

    @TempDir
    Path tmp;

    private Path inputs(Path fixture) throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensors.open(fixture.resolve("expected.safetensors"))) {
            in.put("pixel_values", f.tensor("pixel_values"));
            in.put("input_ids", f.tensor("input_ids"));
        }
        Path p = tmp.resolve("in.safetensors");
        try {
            SafeTensors.write(p, in);
        } finally {
            in.values().forEach(Tensor::close);
        }
        return p;
    }

    private static double lossOf(Clip clip, Path inputs) throws IOException {
        Map<String, Tensor> in = SafeTensors.readAll(inputs);
        try (MemoryScope scope = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            return Clip.contrastiveLoss(clip.forward(in.get("pixel_values"), in.get("input_ids")).logitsPerImage()).item();
        } finally {
            in.values().forEach(Tensor::close);
        }
    }

    @Test
    void hfClipSmallAdamWTrajectoryAndReload() throws IOException {
        Path dir = CliFixtures.dir("FinetuneClipCommandTest", "hf_clip_small", "config.json", "model.safetensors", "expected.safetensors", "adamw_trajectory.json");
        JsonArray want = JsonParser.parseString(Files.readString(dir.resolve("adamw_trajectory.json"))).getAsJsonObject().getAsJsonArray("losses");
        Path in = inputs(dir), out = tmp.resolve("tuned"), log = tmp.resolve("log.jsonl");
        int steps = want.size() - 1;
        CliFixtures.Run r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--inputs", in.toString(), "--steps", Integer.toString(steps),
                "--lr", "1e-3", "--betas", "0.9,0.98", "--eps", "1e-6", "--weight-decay", "0.2", "--log", log.toString(), "--out", out.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(log);
        assertEquals(steps, lines.size());
        double worst = 0;
        for (int i = 0; i < steps; i++) {
            JsonObject o = JsonParser.parseString(lines.get(i)).getAsJsonObject();
            assertEquals(i + 1, o.get("step").getAsInt());
            assertEquals(1e-3, o.get("lr").getAsDouble());
            double err = Math.abs(o.get("loss").getAsDouble() - want.get(i).getAsDouble());
            worst = Math.max(worst, err);
            assertTrue(err <= TOL, "loss before step " + (i + 1) + ": " + o.get("loss") + " vs " + want.get(i));
        }
        // the checkpoint is an HF folder again, and gives the reference's loss after the last step
        try (SafeTensorsFile f = SafeTensors.open(out.resolve("model.safetensors"))) {
            assertTrue(f.contains("text_model.embeddings.token_embedding.weight"), "HF key names: " + f.names());
        }
        try (Clip tuned = ClipLoader.load(out)) {
            double after = lossOf(tuned, in);
            double err = Math.abs(after - want.get(steps).getAsDouble());
            worst = Math.max(worst, err);
            assertTrue(err <= TOL, "loss of the reloaded checkpoint: " + after + " vs " + want.get(steps));
        }
        System.out.printf("finetune-clip hf_clip_small AdamW trajectory: worst |loss - reference| %.2e over %d losses (incl. reloaded checkpoint)%n", worst, want.size());
    }

    @Test
    void openAiModelSavesOpenAiKeysWithConfigAndBatchesCycle() throws IOException {
        Path dir = CliFixtures.dir("FinetuneClipCommandTest", "openai_vit_small", "config.json", "model.safetensors", "expected.safetensors");
        Path in = inputs(dir), out = tmp.resolve("tuned"), log = tmp.resolve("log.jsonl");
        CliFixtures.Run r = CliFixtures.run("finetune-clip", "--model", dir.resolve("model.safetensors").toString(), "--inputs", in.toString(), "--steps", "3",
                "--lr", "1e-4", "--batch-size", "2", "--log", log.toString(), "--out", out.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(log);
        assertEquals(3, lines.size());
        // 3 pairs in batches of 2: rows 0-1, then the last pair with the one before it (2 rows), then 0-1 again
        for (String l : lines) assertEquals(2, JsonParser.parseString(l).getAsJsonObject().get("batch_size").getAsInt());
        try (SafeTensorsFile f = SafeTensors.open(out.resolve("model.safetensors"))) {
            assertTrue(f.contains("visual.proj") && f.contains("text_projection"), "OpenAI key names: " + f.names());
        }
        assertTrue(Files.isRegularFile(out.resolve("config.json")));
        try (Clip tuned = ClipLoader.load(out); Clip orig = ClipLoader.load(dir)) {
            assertEquals(orig.config(), tuned.config());
            assertTrue(lossOf(tuned, in) < lossOf(orig, in), "training lowers the loss on its own data");
        }
    }

    @Test
    void resNetTrainsWithFrozenBatchNormStatistics() throws IOException {
        Path dir = CliFixtures.dir("FinetuneClipCommandTest", "openai_rn_small", "config.json", "model.safetensors", "expected.safetensors");
        Path in = inputs(dir), out = tmp.resolve("rn");
        CliFixtures.Run r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--inputs", in.toString(), "--steps", "2", "--lr", "1e-3",
                "--out", out.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readAllLines(out.resolve("train_log.jsonl")).size() == 2);
        Map<String, Tensor> before = SafeTensors.readAll(dir.resolve("model.safetensors")), after = SafeTensors.readAll(out.resolve("model.safetensors"));
        try {
            assertEquals(before.keySet(), after.keySet());
            int stats = 0;
            for (String k : before.keySet()) {
                if (k.endsWith("running_mean") || k.endsWith("running_var") || k.endsWith("num_batches_tracked")) {
                    assertArrayEquals(before.get(k).toDoubleArray(), after.get(k).toDoubleArray(), k + " must stay frozen");
                    stats++;
                }
            }
            assertTrue(stats > 0);
            assertFalse(java.util.Arrays.equals(before.get("visual.layer1.0.conv1.weight").toFloatArray(), after.get("visual.layer1.0.conv1.weight").toFloatArray()),
                    "conv weights train");
        } finally {
            before.values().forEach(Tensor::close);
            after.values().forEach(Tensor::close);
        }
        try (Clip tuned = ClipLoader.load(out)) {
            assertTrue(tuned.config().isResNet());
        }
    }

    @Test
    void csvPairsArePreprocessedTokenizedAndBatched() throws IOException {
        Path dir = CliFixtures.dir("FinetuneClipCommandTest", "openai_vit_small", "config.json", "model.safetensors");
        Path pre = CliFixtures.dir("FinetuneClipCommandTest", "preprocess", "img0_640x480.png", "img1_300x200.png", "img2_97x131.png");
        Path vocab = ForwardCommandTest.vocab("FinetuneClipCommandTest");
        Path data = tmp.resolve("data"), out = tmp.resolve("tuned");
        Files.createDirectories(data.resolve("img"));
        for (String n : new String[]{"img0_640x480.png", "img1_300x200.png", "img2_97x131.png"}) Files.copy(pre.resolve(n), data.resolve("img").resolve(n));
        List<String> captions = List.of("a red, round \"thing\"", "two squares", "a small dot");
        Files.writeString(data.resolve("pairs.csv"), "id,image,caption\r\n1,img/img0_640x480.png,\"a red, round \"\"thing\"\"\"\r\n"
                + "2,img/img1_300x200.png,two squares\n3,img/img2_97x131.png,a small dot\n");
        CliFixtures.Run r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--data", data.resolve("pairs.csv").toString(), "--vocab", vocab.toString(),
                "--steps", "2", "--batch-size", "2", "--lr", "1e-4", "--out", out.toString(), "--no-progress");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(out.resolve("train_log.jsonl"));
        assertEquals(2, lines.size());
        double first = JsonParser.parseString(lines.get(0)).getAsJsonObject().get("loss").getAsDouble();
        List<Path> imgs = List.of(data.resolve("img/img0_640x480.png"), data.resolve("img/img1_300x200.png"));
        try (Clip clip = ClipLoader.load(dir); MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor px = dev.clipvil.clip.ClipPreprocess.loadBatch(imgs, 32);
            Tensor ids = dev.clipvil.clip.ClipTokenizer.load(vocab).tokenize(captions.subList(0, 2));
            double want = Clip.contrastiveLoss(clip.forward(px, ids).logitsPerImage()).item();
            assertEquals(want, first, 1e-5, "the first batch is rows 1-2 of the CSV, preprocessed and tokenized");
        }
        Files.writeString(data.resolve("bad.csv"), "image,text\nimg/x.png,a\n");
        r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--data", data.resolve("bad.csv").toString(), "--vocab", vocab.toString(), "--steps", "1", "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("lacks the column 'caption'"), r.err());
        Files.writeString(data.resolve("bad.csv"), "image,caption\nimg/missing.png,a\nimg/img0_640x480.png,b\n");
        r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--data", data.resolve("bad.csv").toString(), "--vocab", vocab.toString(), "--steps", "1", "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("missing.png"), r.err());
    }

    @Test
    void userErrors() throws IOException {
        Path dir = CliFixtures.dir("FinetuneClipCommandTest", "openai_vit_small", "config.json", "model.safetensors", "expected.safetensors");
        Path in = inputs(dir), out = tmp.resolve("o");
        CliFixtures.Run r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--inputs", in.toString(), "--steps", "1", "--betas", "0.9", "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--betas must be two numbers"), r.err());
        Path onlyIds = tmp.resolve("ids.safetensors");
        try (Tensor ids = Tensor.ofInts(new int[]{49406, 49407, 49406, 49407}, 2, 2)) {
            SafeTensors.write(onlyIds, Map.of("input_ids", ids));
        }
        r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--inputs", onlyIds.toString(), "--steps", "1", "--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("needs both 'pixel_values' and 'input_ids'"), r.err());
        r = CliFixtures.run("finetune-clip", "--model", dir.toString(), "--steps", "1", "--out", out.toString());
        assertEquals(2, r.code());
    }
}
