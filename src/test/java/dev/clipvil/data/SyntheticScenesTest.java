package dev.clipvil.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticScenesTest {
    @TempDir
    Path tmp;

    @Test
    void quadrantLabelsFollowTheScenesOfASplit() throws IOException {
        Path d = tmp.resolve("syn");
        SyntheticVqa.write(d, 9, 3, 32, 11);
        Map<Long, int[]> train = SyntheticScenes.quadrantLabels(d, "train2014"), val = SyntheticScenes.quadrantLabels(d, "val2014");
        assertEquals(9, train.size());
        assertEquals(3, val.size());
        JsonObject root = JsonParser.parseString(Files.readString(d.resolve(SyntheticVqa.SCENES))).getAsJsonObject();
        for (JsonElement e : root.getAsJsonArray("images")) {
            JsonObject img = e.getAsJsonObject();
            int[] l = (img.get("split").getAsString().equals("train2014") ? train : val).get(img.get("image_id").getAsLong());
            int objects = 0;
            for (int q : l) if (q != 0) objects++;
            assertEquals(img.getAsJsonArray("objects").size(), objects);
            for (JsonElement oe : img.getAsJsonArray("objects")) {
                JsonObject o = oe.getAsJsonObject();
                // hand-computed: quadrant row-major, class 1 + colour * 3 + shape in the generator's orders
                int cell = (o.get("vertical").getAsString().equals("top") ? 0 : 2) + (o.get("horizontal").getAsString().equals("left") ? 0 : 1);
                int color = java.util.List.of("red", "green", "blue", "yellow").indexOf(o.get("color").getAsString());
                int shape = java.util.List.of("circle", "square", "triangle").indexOf(o.get("shape").getAsString());
                assertEquals(1 + color * 3 + shape, l[cell]);
            }
        }
        assertEquals(13, SyntheticScenes.CLASSES);
    }

    @Test
    void aFolderWithoutScenesOrWithBadOnesIsAClearError() throws IOException {
        assertNull(SyntheticScenes.file(tmp));
        IOException missing = assertThrows(IOException.class, () -> SyntheticScenes.quadrantLabels(tmp, "train2014"));
        assertTrue(missing.getMessage().contains("scenes.json") && missing.getMessage().contains("make-synthetic"), missing.getMessage());
        Files.writeString(tmp.resolve(SyntheticVqa.SCENES), "{\"images\": [");
        IOException bad = assertThrows(IOException.class, () -> SyntheticScenes.quadrantLabels(tmp, "train2014"));
        assertTrue(bad.getMessage().contains("scenes.json"), bad.getMessage());
        Files.writeString(tmp.resolve(SyntheticVqa.SCENES), "{\"images\": [{\"split\": \"train2014\", \"image_id\": 1, \"objects\": [{\"color\": \"mauve\"}]}]}");
        IOException wrong = assertThrows(IOException.class, () -> SyntheticScenes.quadrantLabels(tmp, "train2014"));
        assertTrue(wrong.getMessage().contains("scenes.json"), wrong.getMessage());
    }
}
