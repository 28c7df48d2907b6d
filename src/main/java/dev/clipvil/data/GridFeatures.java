package dev.clipvil.data;

import dev.clipvil.backend.Backends;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.io.SafeTensorsFile;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Precomputed grid features (the fast training mode): the shards and index.json written by
 * {@code clipvil extract-grid}, which keys every image by its file name. {@link #get} returns an image's
 * features as F32 [C, h, w] whatever dtype they were stored in. Shard files are opened on first use and
 * kept open until {@link #close}. Thread-safe.
 */
public final class GridFeatures implements AutoCloseable {
    private final Path dir;
    private final GridIndex index;
    private final Map<String, SafeTensorsFile> open = new HashMap<>();
    private int skipped;
    private final List<String> skippedExamples = new ArrayList<>();

    private GridFeatures(Path dir, GridIndex index) {
        this.dir = dir;
        this.index = index;
    }

    /** The extract-grid output in {@code dir}; an error when the folder or its index.json is missing or malformed. */
    public static GridFeatures open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("grid feature folder " + dir + " does not exist");
        GridIndex idx = GridIndex.read(dir);
        if (idx == null)
            throw new IllegalArgumentException(dir.resolve(GridIndex.FILE) + " does not exist: " + dir + " is not a clipvil extract-grid output");
        return new GridFeatures(dir, idx);
    }

    /** The index file. */
    public Path indexFile() { return dir.resolve(GridIndex.FILE); }

    /** The {height, width} the images were resized to before extraction. */
    public int[] imageSize() { return index.size.clone(); }

    /** The number of images with features. */
    public int size() { return index.images.size(); }

    /** The image names with features, in index order. */
    public List<String> names() { return List.copyOf(index.images.keySet()); }

    /** Whether the image named {@code name} (a file name) has features. */
    public boolean contains(String name) { return index.images.containsKey(name); }

    /**
     * The items whose image has features, in order. An image without features is an IOException naming
     * it and the index file, unless {@code skipMissing}, when its items are left out and counted ({@link #skipped}).
     */
    public List<VqaItem> scan(List<VqaItem> items, boolean skipMissing) throws IOException {
        List<VqaItem> kept = new ArrayList<>(items.size());
        for (VqaItem it : items) {
            String name = it.image().getFileName().toString();
            if (contains(name)) {
                kept.add(it);
                continue;
            }
            if (!skipMissing) throw missing(name);
            synchronized (this) {
                skipped++;
                if (skippedExamples.size() < VqaImages.EXAMPLES && !skippedExamples.contains(name)) skippedExamples.add(name);
            }
        }
        return kept;
    }

    /** Items left out by {@link #scan} in skip-missing mode, over every scan so far. */
    public synchronized int skipped() { return skipped; }

    /** File names of the first few images {@link #scan} found without features. */
    public synchronized List<String> skippedExamples() { return List.copyOf(skippedExamples); }

    /** The features of an image file (looked up by its file name), as a new F32 [C, h, w] tensor. */
    public Tensor get(Path image) throws IOException {
        return get(image.getFileName().toString());
    }

    /** The features of the image file named {@code name}, as a new F32 [C, h, w] tensor the caller closes. */
    public Tensor get(String name) throws IOException {
        String shard = index.images.get(name);
        if (shard == null) throw missing(name);
        Tensor t;
        synchronized (this) {
            SafeTensorsFile f = open.get(shard);
            if (f == null) {
                Path p = dir.resolve(shard);
                if (!Files.isRegularFile(p)) throw new IOException(p + ": shard listed in " + indexFile() + " is missing");
                f = SafeTensors.open(p);
                open.put(shard, f);
            }
            if (!f.contains(name)) throw new IOException(f.path() + ": has no tensor '" + name + "' although " + indexFile() + " lists it there");
            t = f.tensor(name);
        }
        if (t.dtype() == DType.F32) return t;
        try (Tensor stored = t) {
            return Backends.of(stored).cast(stored, DType.F32);
        }
    }

    private IOException missing(String name) {
        boolean failed = index.failed.contains(name);
        return new IOException("image " + name + " has no precomputed grid features in " + indexFile()
                + (failed ? " (extract-grid could not decode it)" : " (" + index.images.size() + " images there; rerun clipvil extract-grid on this image folder)"));
    }

    @Override
    public synchronized void close() throws IOException {
        IOException first = null;
        for (SafeTensorsFile f : open.values()) {
            try {
                f.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        open.clear();
        if (first != null) throw first;
    }
}
