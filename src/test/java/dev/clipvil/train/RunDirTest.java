package dev.clipvil.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The run folder: new runs, resumes, opening for prediction, copied-in files, and their errors. */
class RunDirTest {
    @TempDir Path tmp;

    private static JsonObject config() {
        JsonObject c = new JsonObject();
        c.addProperty("vocab", "vocab.txt");
        JsonArray answers = new JsonArray();
        answers.add("yes");
        answers.add("no");
        c.add("answers", answers);
        c.addProperty("lr", 1e-4);
        return c;
    }

    @Test
    void newRunWritesTheConfigAndTheLayout() throws IOException {
        Path dir = tmp.resolve("runs/a");
        RunDir run = RunDir.create(dir, config());
        assertEquals(config(), JsonParser.parseString(Files.readString(dir.resolve("run.json"))).getAsJsonObject());
        assertEquals(dir.resolve("checkpoint"), run.checkpointDir());
        assertEquals(dir.resolve("metrics.jsonl"), run.metricsFile());
        assertEquals(dir.resolve("curves.png"), run.curvesFile());
        assertEquals(dir.resolve("vocab.txt"), run.file("vocab.txt"));
        assertEquals(config(), RunDir.open(dir).config());
        RunDir.create(Files.createDirectory(tmp.resolve("empty")), config());
    }

    @Test
    void aNewRunRefusesAFolderThatHoldsAnything() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("photos"));
        Files.writeString(dir.resolve("cat.jpg"), "x");
        RunException e = assertThrows(RunException.class, () -> RunDir.create(dir, config()));
        assertEquals(dir + ": is not empty and is not a run folder (it has no run.json); choose a new or empty folder for the run", e.getMessage());

        Path run = tmp.resolve("run");
        RunDir.create(run, config());
        e = assertThrows(RunException.class, () -> RunDir.create(run, config()));
        assertTrue(e.getMessage().startsWith(run + ": already holds a run (run.json); continue it with --resume " + run), e.getMessage());

        Path file = Files.writeString(tmp.resolve("file"), "x");
        e = assertThrows(RunException.class, () -> RunDir.create(file, config()));
        assertTrue(e.getMessage().contains("is not a folder"), e.getMessage());
    }

    @Test
    void resumeNeedsARunWithACheckpoint() throws IOException {
        Path dir = tmp.resolve("run");
        RunDir run = RunDir.create(dir, config());
        RunException e = assertThrows(RunException.class, () -> RunDir.resume(dir));
        assertEquals(dir, e.path());
        assertTrue(e.getMessage().startsWith(dir + ": holds no checkpoint to resume"), e.getMessage());

        try (Tensor w = Creation.ones(DType.F32, 2)) {
            run.checkpointer().save(Map.of("w", w), Map.of(), TrainState.start(1).toJson());
        }
        assertEquals(config(), RunDir.resume(dir).config());

        Path missing = tmp.resolve("nope");
        e = assertThrows(RunException.class, () -> RunDir.resume(missing));
        assertEquals(missing + ": no such run folder", e.getMessage());
        Path notRun = Files.createDirectory(tmp.resolve("plain"));
        e = assertThrows(RunException.class, () -> RunDir.resume(notRun));
        assertEquals(notRun + ": is not a run folder (it has no run.json)", e.getMessage());
        Files.writeString(notRun.resolve("run.json"), "[1, 2");
        e = assertThrows(RunException.class, () -> RunDir.open(notRun));
        assertTrue(e.getMessage().startsWith(notRun.resolve("run.json") + ": is not valid JSON"), e.getMessage());
    }

    @Test
    void filesAreCopiedInAndLayoutNamesAreRefused() throws IOException {
        RunDir run = RunDir.create(tmp.resolve("run"), config());
        Path vocab = Files.writeString(tmp.resolve("v.txt"), "[PAD]\nhello\n");
        Path copy = run.copyIn(vocab, "vocab.txt");
        assertEquals("[PAD]\nhello\n", Files.readString(copy));
        for (String bad : new String[] {"run.json", "checkpoint", "metrics.jsonl", "../x", "a/b", ".hidden", "checkpoint.tmp-1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run.file(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        RunException e = assertThrows(RunException.class, () -> run.copyIn(tmp.resolve("absent.txt"), "answers.txt"));
        assertTrue(e.getMessage().startsWith(tmp.resolve("absent.txt") + ": cannot copy it into the run"), e.getMessage());
    }
}
