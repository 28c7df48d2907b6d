package dev.clipvil.data;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The index.json of an extract-grid output folder: the options it was made with, every finished shard
 * (its file, the input images it covers and those of them it holds; an image that failed to decode is
 * covered but not held), and image -> shard for every held image. Written atomically after each shard,
 * so a shard is listed only once its file is complete. Written by {@code clipvil extract-grid}, read by
 * {@link GridFeatures}; the fields are its JSON form.
 */
public final class GridIndex {
    public static final String FILE = "index.json";

    /** One finished shard. */
    public static final class Shard {
        public String file;
        public List<String> inputs = new ArrayList<>();
        public List<String> images = new ArrayList<>();
    }

    public String model;
    public int[] size;
    public int shardSize;
    public String dtype;
    public List<Shard> shards = new ArrayList<>();
    public Map<String, String> images = new LinkedHashMap<>();
    public List<String> failed = new ArrayList<>();

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /** The index in {@code dir}, or null when there is none. */
    public static GridIndex read(Path dir) throws IOException {
        Path p = dir.resolve(FILE);
        if (!Files.isRegularFile(p)) return null;
        try {
            GridIndex idx = GSON.fromJson(Files.readString(p), GridIndex.class);
            if (idx == null || idx.size == null || idx.size.length != 2 || idx.shards == null || idx.images == null) {
                throw new IOException(p + ": not an extract-grid index (no size, shards or images)");
            }
            if (idx.failed == null) idx.failed = new ArrayList<>();
            return idx;
        } catch (JsonParseException e) {
            throw new IOException(p + ": not an extract-grid index: " + e.getMessage(), e);
        }
    }

    /** Writes the index to {@code dir} atomically (temporary file, then rename). */
    public void write(Path dir) throws IOException {
        Path p = dir.resolve(FILE), tmp = dir.resolve(FILE + ".tmp");
        Files.writeString(tmp, GSON.toJson(this) + "\n");
        Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The finished shard named {@code file}, or null. */
    public Shard shard(String file) {
        for (Shard s : shards) if (s.file.equals(file)) return s;
        return null;
    }
}
