package dev.clipvil.train;

import dev.clipvil.data.SyntheticVqa;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The embedded default dataset of {@code clipvil train}: {@link SyntheticVqa} written once into a cache
 * folder ({@code $CLIPVIL_CACHE}, else {@code ~/.cache/clipvil}) under a name that encodes its
 * parameters, so later runs reuse it. It is generated in a temporary sibling folder and renamed into
 * place, so an interrupted generation never leaves a half-written dataset that looks complete.
 */
public final class SyntheticCache {
    /** Image side and seed of the default synthetic set (the generator's format version is in the folder name). */
    public static final int SIZE = 64;
    public static final long SEED = 0;

    private SyntheticCache() {}

    public static Path root() {
        String env = System.getenv("CLIPVIL_CACHE");
        String prop = System.getProperty("clipvil.cache");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "clipvil");
    }

    /** The dataset folder for these sizes, generated on first use. */
    public static Path ensure(int train, int val, PrintStream log) throws IOException {
        Path dir = root().resolve(String.format(Locale.ROOT, "synthetic-vqa-v1-%d-%d-%dpx-seed%d", train, val, SIZE, SEED));
        if (Files.isRegularFile(dir.resolve(SyntheticVqa.SCENES))) return dir;
        Files.createDirectories(root());
        Path tmp = Files.createTempDirectory(root(), dir.getFileName() + ".tmp-");
        long t0 = System.nanoTime();
        try {
            SyntheticVqa.write(tmp, train, val, SIZE, SEED);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException | java.nio.file.DirectoryNotEmptyException e) {
                if (!Files.isRegularFile(dir.resolve(SyntheticVqa.SCENES))) throw e; // another run made it meanwhile: use theirs
            }
        } finally {
            AtomicFiles.deleteRecursively(tmp);
        }
        log.printf(Locale.ROOT, "train: generated the synthetic VQA dataset (%d train + %d val images, %dx%d) in %s in %.1f s%n",
                train, val, SIZE, SIZE, dir, (System.nanoTime() - t0) / 1e9);
        return dir;
    }
}
