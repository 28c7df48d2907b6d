package dev.clipvil.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Readers (Gson) for the VQA v2 files: questions ({@code {"questions": [...]}}), annotations
 * ({@code {"annotations": [...]}}) and predictions in the official result format
 * ({@code [{"question_id": ..., "answer": ...}]}). Malformed JSON or a missing / mistyped field is an
 * {@link IOException} naming the file and the fault.
 */
public final class VqaJson {
    private VqaJson() {}

    public static List<VqaQuestion> readQuestions(Path file) throws IOException {
        List<VqaQuestion> out = new ArrayList<>();
        JsonArray items = array(object(parse(file), file, "the file").get("questions"), file, "\"questions\"");
        for (int i = 0; i < items.size(); i++) {
            String where = "questions[" + i + "]";
            JsonObject q = object(items.get(i), file, where);
            out.add(new VqaQuestion(number(q, "question_id", file, where), number(q, "image_id", file, where),
                    string(q, "question", file, where)));
        }
        return out;
    }

    public static List<VqaAnnotation> readAnnotations(Path file) throws IOException {
        List<VqaAnnotation> out = new ArrayList<>();
        JsonArray items = array(object(parse(file), file, "the file").get("annotations"), file, "\"annotations\"");
        for (int i = 0; i < items.size(); i++) {
            String where = "annotations[" + i + "]";
            JsonObject a = object(items.get(i), file, where);
            JsonArray answers = array(a.get("answers"), file, where + ".answers");
            List<String> texts = new ArrayList<>();
            for (int j = 0; j < answers.size(); j++) {
                String w = where + ".answers[" + j + "]";
                texts.add(string(object(answers.get(j), file, w), "answer", file, w));
            }
            if (texts.isEmpty()) throw fault(file, where + ".answers is empty");
            JsonElement mc = a.get("multiple_choice_answer");
            out.add(new VqaAnnotation(number(a, "question_id", file, where), number(a, "image_id", file, where),
                    string(a, "question_type", file, where), string(a, "answer_type", file, where), texts,
                    mc == null || mc.isJsonNull() ? null : string(a, "multiple_choice_answer", file, where)));
        }
        return out;
    }

    /** Predictions keyed by question id, in file order; a repeated question id is an error. */
    public static Map<Long, String> readPredictions(Path file) throws IOException {
        Map<Long, String> out = new LinkedHashMap<>();
        JsonArray items = array(parse(file), file, "the file (a list of {\"question_id\", \"answer\"})");
        for (int i = 0; i < items.size(); i++) {
            String where = "[" + i + "]";
            JsonObject p = object(items.get(i), file, where);
            long id = number(p, "question_id", file, where);
            if (out.put(id, string(p, "answer", file, where)) != null)
                throw fault(file, where + ": question_id " + id + " is predicted twice");
        }
        return out;
    }

    private static JsonElement parse(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return JsonParser.parseReader(r);
        } catch (JsonParseException e) {
            throw fault(file, "malformed JSON: " + e.getMessage());
        }
    }

    private static JsonObject object(JsonElement e, Path file, String where) throws IOException {
        if (e == null || !e.isJsonObject()) throw fault(file, where + " is " + (e == null ? "missing" : "not an object"));
        return e.getAsJsonObject();
    }

    private static JsonArray array(JsonElement e, Path file, String where) throws IOException {
        if (e == null || !e.isJsonArray()) throw fault(file, where + " is " + (e == null ? "missing" : "not a list"));
        return e.getAsJsonArray();
    }

    private static long number(JsonObject o, String key, Path file, String where) throws IOException {
        JsonElement e = o.get(key);
        if (e == null) throw fault(file, where + " has no \"" + key + "\"");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber())
            throw fault(file, where + "." + key + " is not a number: " + e);
        try {
            return e.getAsJsonPrimitive().getAsBigDecimal().longValueExact();
        } catch (ArithmeticException ex) {
            throw fault(file, where + "." + key + " is not an integer: " + e);
        }
    }

    private static String string(JsonObject o, String key, Path file, String where) throws IOException {
        JsonElement e = o.get(key);
        if (e == null) throw fault(file, where + " has no \"" + key + "\"");
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString())
            throw fault(file, where + "." + key + " is not a string: " + e);
        return e.getAsString();
    }

    static IOException fault(Path file, String what) {
        return new IOException(file + ": " + what);
    }
}
