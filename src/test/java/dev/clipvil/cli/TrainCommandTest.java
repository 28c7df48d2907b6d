package dev.clipvil.cli;

import dev.clipvil.data.SyntheticVqa;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** clipvil train / predict through the command line: a tiny run, its files, predict, resume, and the user errors. */
class TrainCommandTest {
    @TempDir
    Path tmp;

    static final String[] TINY = {"--clip", "tiny-vit", "--image-size", "32", "--hidden", "16", "--layers", "1", "--heads", "2",
            "--intermediate", "32", "--batch-size", "10", "--max-text-length", "12", "--no-progress"};

    static String[] args(String[] head, String... tail) {
        String[] out = new String[head.length + TINY.length + tail.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(TINY, 0, out, head.length, TINY.length);
        System.arraycopy(tail, 0, out, head.length + TINY.length, tail.length);
        return out;
    }

    @Test
    void trainThenPredictThenExtendWithResume() throws IOException {
        Path data = tmp.resolve("data");
        SyntheticVqa.write(data, 10, 4, 32, 3);
        Path run = tmp.resolve("run");
        CliFixtures.Run r = CliFixtures.run(args(new String[]{"train", "--data", data.toString(), "--out", run.toString(), "--epochs", "1"}, "--cuda-graphs"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("VQA accuracy"), r.out());
        assertTrue(r.err().contains("--cuda-graphs has no effect on the CPU"), r.err());
        for (String f : new String[]{"run.json", "vocab.txt", "answers.txt", "metrics.jsonl", "curves.png", "summary.json",
                "predictions-val2014.json", "checkpoint/model.safetensors", "checkpoint/state.json"}) {
            assertTrue(Files.exists(run.resolve(f)), f);
        }
        CliFixtures.Run p = CliFixtures.run("predict", "--run", run.toString(), "--image",
                data.resolve(SyntheticVqa.imageFile("val2014", 11)).toString(), "--question", "is there a red circle?", "--top", "2");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("is there a red circle?"), p.out());

        CliFixtures.Run again = CliFixtures.run(args(new String[]{"train", "--data", data.toString(), "--out", run.toString()}));
        assertEquals(2, again.code());
        assertTrue(again.err().contains(run.toString()), again.err());

        CliFixtures.Run more = CliFixtures.run("train", "--resume", run.toString(), "--epochs", "2", "--no-progress");
        assertEquals(0, more.code(), more.err());
        long evals = dev.clipvil.train.MetricsLog.read(run.resolve("metrics.jsonl")).stream()
                .filter(o -> o.get("kind").getAsString().equals("eval")).count();
        assertEquals(2, evals, "one evaluation per epoch after extending the run to 2 epochs");
    }

    @Test
    void userErrorsNameWhatIsWrong() throws IOException {
        Path data = tmp.resolve("data");
        SyntheticVqa.write(data, 4, 2, 32, 3);
        CliFixtures.Run split = CliFixtures.run(args(new String[]{"train", "--data", data.toString(), "--val-split", "test2015",
                "--out", tmp.resolve("r").toString()}));
        assertEquals(2, split.code());
        assertTrue(split.err().contains("test2015") && split.err().contains("val2014"), split.err());

        CliFixtures.Run noData = CliFixtures.run(args(new String[]{"train", "--data", tmp.resolve("nope").toString(), "--out", tmp.resolve("r2").toString()}));
        assertEquals(2, noData.code());
        assertTrue(noData.err().contains("nope"), noData.err());

        CliFixtures.Run device = CliFixtures.run("train", "--device", "tpu", "--out", tmp.resolve("r3").toString());
        assertEquals(2, device.code());
        assertTrue(device.err().contains("tpu"), device.err());

        CliFixtures.Run clip = CliFixtures.run("train", "--data", data.toString(), "--out", tmp.resolve("r4").toString(), "--clip", "ViT-Z/99", "--no-progress");
        assertEquals(2, clip.code());
        assertTrue(clip.err().contains("ViT-Z/99") && clip.err().contains("tiny-vit"), clip.err());

        CliFixtures.Run predict = CliFixtures.run("predict", "--run", tmp.resolve("not-a-run").toString(), "--image",
                data.resolve(SyntheticVqa.imageFile("val2014", 5)).toString(), "--question", "what?");
        assertEquals(2, predict.code());
        assertTrue(predict.err().contains("not-a-run"), predict.err());

        CliFixtures.Run help = CliFixtures.run("train", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("--resume") && help.out().contains("--backbone-optimizer"), help.out());
        String flat = help.out().replaceAll("\\s+", " ");
        assertTrue(flat.contains("--cuda-graphs") && flat.contains("needs --grad-accum 1; dropout draws new masks every replay"), help.out());
        assertFalse(flat.contains("no dropout"), "graphs replay steps with dropout: " + help.out());
    }

    @Test
    void fastModeTrainsOnExtractedGrids() throws IOException {
        Path data = tmp.resolve("data");
        SyntheticVqa.write(data, 10, 4, 32, 3);
        Path model = Files.createDirectories(tmp.resolve("clip"));
        dev.clipvil.clip.ClipConfig config = dev.clipvil.clip.ClipConfig.vit(8, 32, 1, 16, 8, 7, 20, 8, 2, 1).withHeads(2, 2);
        try (dev.clipvil.clip.Clip clip = new dev.clipvil.clip.Clip(config, new dev.clipvil.nn.Init(9))) {
            dev.clipvil.io.SafeTensors.write(model.resolve("model.safetensors"), clip.stateDict());
        }
        Files.writeString(model.resolve("config.json"), "{\"vision_heads\": 2, \"transformer_heads\": 2}");
        for (String split : new String[]{"train2014", "val2014"}) {
            CliFixtures.Run r = CliFixtures.run("extract-grid", "--model", model.toString(), "--images", data.resolve(split).toString(),
                    "--size", "32x32", "--out", tmp.resolve("grid").resolve(split).toString(), "--no-progress");
            assertEquals(0, r.code(), r.err());
        }
        Path run = tmp.resolve("run");
        CliFixtures.Run r = CliFixtures.run("train", "--data", data.toString(), "--grid", tmp.resolve("grid").toString(), "--out", run.toString(),
                "--epochs", "1", "--hidden", "16", "--layers", "1", "--heads", "2", "--intermediate", "32", "--batch-size", "10", "--no-progress");
        assertEquals(0, r.code(), r.err());
        String runJson = Files.readString(run.resolve("run.json"));
        assertTrue(runJson.contains("\"grid_channels\":16") || runJson.contains("\"grid_channels\": 16"), runJson);
        CliFixtures.Run p = CliFixtures.run("predict", "--run", run.toString(), "--image",
                data.resolve(SyntheticVqa.imageFile("val2014", 11)).toString(), "--question", "what?");
        assertEquals(2, p.code());
        assertTrue(p.err().contains("grid features"), p.err());
    }

    @Test
    void theFusionEncoderStartsFromAnHfBertFolder() throws IOException {
        Path bert = CliFixtures.dir("TrainCommandTest", "hf_bert_small", "config.json", "model.safetensors", "vocab.txt");
        Path data = tmp.resolve("data");
        SyntheticVqa.write(data, 10, 4, 32, 3);
        Path run = tmp.resolve("run");
        CliFixtures.Run r = CliFixtures.run("train", "--data", data.toString(), "--bert", bert.toString(), "--clip", "tiny-vit", "--image-size", "32",
                "--epochs", "1", "--batch-size", "10", "--max-text-length", "12", "--no-progress", "--out", run.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(Files.readAllLines(bert.resolve("vocab.txt")).stream().filter(l -> !l.isBlank()).toList(),
                Files.readAllLines(run.resolve("vocab.txt")));
        CliFixtures.Run noVocab = CliFixtures.run("train", "--data", data.toString(), "--bert", data.toString(), "--out", tmp.resolve("r2").toString());
        assertEquals(2, noVocab.code());
        assertTrue(noVocab.err().contains("vocab.txt"), noVocab.err());
    }

    @Test
    void precisionBf16AndTf32AreAcceptedAndAnUnknownOneIsAnError() throws IOException {
        Path data = tmp.resolve("data");
        SyntheticVqa.write(data, 10, 4, 32, 3);
        Path run = tmp.resolve("run");
        CliFixtures.Run r = CliFixtures.run(args(new String[]{"train", "--data", data.toString(), "--out", run.toString(), "--epochs", "1",
                "--precision", "bf16"}));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("train: cpu, bf16") && r.err().contains("emulated"), r.err());
        assertTrue(Files.readString(run.resolve("run.json")).replace(" ", "").contains("\"precision\":\"bf16\""));

        CliFixtures.Run resumed = CliFixtures.run("train", "--resume", run.toString(), "--epochs", "2", "--precision", "f32", "--no-progress");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("--precision f32 ignored") && resumed.err().contains("train: cpu, bf16"), resumed.err());

        CliFixtures.Run tf32 = CliFixtures.run(args(new String[]{"train", "--data", data.toString(), "--out", tmp.resolve("tf32").toString(),
                "--epochs", "1", "--precision", "tf32", "--conv", "cudnn"}));
        assertEquals(0, tf32.code(), tf32.err());
        assertTrue(tf32.err().contains("train: cpu, tf32") && tf32.err().contains("tf32 has no effect on the CPU"), tf32.err());
        assertTrue(tf32.err().contains("--conv cudnn has no effect on the CPU"), tf32.err());
        assertEquals(dev.clipvil.backend.cuda.ConvImpl.CLIPVIL, dev.clipvil.backend.cuda.ConvImpl.current(), "the run puts the conv switch back");

        CliFixtures.Run badConv = CliFixtures.run(args(new String[]{"train", "--data", data.toString(), "--out", tmp.resolve("r3").toString(),
                "--conv", "winograd"}));
        assertEquals(2, badConv.code());
        assertTrue(badConv.err().contains("--conv") && badConv.err().contains("winograd"), badConv.err());

        CliFixtures.Run fp8 = CliFixtures.run(args(new String[]{"train", "--data", data.toString(), "--out", tmp.resolve("r2").toString(),
                "--precision", "fp8"}));
        assertEquals(2, fp8.code());
        assertTrue(fp8.err().contains("fp8") && fp8.err().contains("--precision"), fp8.err());
    }
}
