package dev.clipvil.cli;

import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.data.SyntheticVqa;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every model-running command on a dry-run CUDA device (no GPU: kernels are argument-checked, not
 * run; values read back are zeros), through the ComputeOptions seam: the model, the inputs, BF16
 * autocast (auto on a GPU) and, for finetune-clip, gradients and AdamW states must all live on the
 * device, since an op that gets a tensor of another device throws and the command fails. The files
 * written keep their shapes and F32.
 */
class CommandsOnCudaTest {
    @TempDir
    Path tmp;

    static Device gpu;

    @BeforeAll
    static void device() { gpu = DryRunDevice.install(); }

    private static Path vit() { return CliFixtures.dir("CommandsOnCudaTest", "openai_vit_small", "config.json", "model.safetensors", "expected.safetensors"); }

    private static Path images() { return CliFixtures.dir("CommandsOnCudaTest", "preprocess", "img0_640x480.png", "img1_300x200.png", "img2_97x131.png"); }

    /**
     * Runs a command on the dry-run device and checks it succeeded there in {@code precision}: kernels
     * were launched and, in bf16, operands were lowered to BF16 (autocast), else F32 GEMMs ran.
     */
    private static CliFixtures.Run onGpu(String precision, String... args) {
        int launches = DryRunDevice.launches();
        long casts = DryRunDevice.castBytes(), f32 = DryRunDevice.gemms(DType.F32);
        CliFixtures.Run r = CliFixtures.runOn(gpu, args);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains(args[0] + ": cuda:" + DryRunDevice.INDEX + ", " + precision), r.err());
        assertTrue(DryRunDevice.launches() > launches, "kernels ran on the device");
        if (precision.equals("bf16")) assertTrue(DryRunDevice.castBytes() > casts, "BF16 autocast lowers operands on the device");
        else assertTrue(DryRunDevice.gemms(DType.F32) > f32, "F32 GEMMs");
        return r;
    }

    private static void assertF32(Path file, Map<String, int[]> shapes) throws IOException {
        try (SafeTensorsFile f = SafeTensors.open(file)) {
            assertEquals(shapes.keySet(), Set.copyOf(f.names()));
            for (var e : shapes.entrySet()) {
                try (Tensor t = f.tensor(e.getKey())) {
                    assertEquals(DType.F32, t.dtype(), e.getKey());
                    if (e.getValue() != null) assertArrayEquals(e.getValue(), t.shape(), e.getKey());
                }
            }
        }
    }

    @Test
    void embedRunsItsBatchesOnTheDevice() throws IOException {
        Path vocab = ForwardCommandTest.vocab("CommandsOnCudaTest"), img = images(), texts = tmp.resolve("texts.txt");
        Files.writeString(texts, "a cat\na dog\na red car\n");
        Path out = tmp.resolve("emb.safetensors");
        CliFixtures.Run r = onGpu("bf16", "embed", "--model", vit().toString(), "--vocab", vocab.toString(), "--images", img.toString(),
                "--texts", texts.toString(), "--batch-size", "2", "--no-progress", "--out", out.toString());
        assertTrue(r.out().contains("3 image embeddings") && r.out().contains("3 text embeddings"), r.out());
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put("image_embeds", new int[]{3, 24});
        shapes.put("text_embeds", new int[]{3, 24});
        assertF32(out, shapes);
    }

    @Test
    void zeroshotRunsOnTheDevice() {
        Path vocab = ForwardCommandTest.vocab("CommandsOnCudaTest");
        CliFixtures.Run r = onGpu("bf16", "zeroshot", "--model", vit().toString(), "--vocab", vocab.toString(),
                "--image", images().resolve("img1_300x200.png").toString(), "--labels", "cat,dog");
        assertEquals(2, r.out().strip().split("\n").length, r.out());
    }

    @Test
    void forwardRunsClipAndBertOnTheDeviceInEitherPrecision() throws IOException {
        Path vocab = ForwardCommandTest.vocab("CommandsOnCudaTest"), out = tmp.resolve("out.safetensors");
        for (String precision : List.of("bf16", "f32")) {
            onGpu(precision, "forward", "--model", vit().toString(), "--vocab", vocab.toString(), "--precision", precision,
                    "--images", images().resolve("img0_640x480.png").toString(), images().resolve("img2_97x131.png").toString(),
                    "--texts", "a cat", "a dog", "--out", out.toString());
            Map<String, int[]> shapes = new LinkedHashMap<>();
            shapes.put("image_features", new int[]{2, 24});
            shapes.put("text_features", new int[]{2, 24});
            shapes.put("logits_per_image", new int[]{2, 2});
            shapes.put("vision_last_hidden_state", new int[]{2, 5, 128});
            shapes.put("grid", new int[]{2, 128, 2, 2});
            shapes.put("text_last_hidden_state", new int[]{2, 77, 16});
            assertF32(out, shapes);
        }

        Path rn = CliFixtures.dir("CommandsOnCudaTest", "openai_rn_small", "config.json", "model.safetensors", "expected.safetensors");
        Path in = tmp.resolve("rn-in.safetensors");
        copyKeys(rn.resolve("expected.safetensors"), in, "pixel_values", "input_ids");
        onGpu("bf16", "forward", "--model", rn.toString(), "--inputs", in.toString(), "--out", out.toString());
        try (SafeTensorsFile f = SafeTensors.open(out)) {
            try (Tensor grid = f.tensor("grid")) {
                assertArrayEquals(new int[]{3, 256, 2, 2}, grid.shape());
                assertEquals(DType.F32, grid.dtype());
            }
        }

        Path bert = CliFixtures.dir("CommandsOnCudaTest", "hf_bert_small", "config.json", "model.safetensors", "expected.safetensors");
        Path bertIn = tmp.resolve("bert-in.safetensors");
        copyKeys(bert.resolve("expected.safetensors"), bertIn, "input_ids", "token_type_ids", "attention_mask", "visual_embeds");
        onGpu("bf16", "forward", "--model", bert.toString(), "--inputs", bertIn.toString(), "--out", out.toString());
        Map<String, int[]> shapes = new LinkedHashMap<>();
        shapes.put("last_hidden_state", new int[]{5, 27, 32});
        shapes.put("pooled", new int[]{5, 32});
        assertF32(out, shapes);
    }

    @Test
    void extractGridRunsOnTheDeviceAndStoresTheChosenDtype() throws IOException {
        Path rn = CliFixtures.dir("CommandsOnCudaTest", "openai_rn_small", "config.json", "model.safetensors");
        Path out = tmp.resolve("grids");
        CliFixtures.Run r = onGpu("bf16", "extract-grid", "--model", rn.toString(), "--images", images().toString(), "--size", "64x96",
                "--batch-size", "2", "--dtype", "bf16", "--no-progress", "--out", out.toString());
        assertTrue(r.out().contains("3 images in 1 shards"), r.out());
        try (SafeTensorsFile f = SafeTensors.open(out.resolve("grid-00000.safetensors"))) {
            assertEquals(3, f.names().size());
            for (String n : f.names()) {
                try (Tensor t = f.tensor(n)) {
                    assertEquals(DType.BF16, t.dtype(), n);
                    assertArrayEquals(new int[]{256, 2, 3}, t.shape(), n);
                }
            }
        }
    }

    @Test
    void finetuneClipTrainsOnTheDevice() throws IOException {
        Path in = tmp.resolve("pairs.safetensors");
        copyKeys(vit().resolve("expected.safetensors"), in, "pixel_values", "input_ids");
        Path out = tmp.resolve("tuned");
        CliFixtures.Run r = onGpu("bf16", "finetune-clip", "--model", vit().toString(), "--inputs", in.toString(), "--steps", "2",
                "--batch-size", "2", "--no-progress", "--out", out.toString());
        assertTrue(r.out().contains("for 2 steps"), r.out());
        assertEquals(2, Files.readAllLines(out.resolve("train_log.jsonl")).size());
        try (SafeTensorsFile f = SafeTensors.open(out.resolve("model.safetensors"))) {
            try (Tensor t = f.tensor("visual.proj")) {
                assertEquals(DType.F32, t.dtype(), "master weights stay F32 under bf16");
                assertArrayEquals(new int[]{128, 24}, t.shape());
            }
        }

        // image,caption pairs: read, tokenized and moved a batch at a time
        Path csv = tmp.resolve("pairs.csv");
        Files.writeString(csv, "image,caption\n" + images().resolve("img0_640x480.png") + ",a red thing\n" + images().resolve("img1_300x200.png")
                + ",a blue thing\n" + images().resolve("img2_97x131.png") + ",a green thing\n");
        r = onGpu("f32", "finetune-clip", "--model", vit().toString(), "--data", csv.toString(), "--vocab", ForwardCommandTest.vocab("CommandsOnCudaTest").toString(),
                "--precision", "f32", "--steps", "2", "--batch-size", "2", "--no-progress", "--out", tmp.resolve("tuned-csv").toString());
        assertTrue(r.out().contains("for 2 steps"), r.out());
    }

    @Test
    void predictAnswersOnTheDevice() throws IOException {
        Path data = tmp.resolve("data");
        SyntheticVqa.write(data, 10, 4, 32, 3);
        Path run = tmp.resolve("run");
        CliFixtures.Run t = CliFixtures.run(TrainCommandTest.args(new String[]{"train", "--data", data.toString(), "--out", run.toString(),
                "--epochs", "1", "--device", "cpu"}));
        assertEquals(0, t.code(), t.err());
        CliFixtures.Run r = onGpu("bf16", "predict", "--run", run.toString(), "--image", data.resolve(SyntheticVqa.imageFile("val2014", 11)).toString(),
                "--question", "is there a red circle?", "--top", "2");
        assertEquals(3, r.out().strip().split("\n").length, r.out());
    }

    @Test
    void demoTrainsOnTheDevice() throws IOException {
        Path out = tmp.resolve("demo");
        onGpu("bf16", "demo", "--steps", "3", "--batch-size", "64", "--no-progress", "--out", out.toString());
        assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
    }

    private static void copyKeys(Path from, Path to, String... keys) throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        try (SafeTensorsFile f = SafeTensors.open(from)) {
            for (String k : keys) in.put(k, f.tensor(k));
        }
        try {
            SafeTensors.write(to, in);
        } finally {
            in.values().forEach(Tensor::close);
        }
    }
}
