package dev.clipvil.train;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** metrics.jsonl: records, flushing, truncation on resume, torn and bad lines. */
class MetricsLogTest {
    @TempDir Path dir;

    private static MetricsLog.Train train(long step, int epoch) {
        return new MetricsLog.Train(step, epoch, 2.0 / (step + 1), Map.of("fusion", 1e-4, "backbone", 1e-5), 120.5, step * 32, step * 0.25);
    }

    private static List<Long> steps(List<JsonObject> records) {
        return records.stream().map(r -> r.get("step").getAsLong()).toList();
    }

    @Test
    void recordsAreWrittenOnePerLineAndFlushedAtOnce() throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = MetricsLog.create(file)) {
            log.log(train(1, 0));
            assertEquals(1, Files.readAllLines(file).size(), "flushed before close");
            log.log(new MetricsLog.Eval(10, 0, 55.5, Map.of("yes/no", 70.0, "number", 30.0, "other", 50.25), 400, 3.5));
        }
        List<JsonObject> r = MetricsLog.read(file);
        assertEquals(train(1, 0).toJson(), r.get(0));
        assertEquals("train", r.get(0).get("kind").getAsString());
        assertEquals(1e-5, r.get(0).getAsJsonObject("lr").get("backbone").getAsDouble());
        assertEquals(32, r.get(0).get("examples").getAsLong());
        assertEquals("eval", r.get(1).get("kind").getAsString());
        assertEquals(50.25, r.get(1).getAsJsonObject("accuracy_by_type").get("other").getAsDouble());
        assertEquals(2, Files.readAllLines(file).size());
    }

    @Test
    void resumeDropsTheRecordsAfterTheCheckpointStep() throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsLog log = MetricsLog.create(file)) {
            for (long s = 1; s <= 8; s++) log.log(train(s, (int) (s / 5)));
            log.log(new MetricsLog.Eval(5, 0, 40, Map.of(), 10, 1));
            log.log(new MetricsLog.Eval(8, 1, 60, Map.of(), 10, 2));
        }
        // the run crashed after step 8 was logged; its last checkpoint was at step 5
        try (MetricsLog log = MetricsLog.resume(file, 5)) {
            assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 5L), steps(MetricsLog.read(file)));
            for (long s = 6; s <= 7; s++) log.log(train(s, 1));
        }
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 5L, 6L, 7L), steps(MetricsLog.read(file)));
        try (MetricsLog log = MetricsLog.resume(dir.resolve("new.jsonl"), 3)) {
            log.log(train(4, 0));
        }
        assertEquals(List.of(4L), steps(MetricsLog.read(dir.resolve("new.jsonl"))));
    }

    @Test
    void aTornLastLineIsIgnoredAndABadLineNamesItsNumber() throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        Files.writeString(file, train(1, 0).toJson() + "\n" + train(2, 0).toJson() + "\n{\"kind\":\"train\",\"step\":3,\"lo");
        assertEquals(List.of(1L, 2L), steps(MetricsLog.read(file)));
        try (MetricsLog log = MetricsLog.resume(file, 10)) {
            log.log(train(3, 0));
        }
        assertEquals(List.of(1L, 2L, 3L), steps(MetricsLog.read(file)));

        Files.writeString(file, train(1, 0).toJson() + "\nnot json\n" + train(2, 0).toJson() + "\n");
        IOException e = assertThrows(IOException.class, () -> MetricsLog.resume(file, 1));
        assertTrue(e.getMessage().startsWith(file + ":2: bad metrics record"), e.getMessage());
        Files.writeString(file, "{\"kind\":\"train\"}\n{}\n");
        e = assertThrows(IOException.class, () -> MetricsLog.read(file));
        assertTrue(e.getMessage().startsWith(file + ":1: bad metrics record (key \"step\" is missing)"), e.getMessage());
    }

    @Test
    void aRecordWithoutAStepIsRefused() throws IOException {
        try (MetricsLog log = MetricsLog.create(dir.resolve("m.jsonl"))) {
            JsonObject r = new JsonObject();
            r.addProperty("loss", 1.0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> log.append(r));
            assertTrue(e.getMessage().contains("key \"step\" is missing"), e.getMessage());
        }
    }
}
