package dev.clipvil.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SyntheticVqa: the VQA v2 layout, ids and file names, answers that agree with the scenes, determinism, overwrite rules. */
class SyntheticVqaTest {
    @TempDir
    Path dir;

    private static JsonObject read(Path f) throws IOException {
        return JsonParser.parseString(Files.readString(f)).getAsJsonObject();
    }

    @Test
    void writesTheVqaV2LayoutReadableByVqaJson() throws IOException {
        Path out = dir.resolve("ds");
        SyntheticVqa.Summary s = SyntheticVqa.write(out, 6, 3, 32, 7);
        assertEquals(45, s.questions());
        Map<String, long[]> splits = Map.of("train2014", new long[] {1, 6}, "val2014", new long[] {7, 9});
        for (var e : splits.entrySet()) {
            String split = e.getKey();
            Path qf = out.resolve("v2_OpenEnded_mscoco_" + split + "_questions.json");
            Path af = out.resolve("v2_mscoco_" + split + "_annotations.json");
            JsonObject qj = read(qf), aj = read(af);
            assertEquals(List.of("info", "task_type", "data_type", "license", "data_subtype", "questions"), List.copyOf(qj.keySet()));
            assertEquals("Open-Ended", qj.get("task_type").getAsString());
            assertEquals("mscoco", qj.get("data_type").getAsString());
            assertEquals(split, qj.get("data_subtype").getAsString());
            assertEquals(List.of("info", "license", "data_subtype", "annotations"), List.copyOf(aj.keySet()));
            JsonObject a0 = aj.getAsJsonArray("annotations").get(0).getAsJsonObject();
            assertEquals(List.of("question_type", "multiple_choice_answer", "answers", "image_id", "answer_type", "question_id"),
                    List.copyOf(a0.keySet()));
            JsonArray hs = a0.getAsJsonArray("answers");
            for (int j = 0; j < 10; j++) {
                JsonObject h = hs.get(j).getAsJsonObject();
                assertEquals(j + 1, h.get("answer_id").getAsInt());
                assertTrue(List.of("yes", "maybe").contains(h.get("answer_confidence").getAsString()));
            }
            List<VqaQuestion> qs = VqaJson.readQuestions(qf);
            List<VqaAnnotation> as = VqaJson.readAnnotations(af);
            long lo = e.getValue()[0], hi = e.getValue()[1];
            assertEquals((hi - lo + 1) * 5, qs.size());
            assertEquals(qs.size(), as.size());
            for (int i = 0; i < qs.size(); i++) {
                VqaQuestion q = qs.get(i);
                assertEquals(lo + i / 5, q.imageId());
                assertEquals(q.imageId() * 10 + i % 5, q.questionId());
                assertEquals(q.questionId(), as.get(i).questionId());
                assertEquals(q.imageId(), as.get(i).imageId());
                assertEquals(10, as.get(i).answers().size());
            }
            for (long id = lo; id <= hi; id++) {
                Path img = out.resolve(split).resolve(String.format("COCO_%s_%012d.jpg", split, id));
                BufferedImage bi = ImageIO.read(img.toFile());
                assertNotNull(bi, img.toString());
                assertEquals(32, bi.getWidth());
                assertEquals(32, bi.getHeight());
            }
            try (Stream<Path> files = Files.list(out.resolve(split))) {
                assertEquals(hi - lo + 1, files.count());
            }
        }
    }

    @Test
    void answersAgreeWithTheScenes() throws IOException {
        Path out = dir.resolve("ds");
        SyntheticVqa.write(out, 40, 10, 16, 3);
        Map<Long, JsonArray> objects = new HashMap<>();
        for (JsonElement e : read(out.resolve("scenes.json")).getAsJsonArray("images")) {
            JsonObject o = e.getAsJsonObject();
            objects.put(o.get("image_id").getAsLong(), o.getAsJsonArray("objects"));
        }
        assertEquals(50, objects.size());
        int disagreements = 0, total = 0;
        for (String split : new String[] {"train2014", "val2014"}) {
            Map<Long, String> text = new HashMap<>();
            for (VqaQuestion q : VqaJson.readQuestions(out.resolve("v2_OpenEnded_mscoco_" + split + "_questions.json")))
                text.put(q.questionId(), q.question());
            for (VqaAnnotation a : VqaJson.readAnnotations(out.resolve("v2_mscoco_" + split + "_annotations.json"))) {
                String want = answer(text.get(a.questionId()), objects.get(a.imageId()));
                assertEquals(want, a.multipleChoiceAnswer(), text.get(a.questionId()) + " " + objects.get(a.imageId()));
                long right = a.answers().stream().filter(want::equals).count();
                assertTrue(right >= 7, "at most 3 disagreements: " + a.answers());
                disagreements += 10 - (int) right;
                total += 10;
                String type = switch (a.questionType()) {
                    case "how many" -> "number";
                    case "is the", "is there a" -> "yes/no";
                    default -> "other";
                };
                assertEquals(type, a.answerType());
            }
        }
        assertTrue(disagreements > 0 && disagreements < total / 5, disagreements + " of " + total);
    }

