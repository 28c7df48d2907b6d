package dev.clipvil.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.clipvil.io.CheckpointException;
import dev.clipvil.io.DurableFiles;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsException;
import dev.clipvil.optim.OptimizerState;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Saves and loads the run's last good checkpoint, {@code RUN_DIR/checkpoint/}:
 * <pre>
 * checkpoint/model.safetensors             the model's state dict
 * checkpoint/optimizer-NAME.safetensors    each optimizer's state tensors ("param.slot" keys)
 * checkpoint/state.json                    the caller's state object, plus a "checkpoint" key holding
 *                                          the file sizes and each optimizer's per-parameter steps
 * </pre>
 *
 * <p>A save is atomic as a whole. Everything is written into {@code checkpoint.tmp-PID/} and forced
 * to disk, {@code state.json} last; then {@code checkpoint} is renamed to {@code checkpoint.old}, the
 * new folder renamed to {@code checkpoint}, and {@code checkpoint.old} deleted. At every instant one
 * complete checkpoint exists: {@code checkpoint}, or, between the two renames, {@code checkpoint.old},
 * which {@link #load()} and the next {@link #save} put back. A failed save deletes its temporary folder,
 * keeps the previous checkpoint and throws a {@link CheckpointException} naming the file it was writing.
 * Leftovers of a crashed save (a {@code checkpoint.tmp-*} folder, a stale {@code checkpoint.old}) are
 * removed by the next save. One process at a time may save into a run folder.
 */
public final class Checkpointer {
    public static final String DIR = "checkpoint";
    public static final String OLD_DIR = "checkpoint.old";
    public static final String TMP_PREFIX = "checkpoint.tmp-";
    public static final String MODEL_FILE = "model.safetensors";
    public static final String STATE_FILE = "state.json";
    /** The key of {@code state.json} that holds the checkpoint's own bookkeeping; callers may not use it. */
    public static final String RESERVED_KEY = "checkpoint";
    static final String FORMAT = "clipvil-checkpoint";
    static final int VERSION = 1;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final Gson GSON = new GsonBuilder().serializeNulls().setPrettyPrinting().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();

    /** Test seam: called at each point of a save, so that a test can make it fail there. */
    interface Faults {
        /** After each file is written into the temporary folder ({@code point} = "wrote"), and after each rename ("moved-old", "moved-new"). */
        void at(String point, Path path) throws IOException;

        Faults NONE = (point, path) -> { };
    }

    private final Path runDir;
    private final Faults faults;

    /** For the run folder {@code runDir} (which must exist). */
    public Checkpointer(Path runDir) { this(runDir, Faults.NONE); }

    Checkpointer(Path runDir, Faults faults) {
        this.runDir = runDir;
        this.faults = faults;
    }

    /** {@code RUN_DIR/checkpoint}. */
    public Path dir() { return runDir.resolve(DIR); }

    /** The file name of optimizer {@code name}'s state: {@code optimizer-NAME.safetensors}. */
    public static String optimizerFile(String name) { return "optimizer-" + name + ".safetensors"; }

    /** Whether a complete checkpoint can be loaded ({@code checkpoint/}, or a recoverable {@code checkpoint.old/}). */
    public boolean exists() {
        return Files.isRegularFile(dir().resolve(STATE_FILE)) || (!Files.exists(dir()) && isComplete(runDir.resolve(OLD_DIR)));
    }

    // ---- saving ----------------------------------------------------------------------------

    /**
     * Saves a checkpoint atomically, replacing the previous one. {@code model} is a state dict (the
     * tensors are only read), {@code optimizers} the optimizer states by name (names: letters, digits,
     * '_', '-', '.'), {@code state} any JSON object without the key {@value #RESERVED_KEY} (for example
     * {@link TrainState#toJson()}). Bad arguments throw {@link IllegalArgumentException} before anything
     * is written; a failed write throws {@link CheckpointException} naming the file and keeps the
     * previous checkpoint.
     */
    public void save(Map<String, Tensor> model, Map<String, OptimizerState> optimizers, JsonObject state) throws IOException {
        if (model == null) throw new IllegalArgumentException("checkpoint: the model state dict is null");
        if (optimizers == null) optimizers = Map.of();
        if (state == null) state = new JsonObject();
        if (state.has(RESERVED_KEY)) throw new IllegalArgumentException("checkpoint: the state object may not use the key \"" + RESERVED_KEY + "\" (it is reserved for the checkpoint's bookkeeping)");
        for (String name : optimizers.keySet()) {
            if (name == null || !NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("checkpoint: optimizer name '" + name + "' is not usable in a file name (letters, digits, '_', '-', '.'; at most 64)");
            }
        }
        if (!Files.isDirectory(runDir)) throw new CheckpointException(runDir, "cannot save a checkpoint: the run folder does not exist");
        tidy();

        Path tmp = runDir.resolve(TMP_PREFIX + ProcessHandle.current().pid());
        Path current = tmp;
        try {
            AtomicFiles.deleteRecursively(tmp);
            Files.createDirectory(tmp);
            JsonObject files = new JsonObject();
            current = tmp.resolve(MODEL_FILE);
            SafeTensors.write(current, model);
            files.addProperty(MODEL_FILE, Files.size(current));
            faults.at("wrote", current);
            JsonObject optJson = new JsonObject();
            for (Map.Entry<String, OptimizerState> e : optimizers.entrySet()) {
                String file = optimizerFile(e.getKey());
                current = tmp.resolve(file);
                SafeTensors.write(current, e.getValue().tensors());
                files.addProperty(file, Files.size(current));
                faults.at("wrote", current);
                JsonObject o = new JsonObject();
                o.addProperty("file", file);
                o.add("param_steps", JsonFields.counts(e.getValue().steps()));
                optJson.add(e.getKey(), o);
            }
            JsonObject book = new JsonObject();
            book.addProperty("format", FORMAT);
            book.addProperty("version", VERSION);
            book.addProperty("saved_at", Instant.now().toString());
            book.add("files", files);
            book.add("optimizers", optJson);
            JsonObject out = state.deepCopy();
            out.add(RESERVED_KEY, book);
            current = tmp.resolve(STATE_FILE);
            AtomicFiles.writeDurably(current, (GSON.toJson(out) + "\n").getBytes(StandardCharsets.UTF_8));
            faults.at("wrote", current);
            DurableFiles.syncDirectory(tmp);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(tmp);
            String cause = e instanceof SafeTensorsException s ? s.fault() : e.toString();
            throw new CheckpointException(current, "could not write the checkpoint (" + cause + "); the previous checkpoint, if any, is kept in " + dir(), e);
        }
        swapIn(tmp);
    }

    /** Renames {@code tmp} to {@code checkpoint}, the previous one going to {@code checkpoint.old} in between. */
    private void swapIn(Path tmp) throws IOException {
        Path dir = dir(), old = runDir.resolve(OLD_DIR);
        boolean hadOld = Files.exists(dir);
        if (hadOld) {
            try {
                DurableFiles.move(dir, old);
                DurableFiles.syncDirectory(runDir);
                faults.at("moved-old", old);
            } catch (IOException | RuntimeException e) {
                putBack(old, dir);
                deleteQuietly(tmp);
                throw new CheckpointException(dir, "could not move the previous checkpoint aside to " + OLD_DIR + " (" + e + "); it is kept", e);
            }
        }
        try {
            DurableFiles.move(tmp, dir);
            DurableFiles.syncDirectory(runDir);
            faults.at("moved-new", dir);
        } catch (IOException | RuntimeException e) {
            if (Files.exists(tmp) || !Files.exists(dir)) {
                // the new folder did not arrive: restore the previous one
                if (hadOld) putBack(old, dir);
                deleteQuietly(tmp);
                throw new CheckpointException(tmp, "could not rename the new checkpoint into place (" + e + "); the previous checkpoint, if any, is kept in " + dir, e);
            }
            throw new CheckpointException(dir, "the new checkpoint is in place but finishing the save failed (" + e + ")", e);
        }
        // the new checkpoint is complete and in place; a left-over checkpoint.old is removed by the next save
        deleteQuietly(old);
    }

    private static void putBack(Path old, Path dir) {
        try {
            if (Files.exists(old) && !Files.exists(dir)) DurableFiles.move(old, dir);
        } catch (IOException ignored) {
            // load() recovers checkpoint.old when checkpoint is missing
        }
    }

    /** Recovers an interrupted swap and removes the leftovers of crashed saves. */
    private void tidy() throws IOException {
        Path dir = dir(), old = runDir.resolve(OLD_DIR);
        if (!Files.exists(dir) && isComplete(old)) DurableFiles.move(old, dir);
        else if (Files.exists(dir) && Files.exists(old)) AtomicFiles.deleteRecursively(old);
        try (DirectoryStream<Path> s = Files.newDirectoryStream(runDir, TMP_PREFIX + "*")) {
            for (Path p : s) AtomicFiles.deleteRecursively(p);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            AtomicFiles.deleteRecursively(p);
        } catch (IOException ignored) {
            // a leftover temporary folder is removed by the next save
        }
    }

    /** Whether {@code dir} holds a state.json whose listed files all exist with their recorded sizes. */
    static boolean isComplete(Path dir) {
        try {
            JsonObject state = readJson(dir.resolve(STATE_FILE));
            JsonObject files = JsonFields.object(JsonFields.object(state, "", RESERVED_KEY), RESERVED_KEY, "files");
            for (Map.Entry<String, JsonElement> e : files.entrySet()) {
                Path f = dir.resolve(e.getKey());
                if (!Files.isRegularFile(f) || Files.size(f) != e.getValue().getAsLong()) return false;
            }
            return files.has(MODEL_FILE);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    // ---- loading ---------------------------------------------------------------------------

    /**
     * Loads the last good checkpoint. If a crash left only {@code checkpoint.old}, that one is put back
     * (or read in place when the folder is read-only). Every problem throws a {@link CheckpointException}
     * naming the file and, for state.json, the key.
     */
    public Checkpoint load() throws IOException {
        Path dir = dir();
        if (!Files.exists(dir)) {
            Path old = runDir.resolve(OLD_DIR);
            if (!isComplete(old)) throw new CheckpointException(dir, "no checkpoint has been saved in " + runDir);
            try {
                DurableFiles.move(old, dir);
                DurableFiles.syncDirectory(runDir);
            } catch (IOException e) {
                dir = old;
            }
        }
        Path stateFile = dir.resolve(STATE_FILE);
        JsonObject state = readJson(stateFile);
        LinkedHashMap<String, Tensor> model = new LinkedHashMap<>();
        LinkedHashMap<String, OptimizerState> optimizers = new LinkedHashMap<>();
        List<Tensor> owned = new ArrayList<>();
        try {
            JsonObject book, files, optJson;
            try {
                book = JsonFields.object(state, "", RESERVED_KEY);
                String format = JsonFields.string(book, RESERVED_KEY, "format");
                if (!format.equals(FORMAT)) throw new IllegalArgumentException("key \"checkpoint.format\" is '" + format + "', expected '" + FORMAT + "'");
                long version = JsonFields.anyLong(book, RESERVED_KEY, "version");
                if (version != VERSION) throw new IllegalArgumentException("key \"checkpoint.version\" is " + version + "; this clipvil reads version " + VERSION);
                files = JsonFields.object(book, RESERVED_KEY, "files");
                optJson = JsonFields.object(book, RESERVED_KEY, "optimizers");
                for (Map.Entry<String, JsonElement> e : files.entrySet()) {
                    JsonFields.nonNegativeLong(e.getValue(), "checkpoint.files." + e.getKey());
                }
                JsonFields.require(files, "checkpoint.files", MODEL_FILE);
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(stateFile, e.getMessage(), e);
            }
            model.putAll(readTensors(dir, MODEL_FILE, files, stateFile));
            owned.addAll(model.values());
            for (Map.Entry<String, JsonElement> e : optJson.entrySet()) {
                String key = "checkpoint.optimizers." + e.getKey();
                String file;
                Map<String, Long> steps;
                try {
                    if (!e.getValue().isJsonObject()) throw new IllegalArgumentException("key \"" + key + "\" must be a JSON object, got " + e.getValue());
                    JsonObject o = e.getValue().getAsJsonObject();
                    file = JsonFields.string(o, key, "file");
                    if (!file.equals(optimizerFile(e.getKey()))) throw new IllegalArgumentException("key \"" + key + ".file\" is '" + file + "', expected '" + optimizerFile(e.getKey()) + "'");
                    steps = JsonFields.counts(o, key, "param_steps");
                    JsonFields.require(files, "checkpoint.files", file);
                } catch (IllegalArgumentException ex) {
                    throw new CheckpointException(stateFile, ex.getMessage(), ex);
                }
                Map<String, Tensor> tensors = readTensors(dir, file, files, stateFile);
                owned.addAll(tensors.values());
                try {
                    optimizers.put(e.getKey(), OptimizerState.of(steps, tensors));
                } catch (IllegalArgumentException ex) {
                    throw new CheckpointException(dir.resolve(file), ex.getMessage() + " (the steps are in " + stateFile.getFileName() + ", key \"" + key + ".param_steps\")", ex);
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            for (Tensor t : owned) t.close();
            throw e;
        }
        JsonObject callerState = state.deepCopy();
        callerState.remove(RESERVED_KEY);
        return new Checkpoint(dir, stateFile, model, optimizers, callerState);
    }

    private static Map<String, Tensor> readTensors(Path dir, String name, JsonObject files, Path stateFile) throws IOException {
        Path f = dir.resolve(name);
        if (!Files.isRegularFile(f)) throw new CheckpointException(f, "is missing (" + stateFile.getFileName() + " lists it)");
        long expected = files.get(name).getAsLong(), actual = Files.size(f);
        if (actual != expected) {
            throw new CheckpointException(f, "is " + actual + " bytes but " + stateFile.getFileName() + " (key \"checkpoint.files." + name + "\") recorded " + expected + ": the file was changed or truncated");
        }
        return SafeTensors.readAll(f);
    }

    static JsonObject readJson(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "is missing", e);
        }
        try {
            JsonElement e = JsonParser.parseString(text);
            if (!e.isJsonObject()) throw new CheckpointException(file, "is not a JSON object");
            return e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new CheckpointException(file, "is not valid JSON: " + e.getMessage(), e);
        }
    }
}
