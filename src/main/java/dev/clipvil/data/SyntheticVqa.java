package dev.clipvil.data;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a synthetic VQA dataset in exactly the VQA v2 release layout (questions and annotations JSON
 * per split, COCO-named JPEGs under train2014/ and val2014/), so the real readers and {@code clipvil eval}
 * work on it with nothing downloaded. Each image is a {@link SyntheticScene}; its five questions and
 * answers come from {@link SyntheticAsk}. A sidecar scenes.json lists every image's objects (for tests
 * and debugging) and marks the folder as one this class may overwrite. The same seed gives the same bytes.
 */
public final class SyntheticVqa {
    /** The value of scenes.json's "generator" field that marks a folder as a synthetic dataset. */
    public static final String GENERATOR = "clipvil make-synthetic";
    public static final String SCENES = "scenes.json";

    /** What was written: image and question counts per split, and the folder. */
    public record Summary(Path dir, int trainImages, int valImages, int questions, int size, long seed) {}

    private record Made(long imageId, SyntheticScene scene, List<SyntheticAsk.Asked> asked) {}

    private SyntheticVqa() {}

    public static String questionsFile(String split) {
        return "v2_OpenEnded_mscoco_" + split + "_questions.json";
    }

    public static String annotationsFile(String split) {
        return "v2_mscoco_" + split + "_annotations.json";
    }

    public static String imageFile(String split, long imageId) {
        return split + "/COCO_" + split + "_" + String.format("%012d", imageId) + ".jpg";
    }

    /**
     * Generates train and val images (train ids 1..train, val ids continuing after them) into dir; dir
     * must be missing, empty, or a previous synthetic dataset (whose files are then replaced).
     */
    public static Summary write(Path dir, int train, int val, int size, long seed) throws IOException {
        if (train < 0 || val < 0 || train + val == 0)
            throw new IllegalArgumentException("make-synthetic: --train and --val must be >= 0 and not both 0, got " + train + " and " + val);
        if (size < 16 || size > 4096) throw new IllegalArgumentException("make-synthetic: --size must be in 16..4096, got " + size);
        prepare(dir);
        List<Map<String, Object>> scenes = new ArrayList<>();
        int questions = writeSplit(dir, "train2014", 1, train, size, seed, scenes);
        questions += writeSplit(dir, "val2014", train + 1L, val, size, seed, scenes);
        Map<String, Object> side = new LinkedHashMap<>();
        side.put("generator", GENERATOR);
        side.put("seed", seed);
        side.put("size", size);
        side.put("images", scenes);
        json(dir.resolve(SCENES), side);
        return new Summary(dir, train, val, questions, size, seed);
    }

