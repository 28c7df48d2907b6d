package dev.clipvil.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VQA v2 readers on small hand-written files. */
class VqaJsonTest {
    @TempDir
    Path dir;

    @Test
    void readsTheOfficialLayouts() throws IOException {
        Path q = Files.writeString(dir.resolve("q.json"), "{\"task_type\":\"Open-Ended\",\"questions\":"
                + "[{\"image_id\":458752,\"question\":\"What is this photo taken looking through?\",\"question_id\":458752000}]}");
        assertEquals(List.of(new VqaQuestion(458752000L, 458752L, "What is this photo taken looking through?")), VqaJson.readQuestions(q));

        Path a = Files.writeString(dir.resolve("a.json"), "{\"annotations\":[{\"question_type\":\"what is this\",\"multiple_choice_answer\":\"net\","
                + "\"answers\":[{\"answer\":\"net\",\"answer_confidence\":\"maybe\",\"answer_id\":1},{\"answer\":\"netting\",\"answer_confidence\":\"yes\",\"answer_id\":2}],"
                + "\"image_id\":458752,\"answer_type\":\"other\",\"question_id\":458752000},"
                + "{\"question_type\":\"is\",\"answers\":[{\"answer\":\"no\"}],\"image_id\":1,\"answer_type\":\"yes/no\",\"question_id\":2}]}");
        List<VqaAnnotation> anns = VqaJson.readAnnotations(a);
        assertEquals(new VqaAnnotation(458752000L, 458752L, "what is this", "other", List.of("net", "netting"), "net"), anns.get(0));
        assertNull(anns.get(1).multipleChoiceAnswer());

        Path p = Files.writeString(dir.resolve("p.json"), "[{\"question_id\":2,\"answer\":\"no\"},{\"question_id\":458752000,\"answer\":\"net\"}]");
        assertEquals(Map.of(2L, "no", 458752000L, "net"), VqaJson.readPredictions(p));
    }

    @Test
    void faultsNameTheFile() throws IOException {
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"questions\":[{\"image_id\":1,\"question\":\"?\",\"question_id\":\"7\"}]}");
        IOException e = assertThrows(IOException.class, () -> VqaJson.readQuestions(bad));
        assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("questions[0].question_id is not a number"), e.getMessage());
        Path list = Files.writeString(dir.resolve("list.json"), "[]");
        e = assertThrows(IOException.class, () -> VqaJson.readAnnotations(list));
        assertTrue(e.getMessage().contains("list.json") && e.getMessage().contains("not an object"), e.getMessage());
        Path frac = Files.writeString(dir.resolve("frac.json"), "[{\"question_id\":1.5,\"answer\":\"x\"}]");
        e = assertThrows(IOException.class, () -> VqaJson.readPredictions(frac));
        assertTrue(e.getMessage().contains("not an integer"), e.getMessage());
    }
}
