package dev.clipvil.data;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Leave-one-out accuracy and its aggregation, with figures computed by hand. */
class VqaAccuracyTest {
    static List<String> humans(String answer, int k, String other) {
        List<String> h = new ArrayList<>(Collections.nCopies(k, answer));
        h.addAll(Collections.nCopies(10 - k, other));
        return h;
    }

    @Test
    void zeroToFourMatchingAnnotators() {
        assertEquals(0.0, VqaAccuracy.of("cat", humans("cat", 0, "dog")), 1e-12);
        // 1 match: 9 subsets keep it (1/3 each), 1 drops it: 9/3/10
        assertEquals(0.3, VqaAccuracy.of("cat", humans("cat", 1, "dog")), 1e-12);
        // 2 matches: 8 subsets keep both (2/3), 2 keep one (1/3): (16/3 + 2/3)/10
        assertEquals(0.6, VqaAccuracy.of("cat", humans("cat", 2, "dog")), 1e-12);
        // 3 matches: 7 subsets keep all three (1), 3 keep two (2/3): (7 + 2)/10
        assertEquals(0.9, VqaAccuracy.of("cat", humans("cat", 3, "dog")), 1e-12);
        assertEquals(1.0, VqaAccuracy.of("cat", humans("cat", 4, "dog")), 1e-12);
        assertEquals(1.0, VqaAccuracy.of("cat", humans("cat", 10, "dog")), 1e-12);
    }

    @Test
    void normalisationOnlyWhenHumansDisagree() {
        assertEquals(1.0, VqaAccuracy.of("Two.", humans("2", 9, "3")), 1e-12);
        assertEquals(0.0, VqaAccuracy.of("two", humans("2", 10, "2")), 1e-12, "unanimous humans: the script compares raw");
        assertEquals(1.0, VqaAccuracy.of(" 2\n", humans("2", 10, "2")), 1e-12, "strip still applies");
        assertEquals(0.6, VqaAccuracy.of("the cat", humans("Cat", 2, "a dog")), 1e-12);
    }

    static VqaAnnotation ann(long id, String qType, String aType, List<String> answers) {
        return new VqaAnnotation(id, 100 + id, qType, aType, answers, answers.get(0));
    }

    @Test
    void perTypeAggregation() throws IOException {
        Map<Long, VqaAnnotation> a = new LinkedHashMap<>();
        a.put(1L, ann(1, "is the", "yes/no", humans("yes", 10, "yes")));
        a.put(2L, ann(2, "how many", "number", humans("2", 2, "3")));
        a.put(3L, ann(3, "what color", "other", humans("blue", 10, "blue")));
        a.put(4L, ann(4, "what color", "other", humans("white", 4, "grey")));
        Map<Long, String> p = new LinkedHashMap<>();
        p.put(1L, "yes");     // 1.0
        p.put(2L, "two");     // 0.6
        p.put(3L, "red");     // 0.0
        p.put(4L, "White");   // 1.0
        VqaScore s = VqaAccuracy.evaluate(a, p, Path.of("p.json"));
        assertEquals(65.0, s.overall());
        assertEquals(Map.of("yes/no", 100.0, "number", 60.0, "other", 50.0), s.perAnswerType());
        assertEquals(Map.of("is the", 100.0, "how many", 60.0, "what color", 50.0), s.perQuestionType());
        assertEquals(4, s.count());

        p.remove(4L);  // (1 + 0.6 + 0) / 3 = 53.333...
        assertEquals(53.33, VqaAccuracy.evaluate(a, p, Path.of("p.json")).overall());
    }

    @Test
    void unknownPredictedQuestionIsAnError() {
        Map<Long, VqaAnnotation> a = Map.of(1L, ann(1, "is the", "yes/no", humans("yes", 10, "yes")));
        IOException e = assertThrows(IOException.class,
                () -> VqaAccuracy.evaluate(a, Map.of(7L, "yes"), Path.of("preds.json")));
        assertTrue(e.getMessage().contains("preds.json") && e.getMessage().contains("question_id 7"), e.getMessage());
    }

    @Test
    void percentRoundsLikePython() {
        assertEquals(66.67, VqaAccuracy.percent(2.0 / 3));
        assertEquals(33.33, VqaAccuracy.percent(1.0 / 3));
        assertEquals(100.0, VqaAccuracy.percent(1.0));
    }
}
