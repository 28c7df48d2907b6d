package dev.clipvil.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.clipvil.io.CheckpointException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The layout of a training run folder:
 * <pre>
 * RUN_DIR/run.json         the run's configuration (model config, vocabulary file, answers,
 *                          hyper-parameters), as the caller gives it; written once
 * RUN_DIR/checkpoint/      the last good checkpoint (see {@link Checkpointer})
 * RUN_DIR/metrics.jsonl    one JSON record per line (see {@link MetricsLog})
 * RUN_DIR/curves.png       loss and accuracy curves (see {@link CurvesPlot})
 * RUN_DIR/NAME             files the run needs again at resume or predict time, copied in by
 *                          {@link #copyIn} (e.g. vocab.txt, answers.txt)
 * </pre>
 * A folder is a run when it holds {@code run.json}. {@link #create} refuses a folder that already
 * holds anything; {@link #resume} refuses a folder without a checkpoint; both name the folder.
 */
public final class RunDir {
    public static final String CONFIG_FILE = "run.json";
    public static final String METRICS_FILE = "metrics.jsonl";
    public static final String CURVES_FILE = "curves.png";
    private static final Set<String> RESERVED = Set.of(CONFIG_FILE, METRICS_FILE, CURVES_FILE,
            Checkpointer.DIR, Checkpointer.OLD_DIR);
    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final Gson GSON = new GsonBuilder().serializeNulls().setPrettyPrinting().disableHtmlEscaping().create();

    private final Path dir;
    private final JsonObject config;

    private RunDir(Path dir, JsonObject config) {
        this.dir = dir;
        this.config = config;
    }

    /**
     * Starts a new run in {@code dir} (created if absent; it must be empty) and writes {@code config}
     * to {@code run.json}. A folder that is a run already, or holds other files, is refused.
     */
    public static RunDir create(Path dir, JsonObject config) throws IOException {
        if (config == null) throw new IllegalArgumentException("run config is null");
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new RunException(dir, "exists and is not a folder; choose a new folder for the run");
        if (Files.isRegularFile(dir.resolve(CONFIG_FILE))) {
            throw new RunException(dir, "already holds a run (" + CONFIG_FILE + "); continue it with --resume " + dir + " or choose a new folder");
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                if (s.findAny().isPresent()) throw new RunException(dir, "is not empty and is not a run folder (it has no " + CONFIG_FILE + "); choose a new or empty folder for the run");
            }
        }
        Files.createDirectories(dir);
        AtomicFiles.replace(dir.resolve(CONFIG_FILE), GSON.toJson(config) + "\n");
        return new RunDir(dir, config.deepCopy());
    }

    /** Opens an existing run to continue it: it must hold {@code run.json} and a complete checkpoint. */
    public static RunDir resume(Path dir) throws IOException {
        RunDir run = open(dir);
        if (!run.checkpointer().exists()) {
            throw new RunException(dir, "holds no checkpoint to resume (no " + Checkpointer.DIR + "/" + Checkpointer.STATE_FILE
                    + "; the run stopped before its first save): start it again as a new run in an empty folder");
        }
        return run;
    }

    /** Opens an existing run (e.g. to predict with it): it must hold a readable {@code run.json}. */
    public static RunDir open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new RunException(dir, "no such run folder");
        Path cfg = dir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(cfg)) throw new RunException(dir, "is not a run folder (it has no " + CONFIG_FILE + ")");
        try {
            return new RunDir(dir, Checkpointer.readJson(cfg));
        } catch (CheckpointException e) {
            throw new RunException(cfg, e.fault(), e);
        }
    }

    /** The run folder. */
    public Path dir() { return dir; }

    /** A copy of the configuration from {@code run.json}. */
    public JsonObject config() { return config.deepCopy(); }

    public Path configFile() { return dir.resolve(CONFIG_FILE); }

    public Path metricsFile() { return dir.resolve(METRICS_FILE); }

    public Path curvesFile() { return dir.resolve(CURVES_FILE); }

    /** The checkpoint folder, {@code RUN_DIR/checkpoint}. */
    public Path checkpointDir() { return dir.resolve(Checkpointer.DIR); }

    /** Saves and loads this run's checkpoint. */
    public Checkpointer checkpointer() { return new Checkpointer(dir); }

    /**
     * Where the run keeps a file of its own named {@code name} (a plain file name such as
     * {@code vocab.txt}, not one of the layout's names).
     */
    public Path file(String name) {
        if (name == null || !FILE_NAME.matcher(name).matches() || name.startsWith(Checkpointer.TMP_PREFIX)) {
            throw new IllegalArgumentException("run file name '" + name + "' must be a plain file name (letters, digits, '_', '-', '.')");
        }
        if (RESERVED.contains(name)) throw new IllegalArgumentException("run file name '" + name + "' is part of the run folder's layout");
        return dir.resolve(name);
    }

    /** Copies {@code source} into the run as {@link #file(String) file(name)}, atomically; returns the copy. */
    public Path copyIn(Path source, String name) throws IOException {
        Path target = file(name);
        if (!Files.isRegularFile(source)) throw new RunException(source, "cannot copy it into the run " + dir + ": no such file");
        AtomicFiles.replace(target, Files.readAllBytes(source));
        return target;
    }

    @Override
    public String toString() { return dir.toString(); }
}
