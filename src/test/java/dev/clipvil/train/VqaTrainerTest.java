package dev.clipvil.train;

import com.google.gson.JsonObject;
import dev.clipvil.data.SyntheticVqa;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VQA training loop on a tiny synthetic set and a tiny model: resume, Ctrl-C, accumulation, frozen towers, bad input. */
class VqaTrainerTest {
    @TempDir
    Path tmp;

    static VqaTrainConfig tiny(Path data, int epochs, int gradAccum, String backbone) {
        return new VqaTrainConfig(data.toString(), "train2014", "val2014", null, false, "tiny-vit", 32, null, 16, 1, 2, 32, 0.1, false,
                12, 100, epochs, 10, gradAccum, 2e-3, 0.01, 0.2, 5.0, backbone, 1e-2, 0.9, 0, 3, 16, 1, 1);
    }

    Path data() throws IOException {
        Path d = tmp.resolve("data");
        SyntheticVqa.write(d, 12, 4, 32, 5);
        return d;
    }

    static VqaTrainer.Options quiet(long stopAfter) {
        return new VqaTrainer.Options(false, null, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), stopAfter);
    }

    static Map<String, float[]> weights(Path run) throws IOException {
        Map<String, float[]> out = new java.util.TreeMap<>();
        for (var e : SafeTensors.readAll(run.resolve("checkpoint/model.safetensors")).entrySet()) {
            try (Tensor t = e.getValue()) {
                out.put(e.getKey(), t.toFloatArray());
            }
        }
        return out;
    }

    static List<String> trainLosses(Path run) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonObject r : MetricsLog.read(run.resolve("metrics.jsonl"))) {
            if (r.get("kind").getAsString().equals("train")) out.add(r.get("step") + ":" + r.get("loss"));
        }
        return out;
    }

    static List<String> evals(Path run) throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonObject r : MetricsLog.read(run.resolve("metrics.jsonl"))) {
            if (r.get("kind").getAsString().equals("eval")) out.add(r.get("epoch") + ":" + r.get("accuracy"));
        }
        return out;
    }

    @Test
    void resumeAfterAnInterruptionEqualsAnUninterruptedRun() throws IOException {
        Path data = data();
        VqaTrainer.Result full = VqaTrainer.start(tiny(data, 2, 1, "sgd"), tmp.resolve("full"), quiet(0));
        assertFalse(full.stopped());
        // stopped mid-way through epoch 1, resumed; then stopped again right after the first eval, resumed
        VqaTrainer.Result part = VqaTrainer.start(tiny(data, 2, 1, "sgd"), tmp.resolve("part"), quiet(3));
        assertTrue(part.stopped());
        assertEquals(3, part.steps());
        int perEpoch = (int) (full.steps() / 2);
        VqaTrainer.Result mid = VqaTrainer.resume(tmp.resolve("part"), 0, quiet(perEpoch));
        assertTrue(mid.stopped());
        VqaTrainer.Result done = VqaTrainer.resume(tmp.resolve("part"), 0, quiet(0));
        assertFalse(done.stopped());
        assertEquals(full.steps(), done.steps());
        Map<String, float[]> a = weights(tmp.resolve("full")), b = weights(tmp.resolve("part"));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k), b.get(k), 0f, k);
        assertEquals(trainLosses(tmp.resolve("full")), trainLosses(tmp.resolve("part")));
        // the stop on epoch 1's last batch still evaluated epoch 1: both runs logged the same evaluations
        assertEquals(evals(tmp.resolve("full")), evals(tmp.resolve("part")));
        assertEquals(full.lastScore().overall(), done.lastScore().overall(), 0);
        assertTrue(Files.isRegularFile(tmp.resolve("part/curves.png")));
        assertTrue(Files.isRegularFile(tmp.resolve("part/summary.json")));
        assertTrue(Files.isRegularFile(tmp.resolve("part/predictions-val2014.json")));
    }

    @Test
    void aStopSignalSavesAndAcknowledges() throws IOException {
        Path data = data();
        try (StopSignal stop = StopSignal.detached(Duration.ofSeconds(5))) {
            stop.requestStop();
            VqaTrainer.Result r = VqaTrainer.start(tiny(data, 2, 1, "sgd"), tmp.resolve("run"),
                    new VqaTrainer.Options(false, stop, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), 0));
            assertTrue(r.stopped());
            assertEquals(1, r.steps());
            Checkpoint ck = new Checkpointer(tmp.resolve("run")).load();
            try (ck) {
                assertEquals(1, ck.trainState().step());
                assertEquals(0, ck.trainState().epoch());
                assertEquals(1, ck.trainState().batch());
                assertTrue(ck.optimizers().containsKey("fusion"));
                assertTrue(ck.optimizers().containsKey("backbone"));
            }
        }
    }

    @Test
    void gradientAccumulationTakesOneStepPerGroupOfBatches() throws IOException {
        Path data = data();
        VqaTrainer.Result one = VqaTrainer.start(tiny(data, 1, 1, "adamw"), tmp.resolve("a1"), quiet(0));
        VqaTrainer.Result two = VqaTrainer.start(tiny(data, 1, 2, "adamw"), tmp.resolve("a2"), quiet(0));
        assertEquals((one.steps() + 1) / 2, two.steps());
    }

    @Test
    void aFrozenBackboneDoesNotMove() throws IOException {
        Path data = data();
        VqaTrainer.start(tiny(data, 1, 1, "frozen"), tmp.resolve("frozen"), quiet(0));
        Map<String, float[]> trained = weights(tmp.resolve("frozen"));
        // a fresh build with the same seed has the same tower weights
        try (TrainedVqa fresh = TrainedVqa.load(tmp.resolve("frozen"))) {
            assertTrue(fresh.answers().size() > 0);
        }
        VqaTrainer.Result stopAtOnce = VqaTrainer.start(tiny(data, 1, 1, "frozen"), tmp.resolve("frozen0"), quiet(1));
        assertTrue(stopAtOnce.stopped());
        Map<String, float[]> early = weights(tmp.resolve("frozen0"));
        int visual = 0;
        for (String k : trained.keySet()) {
            if (!k.startsWith("visual.")) continue;
            visual++;
            assertArrayEquals(early.get(k), trained.get(k), 0f, k);
        }
        assertTrue(visual > 0);
        assertFalse(java.util.Arrays.equals(early.get("vqa_head.logit_fc.3.weight"), trained.get("vqa_head.logit_fc.3.weight")));
    }

    @Test
    void predictAnswersFromTheLastCheckpoint() throws IOException {
        Path data = data();
        VqaTrainer.start(tiny(data, 1, 1, "sgd"), tmp.resolve("run"), quiet(0));
        try (TrainedVqa m = TrainedVqa.load(tmp.resolve("run"))) {
            List<VqaPredict.Scored> top = m.ask(data.resolve(SyntheticVqa.imageFile("val2014", 13)), "what color is the circle?", 3);
            assertEquals(Math.min(3, m.answers().size()), top.size());
            for (int i = 1; i < top.size(); i++) assertTrue(top.get(i - 1).score() >= top.get(i).score());
            assertTrue(m.answers().contains(top.get(0).answer()));
        }
    }

    @Test
    void badInputsAreClearErrors() throws IOException {
        Path data = data();
        VqaTrainConfig c = tiny(data, 1, 1, "sgd");
        VqaTrainConfig unknownSplit = new VqaTrainConfig(c.data(), "train2015", c.valSplit(), null, false, c.clip(), c.imageSize(), null,
                16, 1, 2, 32, 0.1, false, 12, 100, 1, 10, 1, 2e-3, 0.01, 0.2, 5.0, "sgd", 1e-2, 0.9, 0, 3, 16, 1, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VqaTrainer.start(unknownSplit, tmp.resolve("r1"), quiet(0)));
        assertTrue(e.getMessage().contains("train2015") && e.getMessage().contains("train2014"), e.getMessage());

        Files.delete(data.resolve(SyntheticVqa.imageFile("train2014", 2)));
        IOException missing = assertThrows(IOException.class, () -> VqaTrainer.start(c, tmp.resolve("r2"), quiet(0)));
        assertTrue(missing.getMessage().contains("COCO_train2014_000000000002.jpg"), missing.getMessage());

        VqaTrainConfig skip = new VqaTrainConfig(c.data(), "train2014", c.valSplit(), null, true, c.clip(), c.imageSize(), null,
                16, 1, 2, 32, 0.1, false, 12, 100, 1, 10, 1, 2e-3, 0.01, 0.2, 5.0, "sgd", 1e-2, 0.9, 0, 3, 16, 1, 1);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        VqaTrainer.start(skip, tmp.resolve("r3"), new VqaTrainer.Options(false, null, new PrintStream(log, true, StandardCharsets.UTF_8), 0));
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("skipped 5 questions") && text.contains("COCO_train2014_000000000002.jpg"), text);

        Files.writeString(data.resolve(SyntheticVqa.questionsFile("val2014")), "{\"questions\": [");
        IOException malformed = assertThrows(IOException.class, () -> VqaTrainer.start(skip, tmp.resolve("r4"), quiet(0)));
        assertTrue(malformed.getMessage().contains(SyntheticVqa.questionsFile("val2014")), malformed.getMessage());

        IllegalArgumentException notRun = assertThrows(IllegalArgumentException.class, () -> {
            try {
                VqaTrainer.resume(tmp.resolve("nothing-here"), 0, quiet(0));
            } catch (IOException io) {
                throw new IllegalArgumentException(io.getMessage(), io);
            }
        });
        assertTrue(notRun.getMessage().contains("nothing-here"), notRun.getMessage());

        assertThrows(IllegalArgumentException.class, () -> new VqaTrainConfig(c.data(), "a", "b", null, false, "tiny-vit", 0, null,
                16, 1, 3, 32, 0.1, false, 12, 100, 1, 10, 1, 2e-3, 0.01, 0.2, 5.0, "sgd", 1e-2, 0.9, 0, 3, 16, 1, 1),
                "hidden 16 is not a multiple of 3 heads");
        IllegalArgumentException opt = assertThrows(IllegalArgumentException.class, () -> new VqaTrainConfig(c.data(), "a", "b", null, false,
                "tiny-vit", 0, null, 16, 1, 2, 32, 0.1, false, 12, 100, 1, 10, 1, 2e-3, 0.01, 0.2, 5.0, "lbfgs", 1e-2, 0.9, 0, 3, 16, 1, 1));
        assertTrue(opt.getMessage().contains("lbfgs"), opt.getMessage());
    }

    @Test
    void aTrainingRunOnACudaDeviceKeepsEveryTensorThere() throws IOException {
        // a dry-run CUDA device (no GPU: kernels are argument-checked, not run): the whole loop -- model on the
        // device, batches moved, masks and sampled indices built on the host and placed, optimizer states,
        // evaluation, checkpoint -- must run without a tensor of another device reaching an op
        dev.clipvil.tensor.Device gpu = dev.clipvil.backend.cuda.DryRunDevice.install();
        Path data = data();
        VqaTrainer.Result r = VqaTrainer.start(tiny(data, 1, 2, "sgd"), tmp.resolve("gpu"),
                new VqaTrainer.Options(false, null, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), 0, gpu));
        assertFalse(r.stopped());
        assertTrue(Files.isRegularFile(tmp.resolve("gpu/checkpoint/model.safetensors")));
    }
    @Test
    void cudaGraphsCaptureTheStepWithDropoutAndReplayItOnACudaDevice() throws IOException {
        // a dry-run device: capture fails on any host read, upload, synchronisation or CPU fallback in the step,
        // and on a dropout mask or token subset whose seed would be frozen into the graph
        dev.clipvil.tensor.Device gpu = dev.clipvil.backend.cuda.DryRunDevice.install();
        Path data = data();
        JsonObject sampled = tiny(data, 2, 1, "adamw").toJson();
        sampled.addProperty("sampleTokens", 5); // fewer than the grid's cells: a new subset drawn on the device every step
        VqaTrainConfig c = VqaTrainConfig.fromJson(sampled);
        assertTrue(c.dropout() > 0, "hidden, attention and visual-token dropout on");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(out, true, StandardCharsets.UTF_8);
        VqaTrainer.Result r = VqaTrainer.start(c, tmp.resolve("graphs"), new VqaTrainer.Options(false, null, log, 0, gpu, true));
        assertFalse(r.stopped());
        String text = out.toString(StandardCharsets.UTF_8);
        System.out.println("cuda graphs on a dry-run device: " + text.lines().filter(l -> l.contains("CUDA graph")).toList());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("CUDA graph captured \\(\\d+ nodes, \\d+ optimizer updates, (\\d+) dropout masks").matcher(text);
        assertTrue(m.find(), text);
        assertTrue(Integer.parseInt(m.group(1)) > 0, "the captured step's dropout masks read their seeds on the device: " + m.group());
        m = java.util.regex.Pattern.compile("CUDA graphs: (\\d+) steps replayed").matcher(text);
        assertTrue(m.find() && Integer.parseInt(m.group(1)) >= 2, text);
        assertEquals(r.steps(), trainLosses(tmp.resolve("graphs")).size());

        // the same run eagerly: the checkpoint's dropout and token-sampling counters agree (replays drew the eager seeds)
        VqaTrainer.Result eager = VqaTrainer.start(c, tmp.resolve("eager"), new VqaTrainer.Options(false, null, log, 0, gpu, false));
        assertEquals(eager.steps(), r.steps());
        JsonObject rng = rng(tmp.resolve("graphs"));
        assertEquals(rng(tmp.resolve("eager")), rng);
        assertTrue(rng.keySet().stream().anyMatch(k -> k.startsWith("dropout:") && rng.get(k).getAsLong() > 0), rng.toString());
        assertEquals(r.steps(), rng.get("visual_tokens:calls").getAsLong(), "one token subset per step, replays included: " + rng);

        JsonObject j = c.toJson();
        j.addProperty("gradAccum", 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VqaTrainer.start(VqaTrainConfig.fromJson(j), tmp.resolve("accum"),
                new VqaTrainer.Options(false, null, log, 0, gpu, true)));
        assertTrue(e.getMessage().contains("--grad-accum 1"), e.getMessage());
    }

    static JsonObject rng(Path run) throws IOException {
        return com.google.gson.JsonParser.parseString(Files.readString(run.resolve("checkpoint/state.json"))).getAsJsonObject().getAsJsonObject("rng");
    }

    @Test
    void towerPretrainingRunsFirstIsRecordedAndIsNotRepeatedOnResume() throws IOException {
        Path data = data();
        JsonObject j = tiny(data, 2, 1, "auto").toJson();
        j.addProperty("towerPretrainEpochs", 3);
        j.addProperty("gridPool", -1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(out, true, StandardCharsets.UTF_8);
        VqaTrainer.Result first = VqaTrainer.start(VqaTrainConfig.fromJson(j), tmp.resolve("pre"), new VqaTrainer.Options(false, null, log, 3));
        assertTrue(first.stopped());
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("tower pre-training epoch 3/3"), text);
        JsonObject saved = RunDir.open(tmp.resolve("pre")).config().getAsJsonObject("config");
        assertEquals("frozen", saved.get("backboneOptimizer").getAsString(), "auto: frozen after pre-training");
        assertEquals(2, saved.get("gridPool").getAsInt(), "auto: a built-in tower's grid is pooled to 2x2");
        assertEquals(3, saved.get("towerPretrainEpochs").getAsInt());
        com.google.gson.JsonArray epochs = com.google.gson.JsonParser.parseString(Files.readString(tmp.resolve("pre/tower-pretrain.json"))).getAsJsonArray();
        assertEquals(3, epochs.size());
        double l0 = epochs.get(0).getAsJsonObject().get("loss").getAsDouble(), l2 = epochs.get(2).getAsJsonObject().get("loss").getAsDouble();
        assertTrue(Double.isFinite(l0) && l2 < l0, "pre-training loss should fall: " + epochs);

        // the tower the fusion trained over is the pre-trained one, not the seed's random one
        JsonObject none = tiny(data, 1, 1, "frozen").toJson();
        VqaTrainer.start(VqaTrainConfig.fromJson(none), tmp.resolve("none"), quiet(1));
        Map<String, float[]> a = weights(tmp.resolve("pre")), b = weights(tmp.resolve("none"));
        assertFalse(java.util.Arrays.equals(a.get("visual.conv1.weight"), b.get("visual.conv1.weight")));

        out.reset();
        VqaTrainer.Result resumed = VqaTrainer.resume(tmp.resolve("pre"), 0, new VqaTrainer.Options(false, null, log, 0));
        assertFalse(resumed.stopped());
        assertFalse(out.toString(StandardCharsets.UTF_8).contains("pre-training"), "a resumed run starts from its checkpoint's tower");
        Map<String, float[]> after = weights(tmp.resolve("pre"));
        assertArrayEquals(a.get("visual.conv1.weight"), after.get("visual.conv1.weight"), "the pre-trained tower stays frozen");
    }

    @Test
    void towerPretrainingNeedsSceneAnnotations() throws IOException {
        Path data = data();
        Files.delete(data.resolve(SyntheticVqa.SCENES));
        JsonObject j = tiny(data, 1, 1, "auto").toJson();
        j.addProperty("towerPretrainEpochs", 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VqaTrainer.start(VqaTrainConfig.fromJson(j), tmp.resolve("r"), quiet(0)));
        assertTrue(e.getMessage().contains("scenes.json") && e.getMessage().contains("--tower-pretrain-epochs"), e.getMessage());
        j.addProperty("towerPretrainEpochs", -1);
        j.addProperty("gridPool", -1);
        VqaTrainer.start(VqaTrainConfig.fromJson(j), tmp.resolve("auto"), quiet(1));
        JsonObject saved = RunDir.open(tmp.resolve("auto")).config().getAsJsonObject("config");
        assertEquals(0, saved.get("towerPretrainEpochs").getAsInt(), "auto: no annotations, no pre-training");
        assertEquals("adamw", saved.get("backboneOptimizer").getAsString());
        assertEquals(0, saved.get("gridPool").getAsInt(), "auto: not a synthetic dataset, the whole grid");
    }

    static VqaTrainConfig withPrecision(VqaTrainConfig c, String precision) {
        JsonObject j = c.toJson();
        j.addProperty("precision", precision);
        return VqaTrainConfig.fromJson(j);
    }

    @Test
    void tf32IsF32OnTheCpuAndTheProcessWideSwitchIsPutBack() throws IOException {
        Path data = data();
        VqaTrainConfig f32 = tiny(data, 1, 1, "adamw");
        assertFalse(dev.clipvil.backend.cuda.CudaBackend.tf32Allowed(), "tests run with TF32 off");
        VqaTrainer.start(f32, tmp.resolve("f32"), quiet(3));
        VqaTrainer.start(withPrecision(f32, "tf32"), tmp.resolve("tf32"), quiet(3));
        assertEquals(trainLosses(tmp.resolve("f32")), trainLosses(tmp.resolve("tf32")), "the CPU has no TF32: the same F32 arithmetic");
        assertEquals("tf32", RunDir.open(tmp.resolve("tf32")).config().getAsJsonObject("config").get("precision").getAsString());
        assertFalse(dev.clipvil.backend.cuda.CudaBackend.tf32Allowed(), "the run must put the switch back");
        dev.clipvil.tensor.Device gpu = dev.clipvil.backend.cuda.DryRunDevice.install();
        VqaTrainer.start(withPrecision(tiny(data, 1, 1, "sgd"), "tf32"), tmp.resolve("tf32-gpu"),
                new VqaTrainer.Options(false, null, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), 2, gpu));
        assertFalse(dev.clipvil.backend.cuda.CudaBackend.tf32Allowed(), "also after a run on a CUDA device");
    }

    static VqaTrainConfig bf16(VqaTrainConfig c) { return withPrecision(c, "bf16"); }

    @Test
    void bf16AutocastTrainsCloseToF32AndIsRecordedInRunJson() throws IOException {
        Path data = data();
        VqaTrainConfig f32 = tiny(data, 1, 1, "adamw");
        assertEquals("f32", f32.precision());
        VqaTrainer.start(f32, tmp.resolve("f32"), quiet(4));
        VqaTrainer.start(bf16(f32), tmp.resolve("bf16"), quiet(4));
        List<String> a = trainLosses(tmp.resolve("f32")), b = trainLosses(tmp.resolve("bf16"));
        assertEquals(4, b.size(), b.toString());
        System.out.println("autocast VQA training losses f32 " + a + " vs bf16 " + b);
        for (int i = 0; i < b.size(); i++) {
            double lf = Double.parseDouble(a.get(i).split(":")[1]), lb = Double.parseDouble(b.get(i).split(":")[1]);
            assertTrue(Double.isFinite(lb), b.toString());
            assertEquals(lf, lb, 0.05 * Math.abs(lf) + 1e-3, "step " + (i + 1) + ": f32 " + a + " vs bf16 " + b);
        }
        JsonObject saved = RunDir.open(tmp.resolve("bf16")).config().getAsJsonObject("config");
        assertEquals("bf16", saved.get("precision").getAsString());
        saved.remove("precision");
        assertEquals("f32", VqaTrainConfig.fromJson(saved).precision(), "a run.json from before --precision means f32");
        saved.addProperty("precision", "fp8");
        Throwable bad = assertThrows(RuntimeException.class, () -> VqaTrainConfig.fromJson(saved)); // Gson wraps the record's exception
        while (!(bad instanceof IllegalArgumentException) && bad.getCause() != null) bad = bad.getCause();
        assertTrue(bad instanceof IllegalArgumentException && bad.getMessage().contains("fp8"), String.valueOf(bad));
        // resume keeps the run's precision
        VqaTrainer.Result r = VqaTrainer.resume(tmp.resolve("bf16"), 0, quiet(0));
        assertFalse(r.stopped());
        assertEquals("bf16", RunDir.open(tmp.resolve("bf16")).config().getAsJsonObject("config").get("precision").getAsString());
    }

    @Test
    void aBf16RunOnACudaDeviceIssuesBf16Gemms() throws IOException {
        dev.clipvil.tensor.Device gpu = dev.clipvil.backend.cuda.DryRunDevice.install();
        Path data = data();
        long before = dev.clipvil.backend.cuda.DryRunDevice.gemms(dev.clipvil.tensor.DType.BF16);
        VqaTrainer.Result r = VqaTrainer.start(bf16(tiny(data, 1, 1, "adamw")), tmp.resolve("gpu"),
                new VqaTrainer.Options(false, null, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), 0, gpu));
        assertFalse(r.stopped());
        assertTrue(dev.clipvil.backend.cuda.DryRunDevice.gemms(dev.clipvil.tensor.DType.BF16) > before, "the GEMMs ran in BF16");
    }
}
