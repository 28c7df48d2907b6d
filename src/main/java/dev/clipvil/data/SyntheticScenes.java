package dev.clipvil.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The object annotations a synthetic dataset carries in its scenes.json ({@link SyntheticVqa#SCENES}),
 * as one label per quadrant of each image: 0 for an empty quadrant, else 1 + colour * 3 + shape
 * ({@link SyntheticScene#COLORS} x {@link SyntheticScene#SHAPES}, 13 classes). Quadrants are row-major
 * (top-left, top-right, bottom-left, bottom-right), the order of a 2x2 pooled grid.
 */
public final class SyntheticScenes {
    /** Quadrant classes: empty, then the 12 colour x shape pairs. */
    public static final int CLASSES = 1 + SyntheticScene.COLORS.length * SyntheticScene.SHAPES.length;

    private SyntheticScenes() {}

    /** The scenes.json of {@code dataDir}, or null when it has none (not a synthetic dataset). */
    public static Path file(Path dataDir) {
        Path f = dataDir.resolve(SyntheticVqa.SCENES);
        return Files.isRegularFile(f) ? f : null;
    }

    /** Image id -> the four quadrant labels, for every image of {@code split} listed in {@code dataDir}/scenes.json. */
    public static Map<Long, int[]> quadrantLabels(Path dataDir, String split) throws IOException {
        Path f = dataDir.resolve(SyntheticVqa.SCENES);
        if (!Files.isRegularFile(f)) {
            throw new IOException(f + ": not found; the object annotations come from `clipvil make-synthetic` (synthetic data only)");
        }
        JsonElement root;
        try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            root = JsonParser.parseReader(r);
        } catch (RuntimeException e) {
            throw new IOException(f + ": malformed JSON: " + e.getMessage(), e);
        }
        Map<Long, int[]> out = new HashMap<>();
        try {
            for (JsonElement e : root.getAsJsonObject().getAsJsonArray("images")) {
                JsonObject img = e.getAsJsonObject();
                if (!split.equals(img.get("split").getAsString())) continue;
                int[] labels = new int[4];
                for (JsonElement oe : img.getAsJsonArray("objects")) {
                    JsonObject o = oe.getAsJsonObject();
                    int cell = (o.get("vertical").getAsString().equals("top") ? 0 : 2) + (o.get("horizontal").getAsString().equals("left") ? 0 : 1);
                    int color = SyntheticScene.indexOf(SyntheticScene.COLORS, o.get("color").getAsString());
                    int shape = SyntheticScene.indexOf(SyntheticScene.SHAPES, o.get("shape").getAsString());
                    labels[cell] = 1 + color * SyntheticScene.SHAPES.length + shape;
                }
                out.put(img.get("image_id").getAsLong(), labels);
            }
        } catch (RuntimeException e) {
            throw new IOException(f + ": not a scenes file of `clipvil make-synthetic` (" + e.getMessage() + ")", e);
        }
        return out;
    }
}