    private static int writeSplit(Path dir, String split, long firstId, int n, int size, long seed,
                                  List<Map<String, Object>> scenes) throws IOException {
        Files.createDirectories(dir.resolve(split));
        Made[] made = new Made[n];
        try {
            IntStream.range(0, n).parallel().forEach(i -> made[i] = make(dir, split, firstId + i, size, seed));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        List<Map<String, Object>> qs = new ArrayList<>(), anns = new ArrayList<>();
        for (Made m : made) {
            for (SyntheticAsk.Asked a : m.asked()) {
                long qid = m.imageId() * 10 + a.k();
                Map<String, Object> q = new LinkedHashMap<>();
                q.put("image_id", m.imageId());
                q.put("question", a.question());
                q.put("question_id", qid);
                qs.add(q);
                List<Map<String, Object>> answers = new ArrayList<>();
                for (int j = 0; j < a.humans().size(); j++) {
                    Map<String, Object> h = new LinkedHashMap<>();
                    h.put("answer", a.humans().get(j));
                    h.put("answer_confidence", a.sure().get(j) ? "yes" : "maybe");
                    h.put("answer_id", j + 1);
                    answers.add(h);
                }
                Map<String, Object> an = new LinkedHashMap<>();
                an.put("question_type", a.questionType());
                an.put("multiple_choice_answer", a.answer());
                an.put("answers", answers);
                an.put("image_id", m.imageId());
                an.put("answer_type", a.answerType());
                an.put("question_id", qid);
                anns.add(an);
            }
            scenes.add(describe(split, m));
        }
        Map<String, Object> qf = new LinkedHashMap<>();
        qf.put("info", info());
        qf.put("task_type", "Open-Ended");
        qf.put("data_type", "mscoco");
        qf.put("license", license());
        qf.put("data_subtype", split);
        qf.put("questions", qs);
        json(dir.resolve(questionsFile(split)), qf);
        Map<String, Object> af = new LinkedHashMap<>();
        af.put("info", info());
        af.put("license", license());
        af.put("data_subtype", split);
        af.put("annotations", anns);
        json(dir.resolve(annotationsFile(split)), af);
        return qs.size();
    }

    private static Made make(Path dir, String split, long imageId, int size, long seed) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + imageId);
        SplittableRandom pixels = r.split();
        SyntheticScene scene = SyntheticScene.random(r);
        List<SyntheticAsk.Asked> asked = SyntheticAsk.ask(scene, r);
        try {
            jpeg(scene.render(size, pixels), dir.resolve(imageFile(split, imageId)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Made(imageId, scene, asked);
    }

    private static Map<String, Object> describe(String split, Made m) {
        List<Map<String, Object>> objs = new ArrayList<>();
        for (SyntheticScene.Item it : m.scene().objects()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("shape", it.shape());
            o.put("color", it.color());
            o.put("horizontal", it.horizontal());
            o.put("vertical", it.vertical());
            objs.add(o);
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("image_id", m.imageId());
        s.put("split", split);
        s.put("file", imageFile(split, m.imageId()));
        s.put("background", m.scene().background());
        s.put("objects", objs);
        return s;
    }

    private static void jpeg(BufferedImage img, Path file) throws IOException {
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream os = ImageIO.createImageOutputStream(Files.newOutputStream(file))) {
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(0.95f);
            w.setOutput(os);
            w.write(null, new IIOImage(img, null, null), p);
        } finally {
            w.dispose();
        }
    }

    private static Map<String, Object> info() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("description", "clipvil synthetic shapes VQA (VQA v2 layout)");
        m.put("version", "1.0");
        m.put("year", 2026);
        m.put("contributor", "clipvil make-synthetic");
        return m;
    }

    private static Map<String, Object> license() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "generated data, no restrictions");
        m.put("url", "");
        return m;
    }

    private static void json(Path file, Object value) throws IOException {
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            new Gson().toJson(value, w);
        }
    }

    /** Creates dir, or clears a previous synthetic dataset there; refuses any other non-empty folder. */
    private static void prepare(Path dir) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IOException(dir + ": exists and is not a folder");
        Files.createDirectories(dir);
        boolean empty;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            empty = !ds.iterator().hasNext();
        }
        if (empty) return;
        if (!isSynthetic(dir.resolve(SCENES)))
            throw new IOException(dir + ": folder is not empty and is not a previous synthetic dataset (no " + SCENES
                    + " from " + GENERATOR + "); choose an empty or new --out");
        for (String split : new String[] {"train2014", "val2014"}) {
            Files.deleteIfExists(dir.resolve(questionsFile(split)));
            Files.deleteIfExists(dir.resolve(annotationsFile(split)));
            Path d = dir.resolve(split);
            if (!Files.isDirectory(d)) continue;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, "COCO_" + split + "_*.jpg")) {
                for (Path f : ds) Files.delete(f);
            }
        }
        Files.delete(dir.resolve(SCENES));
    }

    private static boolean isSynthetic(Path scenes) {
        if (!Files.isRegularFile(scenes)) return false;
        try (var r = Files.newBufferedReader(scenes, StandardCharsets.UTF_8)) {
            JsonElement e = JsonParser.parseReader(r);
            return e.isJsonObject() && e.getAsJsonObject().has("generator")
                    && GENERATOR.equals(e.getAsJsonObject().get("generator").getAsString());
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
