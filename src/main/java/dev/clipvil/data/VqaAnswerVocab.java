package dev.clipvil.data;

import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The answer vocabulary of a VQA classifier and its soft targets. Answers are normalised with
 * {@link VqaAnswers#normalize}; the vocabulary built from training annotations keeps the
 * multiple-choice answers seen at least {@code minCount} times (9 by default, as in the bottom-up
 * attention / LXMERT recipes), ordered by decreasing count then alphabetically.
 */
public final class VqaAnswerVocab {
    public static final int DEFAULT_MIN_COUNT = 9;

    /** A question's soft target: vocabulary indices and their scores min(1, humans giving it / 3). */
    public record SoftTarget(long questionId, int[] indices, float[] scores) {}

    private final List<String> answers;
    private final Map<String, Integer> index = new HashMap<>();

    /** A vocabulary from a given answer list (normalised; duplicates after normalisation are an error). */
    public VqaAnswerVocab(List<String> answers) {
        List<String> list = new ArrayList<>();
        for (String a : answers) {
            String n = VqaAnswers.normalize(a);
            if (index.putIfAbsent(n, list.size()) != null)
                throw new IllegalArgumentException("answer vocabulary lists \"" + n + "\" twice (after normalisation)");
            list.add(n);
        }
        this.answers = Collections.unmodifiableList(list);
    }

    public static VqaAnswerVocab fromAnnotations(List<VqaAnnotation> train) {
        return fromAnnotations(train, DEFAULT_MIN_COUNT);
    }

    public static VqaAnswerVocab fromAnnotations(List<VqaAnnotation> train, int minCount) {
        Map<String, Integer> counts = new TreeMap<>();
        for (VqaAnnotation a : train) {
            if (a.multipleChoiceAnswer() == null) continue;
            counts.merge(VqaAnswers.normalize(a.multipleChoiceAnswer()), 1, Integer::sum);
        }
        List<Map.Entry<String, Integer>> kept = new ArrayList<>();
        for (Map.Entry<String, Integer> e : counts.entrySet()) if (e.getValue() >= minCount) kept.add(e);
        kept.sort(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        List<String> list = new ArrayList<>();
        for (Map.Entry<String, Integer> e : kept) list.add(e.getKey());
        return new VqaAnswerVocab(list);
    }

    public List<String> answers() { return answers; }

    public int size() { return answers.size(); }

    /** The index of an answer (normalised first), or -1. */
    public int indexOf(String answer) { return index.getOrDefault(VqaAnswers.normalize(answer), -1); }

    /** The soft target of one annotated question (answers outside the vocabulary are dropped). */
    public SoftTarget target(VqaAnnotation a) {
        Map<Integer, Integer> counts = new LinkedHashMap<>();
        for (String h : a.answers()) {
            int i = indexOf(h);
            if (i >= 0) counts.merge(i, 1, Integer::sum);
        }
        int[] idx = new int[counts.size()];
        float[] sc = new float[counts.size()];
        int k = 0;
        for (Map.Entry<Integer, Integer> e : new TreeMap<>(counts).entrySet()) {
            idx[k] = e.getKey();
            sc[k++] = (float) Math.min(1.0, e.getValue() / 3.0);
        }
        return new SoftTarget(a.questionId(), idx, sc);
    }

    /** The dense [N, V] F32 target tensor of a batch of soft targets. */
    public Tensor targetTensor(List<SoftTarget> batch) {
        int v = size();
        float[] data = new float[batch.size() * v];
        for (int r = 0; r < batch.size(); r++) {
            SoftTarget t = batch.get(r);
            for (int j = 0; j < t.indices().length; j++) data[r * v + t.indices()[j]] = t.scores()[j];
        }
        return Tensor.of(data, batch.size(), v);
    }
}
