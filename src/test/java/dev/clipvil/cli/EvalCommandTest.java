package dev.clipvil.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.clipvil.cli.CliFixtures.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code clipvil eval} end to end on tiny VQA files, and its errors on bad input. */
class EvalCommandTest {
    @TempDir
    Path dir;


    private static String answers(String a, int k, String b) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < 10; i++) {
            if (i > 0) s.append(',');
            s.append("{\"answer\":\"").append(i < k ? a : b).append("\",\"answer_confidence\":\"yes\",\"answer_id\":").append(i + 1).append('}');
        }
        return s.append(']').toString();
    }

    private static String ann(int id, String qt, String at, String answers) {
        return "{\"question_id\":" + id + ",\"image_id\":" + (100 + id) + ",\"question_type\":\"" + qt + "\",\"answer_type\":\""
                + at + "\",\"answers\":" + answers + ",\"multiple_choice_answer\":\"x\"}";
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private Path questions() throws IOException {
        return write("q.json", "{\"info\":{},\"questions\":[{\"image_id\":101,\"question\":\"Is it?\",\"question_id\":1},"
                + "{\"image_id\":102,\"question\":\"How many?\",\"question_id\":2},{\"image_id\":103,\"question\":\"What color?\",\"question_id\":3}]}");
    }

    private Path annotations() throws IOException {
        return write("a.json", "{\"annotations\":[" + ann(1, "is the", "yes/no", answers("yes", 10, "yes")) + ","
                + ann(2, "how many", "number", answers("2", 2, "3")) + "," + ann(3, "what color", "other", answers("blue", 3, "red")) + "]}");
    }

    @Test
    void scoresAPredictionsFile() throws IOException {
        Path p = write("p.json", "[{\"question_id\":1,\"answer\":\"yes\"},{\"question_id\":2,\"answer\":\"two\"},{\"question_id\":3,\"answer\":\"Blue.\"}]");
        CliFixtures.Run r = run("eval", "--questions", questions().toString(), "--annotations", annotations().toString(), "--predictions", p.toString());
        assertEquals(0, r.code(), r.err());
        JsonObject j = JsonParser.parseString(r.out()).getAsJsonObject();
        // (1 + 0.6 + 0.9) / 3 = 0.8333...
        assertEquals(83.33, j.get("overall").getAsDouble());
        assertEquals(3, j.get("count").getAsInt());
        assertEquals(60.0, j.getAsJsonObject("perAnswerType").get("number").getAsDouble());
        assertEquals(90.0, j.getAsJsonObject("perAnswerType").get("other").getAsDouble());
        assertEquals(100.0, j.getAsJsonObject("perQuestionType").get("is the").getAsDouble());
    }

    private void assertFails(Path q, Path a, Path p, String... parts) {
        CliFixtures.Run r = run("eval", "--questions", q.toString(), "--annotations", a.toString(), "--predictions", p.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("clipvil: error: "), r.err());
        for (String part : parts) assertTrue(r.err().contains(part), r.err());
    }

    @Test
    void badInputNamesTheFileAndTheFault() throws IOException {
        Path q = questions(), a = annotations();
        Path ok = write("ok.json", "[{\"question_id\":1,\"answer\":\"yes\"}]");
        assertFails(q, a, write("bad.json", "[{\"question_id\":1,"), "bad.json", "malformed JSON");
        assertFails(q, a, write("noans.json", "[{\"question_id\":1}]"), "noans.json", "[0] has no \"answer\"");
        assertFails(q, a, write("unknown.json", "[{\"question_id\":9,\"answer\":\"yes\"}]"), "unknown.json", "question_id 9");
        assertFails(q, a, write("twice.json", "[{\"question_id\":1,\"answer\":\"a\"},{\"question_id\":1,\"answer\":\"b\"}]"), "twice.json", "twice");
        assertFails(q, write("a2.json", "{\"annotations\":[{\"question_id\":1,\"image_id\":1,\"answer_type\":\"x\",\"answers\":[{\"answer\":\"yes\"}]}]}"), ok,
                "a2.json", "annotations[0] has no \"question_type\"");
        assertFails(write("q2.json", "{\"questions\":{}}"), a, ok, "q2.json", "\"questions\" is not a list");
        Path qOnly = write("q3.json", "{\"questions\":[{\"image_id\":1,\"question\":\"?\",\"question_id\":5}]}");
        assertFails(qOnly, a, write("p5.json", "[{\"question_id\":5,\"answer\":\"yes\"}]"), "p5.json", "not in the annotations");
    }
}
