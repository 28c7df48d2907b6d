package dev.clipvil.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** VqaSplit: joining questions with annotations and images, and every bad-input error with what it names. */
class VqaSplitTest {
    @TempDir
    Path tmp;

    @Test
    void loadsTheSyntheticSplitsInFileOrder() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        VqaSplit train = VqaSplit.load(dir, "train2014", null, true);
        assertEquals(30, train.size());
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), train.imageIds());
        assertEquals(dir.resolve("train2014"), train.imageDir());
        assertTrue(train.annotated());
        List<VqaQuestion> qs = VqaJson.readQuestions(dir.resolve(SyntheticVqa.questionsFile("train2014")));
        List<VqaAnnotation> as = VqaJson.readAnnotations(dir.resolve(SyntheticVqa.annotationsFile("train2014")));
        for (int i = 0; i < qs.size(); i++) {
            VqaItem it = train.items().get(i);
            assertEquals(qs.get(i).questionId(), it.questionId());
            assertEquals(qs.get(i).question(), it.question());
            assertEquals(dir.resolve(SyntheticVqa.imageFile("train2014", it.imageId())), it.image());
            assertTrue(Files.isRegularFile(it.image()));
            VqaAnnotation a = as.stream().filter(x -> x.questionId() == it.questionId()).findFirst().orElseThrow();
            assertEquals(10, it.answers().size());
            assertEquals(a.answers(), it.rawAnswers());
            assertEquals(a.answers().stream().map(VqaAnswers::normalize).toList(), it.answers());
            assertEquals(a.multipleChoiceAnswer(), it.multipleChoiceAnswer());
            assertEquals(a.answerType(), it.answerType());
        }
        assertEquals(30, train.annotations().size());
        VqaSplit val = VqaSplit.load(dir, "val2014", null, true);
        assertEquals(List.of(7L, 8L), val.imageIds());
        assertEquals(List.of("train2014", "val2014"), VqaSplit.splits(dir));
    }

    @Test
    void anotherImageFolderAndASplitWithoutAnnotations() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        Files.delete(dir.resolve(SyntheticVqa.annotationsFile("val2014")));
        Path images = Files.move(dir.resolve("val2014"), tmp.resolve("elsewhere"));
        VqaSplit val = VqaSplit.load(dir, "val2014", images, false);
        assertFalse(val.annotated());
        assertEquals(10, val.size());
        VqaItem it = val.items().get(0);
        assertEquals(images.resolve(VqaSplit.imageName("val2014", it.imageId())), it.image());
        assertTrue(Files.isRegularFile(it.image()));
        assertFalse(it.annotated());
        assertTrue(it.answers().isEmpty());
        assertNull(it.multipleChoiceAnswer());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VqaSplit.load(dir, "val2014", images, true));
        assertTrue(e.getMessage().contains(dir.resolve(SyntheticVqa.annotationsFile("val2014")).toString()), e.getMessage());
        assertTrue(e.getMessage().contains("no annotations"), e.getMessage());
    }

    @Test
    void missingDataFolderUnknownSplitAndMissingImageFolder() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        Path none = tmp.resolve("nope");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VqaSplit.load(none, "train2014", null, true));
        assertTrue(e.getMessage().contains(none + " does not exist"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> VqaSplit.load(dir, "test2015", null, true));
        assertTrue(e.getMessage().contains("unknown split 'test2015'"), e.getMessage());
        assertTrue(e.getMessage().contains("splits in " + dir + ": train2014, val2014"), e.getMessage());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(IllegalArgumentException.class, () -> VqaSplit.load(empty, "train2014", null, true));
        assertTrue(e.getMessage().contains("splits in " + empty + ": none"), e.getMessage());

        Path moved = Files.move(dir.resolve("train2014"), tmp.resolve("moved"));
        e = assertThrows(IllegalArgumentException.class, () -> VqaSplit.load(dir, "train2014", null, true));
        assertTrue(e.getMessage().contains("image folder " + dir.resolve("train2014") + " of split 'train2014' does not exist"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> VqaSplit.load(dir, "train2014", tmp.resolve("other"), true));
        assertTrue(e.getMessage().contains(tmp.resolve("other").toString()), e.getMessage());
        assertEquals(30, VqaSplit.load(dir, "train2014", moved, true).size());
    }

    @Test
    void malformedJsonNamesTheFile() throws IOException {
        Path dir = VqaTestData.synthetic(tmp.resolve("d"));
        Path q = dir.resolve(SyntheticVqa.questionsFile("val2014"));
        Files.writeString(q, "{\"questions\": [ {\"image_id\": 7, ");
        IOException e = assertThrows(IOException.class, () -> VqaSplit.load(dir, "val2014", null, true));
        assertTrue(e.getMessage().startsWith(q + ": malformed JSON"), e.getMessage());

        Path a = dir.resolve(SyntheticVqa.annotationsFile("train2014"));
        Files.writeString(a, "{\"annotations\": 3}");
        e = assertThrows(IOException.class, () -> VqaSplit.load(dir, "train2014", null, true));
        assertTrue(e.getMessage().startsWith(a + ": \"annotations\" is not a list"), e.getMessage());
    }

    @Test
    void questionsAndAnnotationsThatDoNotMatch() throws IOException {
        Path dir = tmp.resolve("h");
        Path a = dir.resolve(SyntheticVqa.annotationsFile("s"));
        Files.createDirectories(dir);
        VqaTestData.writeSplit(dir, "s", List.of(VqaTestData.question(10, 1, "what?"), VqaTestData.question(11, 1, "which?")),
                List.of(VqaTestData.annotation(10, 1, "red", "red")));
        IOException e = assertThrows(IOException.class, () -> VqaSplit.load(dir, "s", null, true));
        assertTrue(e.getMessage().startsWith(a + ": has no annotation for question_id 11 (image_id 1)"), e.getMessage());

        VqaTestData.writeSplit(dir, "s", List.of(VqaTestData.question(10, 1, "what?")), List.of(VqaTestData.annotation(10, 2, "red", "red")));
        e = assertThrows(IOException.class, () -> VqaSplit.load(dir, "s", null, true));
        assertTrue(e.getMessage().contains("question_id 10 is annotated with image_id 2"), e.getMessage());

        VqaTestData.writeSplit(dir, "s", List.of(VqaTestData.question(10, 1, "what?"), VqaTestData.question(10, 1, "again?")),
                List.of(VqaTestData.annotation(10, 1, "red", "red")));
        e = assertThrows(IOException.class, () -> VqaSplit.load(dir, "s", null, true));
        assertTrue(e.getMessage().contains(SyntheticVqa.questionsFile("s") + ": question_id 10 appears twice"), e.getMessage());

        VqaTestData.writeSplit(dir, "s", List.of(VqaTestData.question(10, 1, "what?")),
                List.of(VqaTestData.annotation(10, 1, "red", "red"), VqaTestData.annotation(10, 1, "red", "blue")));
        e = assertThrows(IOException.class, () -> VqaSplit.load(dir, "s", null, true));
        assertTrue(e.getMessage().startsWith(a + ": question_id 10 is annotated twice"), e.getMessage());

        VqaTestData.writeSplit(dir, "s", List.of(Map.of("image_id", 1, "question_id", 10)), null);
        e = assertThrows(IOException.class, () -> VqaSplit.load(dir, "s", null, false));
        assertTrue(e.getMessage().contains("has no \"question\""), e.getMessage());
    }
}
