package dev.clipvil.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil make-synthetic} end to end: the summary line, the refusal, and {@code clipvil eval} scoring its own answers. */
class MakeSyntheticCommandTest {
    @TempDir
    Path dir;

    @Test
    void generatesAndEvalScoresTheMajorityAnswersAtFullAccuracy() throws IOException {
        Path out = dir.resolve("ds");
        CliFixtures.Run r = CliFixtures.run("make-synthetic", "--out", out.toString(), "--train", "8", "--val", "12", "--size", "32", "--seed", "5");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("make-synthetic: 8 train + 12 val images (32x32), 100 questions, seed 5"), r.out());
        assertEquals(1, r.out().strip().lines().count());

        Path ann = out.resolve("v2_mscoco_val2014_annotations.json");
        JsonArray preds = new JsonArray();
        for (JsonElement e : JsonParser.parseString(Files.readString(ann)).getAsJsonObject().getAsJsonArray("annotations")) {
            JsonObject p = new JsonObject();
            p.add("question_id", e.getAsJsonObject().get("question_id"));
            p.add("answer", e.getAsJsonObject().get("multiple_choice_answer"));
            preds.add(p);
        }
        Path pf = Files.writeString(dir.resolve("preds.json"), preds.toString());
        CliFixtures.Run ev = CliFixtures.run("eval", "--questions", out.resolve("v2_OpenEnded_mscoco_val2014_questions.json").toString(),
                "--annotations", ann.toString(), "--predictions", pf.toString());
        assertEquals(0, ev.code(), ev.err());
        JsonObject score = JsonParser.parseString(ev.out()).getAsJsonObject();
        assertEquals(100.0, score.get("overall").getAsDouble(), 1e-9, ev.out());
        assertEquals(60, score.get("count").getAsInt());
    }

    @Test
    void refusesANonEmptyForeignFolder() throws IOException {
        Files.writeString(dir.resolve("other.txt"), "x");
        CliFixtures.Run r = CliFixtures.run("make-synthetic", "--out", dir.toString(), "--train", "1", "--val", "1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("clipvil: error:") && r.err().contains("not a previous synthetic dataset"), r.err());
    }
}
