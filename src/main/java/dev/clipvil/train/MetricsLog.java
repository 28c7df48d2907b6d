package dev.clipvil.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.clipvil.data.VqaScore;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code RUN_DIR/metrics.jsonl}: one JSON object per line, each with an integer {@code "step"} (the
 * global optimizer step when it was logged) and a {@code "kind"}: {@code "train"} records (see
 * {@link Train}) and {@code "eval"} records (see {@link Eval}); callers may append other kinds. Each
 * line is flushed as it is written, so a crash loses at most the line being written; a torn last line
 * is ignored when the file is read.
 *
 * <p>On resume from a checkpoint at step S, {@link #resume} drops the records with a step above S (they
 * were logged after the checkpoint the run goes back to and will be logged again), so the curves have
 * no duplicates. Log a step's records before saving that step's checkpoint.
 */
public final class MetricsLog implements AutoCloseable {
    private static final Gson GSON = new GsonBuilder().serializeNulls().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();

    /**
     * A training record: the mean loss since the last record, the learning rate of each parameter group
     * (or optimizer), throughput, examples seen so far and seconds of training so far. {@code epoch} is
     * the epoch in progress, counted from 0 like {@link TrainState#epoch()}.
     */
    public record Train(long step, int epoch, double loss, Map<String, Double> lr, double examplesPerSecond,
                        long examples, double elapsedSeconds) {
        public Train {
            lr = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(lr));
        }

        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("kind", "train");
            o.addProperty("step", step);
            o.addProperty("epoch", epoch);
            o.addProperty("loss", loss);
            JsonObject l = new JsonObject();
            for (Map.Entry<String, Double> e : lr.entrySet()) l.addProperty(e.getKey(), e.getValue());
            o.add("lr", l);
            o.addProperty("examples_per_s", examplesPerSecond);
            o.addProperty("examples", examples);
            o.addProperty("elapsed_s", elapsedSeconds);
            return o;
        }
    }

    /**
     * An evaluation at the end of an epoch: overall accuracy and accuracy per answer type, in percent
     * as {@link VqaScore} gives them, over {@code examples} questions. {@code epoch} is the number of
     * epochs completed (1 after the first), which the curves label the point with.
     */
    public record Eval(long step, int epoch, double accuracy, Map<String, Double> accuracyByType, long examples,
                       double elapsedSeconds) {
        public Eval {
            accuracyByType = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(accuracyByType));
        }

        /** The record of a {@link VqaScore}. */
        public static Eval of(long step, int epoch, VqaScore score, double elapsedSeconds) {
            return new Eval(step, epoch, score.overall(), score.perAnswerType(), score.count(), elapsedSeconds);
        }

        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("kind", "eval");
            o.addProperty("step", step);
            o.addProperty("epoch", epoch);
            o.addProperty("accuracy", accuracy);
            JsonObject a = new JsonObject();
            for (Map.Entry<String, Double> e : accuracyByType.entrySet()) a.addProperty(e.getKey(), e.getValue());
            o.add("accuracy_by_type", a);
            o.addProperty("examples", examples);
            o.addProperty("elapsed_s", elapsedSeconds);
            return o;
        }
    }

    private final Path file;
    private final BufferedWriter out;

    private MetricsLog(Path file) throws IOException {
        this.file = file;
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    /** A new, empty log at {@code file} (an existing file is replaced). */
    public static MetricsLog create(Path file) throws IOException {
        AtomicFiles.replace(file, "");
        return new MetricsLog(file);
    }

    /**
     * Continues the log at {@code file} for a run resumed at {@code step}: records with a larger step
     * are removed (the file is rewritten atomically), the rest kept as they were. A missing file starts empty.
     */
    public static MetricsLog resume(Path file, long step) throws IOException {
        if (!Files.exists(file)) return create(file);
        StringBuilder kept = new StringBuilder();
        for (Line l : lines(file)) if (l.step <= step) kept.append(l.text).append('\n');
        AtomicFiles.replace(file, kept.toString());
        return new MetricsLog(file);
    }

    /** Every record of {@code file} in order (a torn last line is skipped). */
    public static List<JsonObject> read(Path file) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (Line l : lines(file)) out.add(l.record);
        return out;
    }

    public Path file() { return file; }

    /** Appends {@code record}, which must have an integer {@code "step"}, as one line, and flushes it. */
    public void append(JsonObject record) throws IOException {
        try {
            JsonFields.nonNegativeLong(record, "", "step");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("metrics record " + record + ": " + e.getMessage(), e);
        }
        out.write(GSON.toJson(record));
        out.write('\n');
        out.flush();
    }

    public void log(Train r) throws IOException { append(r.toJson()); }

    public void log(Eval r) throws IOException { append(r.toJson()); }

    @Override
    public void close() throws IOException { out.close(); }

    private record Line(String text, JsonObject record, long step) {}

    private static List<Line> lines(Path file) throws IOException {
        List<String> raw = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Line> out = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            String text = raw.get(i);
            if (text.isBlank()) continue;
            boolean last = i == raw.size() - 1;
            try {
                JsonElement e = JsonParser.parseString(text);
                if (!e.isJsonObject()) throw new IllegalArgumentException("is not a JSON object");
                JsonObject o = e.getAsJsonObject();
                out.add(new Line(text, o, JsonFields.nonNegativeLong(o, "", "step")));
            } catch (JsonParseException | IllegalArgumentException ex) {
                if (last) break; // torn by a crash while it was written
                throw new IOException(file + ":" + (i + 1) + ": bad metrics record (" + ex.getMessage() + "): " + abbreviate(text), ex);
            }
        }
        return out;
    }

    private static String abbreviate(String s) { return s.length() <= 120 ? s : s.substring(0, 117) + "..."; }
}
