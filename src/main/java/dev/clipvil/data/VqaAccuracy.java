package dev.clipvil.data;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The official VQA v2 accuracy (vqaEval.py). For one question: both the prediction and the human answers
 * get newline/tab-to-space and strip; when the human answers are not all identical, both are normalised
 * ({@link VqaAnswers#punctuation} then {@link VqaAnswers#digitArticle}); then the accuracy is the mean,
 * over the 10 ways of leaving one human answer out, of min(1, matches among the others / 3). (So with
 * unanimous humans the prediction is compared raw: "two" against ten "2" scores 0, as in the script.)
 * Overall and per-type figures are means of the per-question accuracies, in percent rounded to 2 decimals.
 */
public final class VqaAccuracy {
    private VqaAccuracy() {}

    /** The accuracy in [0, 1] of one predicted answer against the human answers. */
    public static double of(String predicted, List<String> humans) {
        if (humans.isEmpty()) throw new IllegalArgumentException("no human answers to score against");
        String res = VqaAnswers.clean(predicted);
        List<String> gts = new ArrayList<>(humans.size());
        for (String h : humans) gts.add(VqaAnswers.clean(h));
        if (new HashSet<>(gts).size() > 1) {
            gts.replaceAll(g -> VqaAnswers.digitArticle(VqaAnswers.punctuation(g)));
            res = VqaAnswers.digitArticle(VqaAnswers.punctuation(res));
        }
        int total = 0;
        for (String g : gts) if (g.equals(res)) total++;
        double sum = 0;
        for (String g : gts) {
            int others = total - (g.equals(res) ? 1 : 0);
            sum += Math.min(1.0, others / 3.0);
        }
        return sum / gts.size();
    }

    /**
     * Scores every prediction (as the script, over the predicted question ids); a predicted question id
     * without an annotation is an error naming {@code predictionsFile}.
     */
    public static VqaScore evaluate(Map<Long, VqaAnnotation> annotations, Map<Long, String> predictions,
                                    Path predictionsFile) throws IOException {
        double sum = 0;
        Map<String, double[]> byAnswer = new TreeMap<>(), byQuestion = new TreeMap<>();
        for (Map.Entry<Long, String> p : predictions.entrySet()) {
            VqaAnnotation a = annotations.get(p.getKey());
            if (a == null) throw VqaJson.fault(predictionsFile, "question_id " + p.getKey() + " is not in the annotations");
            double acc = of(p.getValue(), a.answers());
            sum += acc;
            add(byAnswer, a.answerType(), acc);
            add(byQuestion, a.questionType(), acc);
        }
        int n = predictions.size();
        return new VqaScore(n == 0 ? 0 : percent(sum / n), means(byAnswer), means(byQuestion), n);
    }

    private static void add(Map<String, double[]> m, String key, double acc) {
        double[] s = m.computeIfAbsent(key, k -> new double[2]);
        s[0] += acc;
        s[1]++;
    }

    private static Map<String, Double> means(Map<String, double[]> m) {
        Map<String, Double> out = new TreeMap<>();
        m.forEach((k, s) -> out.put(k, percent(s[0] / s[1])));
        return out;
    }

    /** round(100 * x, 2) as Python rounds a double: the exact binary value, ties to even. */
    static double percent(double x) {
        return new BigDecimal(100 * x).setScale(2, RoundingMode.HALF_EVEN).doubleValue();
    }
}
