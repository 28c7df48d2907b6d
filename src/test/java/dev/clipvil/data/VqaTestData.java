package dev.clipvil.data;

import com.google.gson.Gson;
import dev.clipvil.vil.BertTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** What the VQA data tests share: a small synthetic dataset, a tokenizer covering its words, hand-written JSON files. */
final class VqaTestData {
    private VqaTestData() {}

    /** 6 train images and 2 val images of 32 px (5 questions each). */
    static Path synthetic(Path dir) throws IOException {
        SyntheticVqa.write(dir, 6, 2, 32, 11);
        return dir;
    }

    /** A WordPiece vocabulary of the special tokens plus every word and mark of the questions (lower case). */
    static BertTokenizer tokenizer(List<VqaItem> items) {
        Set<String> words = new LinkedHashSet<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "?", ","));
        for (VqaItem it : items) {
            for (String w : it.question().toLowerCase(Locale.ROOT).split("[^a-z0-9]+")) if (!w.isEmpty()) words.add(w);
        }
        return new BertTokenizer(new ArrayList<>(words), true);
    }

    static void json(Path file, Object value) throws IOException {
        Files.writeString(file, new Gson().toJson(value));
    }

    static Map<String, Object> question(long qid, long imageId, String text) {
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("image_id", imageId);
        q.put("question", text);
        q.put("question_id", qid);
        return q;
    }

    static Map<String, Object> annotation(long qid, long imageId, String mc, String... answers) {
        List<Map<String, Object>> hs = new ArrayList<>();
        for (int i = 0; i < answers.length; i++) hs.add(Map.of("answer", answers[i], "answer_confidence", "yes", "answer_id", i + 1));
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("question_type", "what");
        a.put("multiple_choice_answer", mc);
        a.put("answers", hs);
        a.put("image_id", imageId);
        a.put("answer_type", "other");
        a.put("question_id", qid);
        return a;
    }

    /** Writes the questions and annotations files of {@code split} in {@code dir} (annotations skipped when null). */
    static void writeSplit(Path dir, String split, List<Map<String, Object>> questions, List<Map<String, Object>> annotations) throws IOException {
        json(dir.resolve(SyntheticVqa.questionsFile(split)), Map.of("questions", questions));
        if (annotations != null) json(dir.resolve(SyntheticVqa.annotationsFile(split)), Map.of("annotations", annotations));
        Files.createDirectories(dir.resolve(split));
    }
}
