package dev.clipvil.data;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Vocabulary by count threshold and min(1, count/3) soft targets. */
class VqaAnswerVocabTest {
    static VqaAnnotation mc(long id, String answer) {
        return new VqaAnnotation(id, id, "what", "other", List.of(answer), answer);
    }

    @Test
    void vocabularyKeepsFrequentNormalisedAnswers() {
        List<VqaAnnotation> train = List.of(mc(1, "yes"), mc(2, "yes"), mc(3, "Yes."), mc(4, "Two"), mc(5, "2"),
                mc(6, "two"), mc(7, "red"), mc(8, "zebra"), mc(9, "zebra"));
        VqaAnswerVocab v = VqaAnswerVocab.fromAnnotations(train, 2);
        assertEquals(List.of("2", "yes", "zebra"), v.answers());
        assertEquals(0, VqaAnswerVocab.fromAnnotations(train).size());
        assertEquals(-1, v.indexOf("red"));
        assertEquals(0, v.indexOf("two"));
    }

    @Test
    void softTargetsAndTensor() {
        VqaAnswerVocab v = new VqaAnswerVocab(List.of("2", "yes", "zebra"));
        VqaAnnotation a = new VqaAnnotation(5, 1, "how many", "number",
                List.of("2", "2", "two", "Two", "yes", "blue", "blue", "2", "2", "3"), "2");
        VqaAnswerVocab.SoftTarget t = v.target(a);
        assertArrayEquals(new int[]{0, 1}, t.indices());
        assertArrayEquals(new float[]{1f, 1f / 3}, t.scores());
        VqaAnnotation b = new VqaAnnotation(6, 1, "what", "other", List.of("zebra", "zebra", "cat"), "zebra");
        try (Tensor x = v.targetTensor(List.of(t, v.target(b)))) {
            assertArrayEquals(new int[]{2, 3}, x.shape());
            assertArrayEquals(new float[]{1f, 1f / 3, 0f, 0f, 0f, 2f / 3}, x.toFloatArray());
        }
    }

    @Test
    void duplicateAfterNormalisationIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> new VqaAnswerVocab(List.of("two", "2")));
    }
}
