package dev.clipvil.cli;

import com.google.gson.GsonBuilder;
import dev.clipvil.data.VqaAccuracy;
import dev.clipvil.data.VqaAnnotation;
import dev.clipvil.data.VqaJson;
import dev.clipvil.data.VqaQuestion;
import dev.clipvil.data.VqaScore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code clipvil eval}: the official VQA v2 accuracy of a predictions file, printed as JSON. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Score VQA v2 predictions ([{\"question_id\", \"answer\"}]) with the official VQA accuracy; prints JSON.")
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--questions", required = true, paramLabel = "Q.json", description = "v2_OpenEnded_mscoco_<split>_questions.json")
    Path questions;

    @Option(names = "--annotations", required = true, paramLabel = "A.json", description = "v2_mscoco_<split>_annotations.json")
    Path annotations;

    @Option(names = "--predictions", required = true, paramLabel = "P.json", description = "Predictions in the official result format.")
    Path predictions;

    @Override
    public Integer call() throws IOException {
        Set<Long> asked = new HashSet<>();
        for (VqaQuestion q : VqaJson.readQuestions(questions)) asked.add(q.questionId());
        Map<Long, VqaAnnotation> byId = new HashMap<>();
        for (VqaAnnotation a : VqaJson.readAnnotations(annotations)) byId.put(a.questionId(), a);
        Map<Long, String> preds = VqaJson.readPredictions(predictions);
        for (Long id : preds.keySet())
            if (!asked.contains(id)) throw new IOException(predictions + ": question_id " + id + " is not in " + questions);
        VqaScore s = VqaAccuracy.evaluate(byId, preds, predictions);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("overall", s.overall());
        json.put("perAnswerType", s.perAnswerType());
        json.put("perQuestionType", s.perQuestionType());
        json.put("count", s.count());
        PrintWriter out = spec.commandLine().getOut();
        out.println(new GsonBuilder().setPrettyPrinting().create().toJson(json));
        out.flush();
        return 0;
    }
}