    /** The right answer worked out independently from the scene's object list. */
    private static String answer(String q, JsonArray objs) {
        List<JsonObject> os = new ArrayList<>();
        for (JsonElement e : objs) os.add(e.getAsJsonObject());
        Matcher m;
        if ((m = Pattern.compile("what color is the (\\w+)\\?").matcher(q)).matches())
            return only(os, "shape", m.group(1)).get("color").getAsString();
        if ((m = Pattern.compile("what shape is the (\\w+) object\\?").matcher(q)).matches())
            return only(os, "color", m.group(1)).get("shape").getAsString();
        if (q.equals("how many shapes are there?")) return Integer.toString(os.size());
        if ((m = Pattern.compile("is the (\\w+) on the (\\w+)\\?").matcher(q)).matches()) {
            JsonObject o = only(os, "shape", m.group(1));
            return m.group(2).equals(o.get("horizontal").getAsString()) || m.group(2).equals(o.get("vertical").getAsString()) ? "yes" : "no";
        }
        if ((m = Pattern.compile("is there a (\\w+) (\\w+)\\?").matcher(q)).matches()) {
            String c = m.group(1), s = m.group(2);
            return os.stream().anyMatch(o -> o.get("color").getAsString().equals(c) && o.get("shape").getAsString().equals(s)) ? "yes" : "no";
        }
        throw new AssertionError("unexpected question: " + q);
    }

    private static JsonObject only(List<JsonObject> os, String key, String value) {
        List<JsonObject> hit = os.stream().filter(o -> o.get(key).getAsString().equals(value)).toList();
        assertEquals(1, hit.size(), key + "=" + value + " in " + os);
        return hit.get(0);
    }

    @Test
    void sameSeedSameBytesOtherSeedDiffers() throws IOException {
        Path a = dir.resolve("a"), b = dir.resolve("b"), c = dir.resolve("c");
        SyntheticVqa.write(a, 5, 2, 24, 11);
        SyntheticVqa.write(b, 5, 2, 24, 11);
        SyntheticVqa.write(c, 5, 2, 24, 12);
        List<Path> files;
        try (Stream<Path> w = Files.walk(a)) {
            files = w.filter(Files::isRegularFile).map(a::relativize).sorted().toList();
        }
        assertEquals(4 + 1 + 7, files.size());
        boolean differs = false;
        for (Path f : files) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f.toString());
            differs |= !java.util.Arrays.equals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(c.resolve(f)));
        }
        assertTrue(differs);
    }

    @Test
    void refusesAForeignFolderButReplacesAPreviousDataset() throws IOException {
        Path foreign = Files.createDirectories(dir.resolve("foreign"));
        Files.writeString(foreign.resolve("notes.txt"), "keep me");
        IOException e = assertThrows(IOException.class, () -> SyntheticVqa.write(foreign, 2, 1, 16, 0));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
        assertTrue(Files.exists(foreign.resolve("notes.txt")));

        Path ds = dir.resolve("ds");
        SyntheticVqa.write(ds, 4, 2, 16, 0);
        SyntheticVqa.write(ds, 2, 1, 16, 0);
        try (Stream<Path> files = Files.list(ds.resolve("train2014"))) {
            assertEquals(2, files.count());
        }
        assertFalse(Files.exists(ds.resolve("val2014").resolve("COCO_val2014_000000000005.jpg")));
        assertTrue(Files.exists(ds.resolve("val2014").resolve("COCO_val2014_000000000003.jpg")));
        assertThrows(IllegalArgumentException.class, () -> SyntheticVqa.write(dir.resolve("z"), 0, 0, 16, 0));
        assertThrows(IllegalArgumentException.class, () -> SyntheticVqa.write(dir.resolve("z"), 1, 0, 8, 0));
    }
}
