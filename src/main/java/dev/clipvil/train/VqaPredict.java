package dev.clipvil.train;

import com.google.gson.Gson;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.data.VqaBatch;
import dev.clipvil.data.VqaBatches;
import dev.clipvil.ops.Reductions;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.ClipVil;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Answers from a VQA model: arg-max over the answer vocabulary, for a whole eval split or one question. */
public final class VqaPredict {
    private VqaPredict() {}

    /** The predicted answer of every question of {@code val}'s eval order (model in eval mode, no gradients). */
    public static Map<Long, String> predictAll(ClipVil model, VqaBatches val, List<String> answers, PrintStream progress) throws IOException {
        dev.clipvil.tensor.Device device = model.bert().embeddings().wordEmbeddings().weight().device();
        model.eval();
        Map<Long, String> out = new LinkedHashMap<>();
        try (GradMode.Guard g = GradMode.noGrad(); TrainProgress bar = new TrainProgress("eval", val.evalBatches(), progress != null, progress)) {
            for (int i = 0; i < val.evalBatches(); i++) {
                try (VqaBatch b = VqaTrainer.onDevice(val.evalBatch(i), device); MemoryScope s = MemoryScope.open()) {
                    long[] best = Reductions.argmax(VqaTrainer.forward(model, b, false), 1, false).toLongArray();
                    long[] ids = b.questionIds();
                    for (int j = 0; j < ids.length; j++) out.put(ids[j], answers.get((int) best[j]));
                }
                bar.step("");
            }
        }
        return out;
    }

    /** Writes {@code [{"question_id": ..., "answer": ...}]} (the official results format) atomically. */
    public static void writePredictions(Map<Long, String> predictions, Path file) throws IOException {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (var e : predictions.entrySet()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("question_id", e.getKey());
            r.put("answer", e.getValue());
            rows.add(r);
        }
        AtomicFiles.replace(file, new Gson().toJson(rows));
    }

    /** One answer with its sigmoid score. */
    public record Scored(String answer, double score) {}

    /** The {@code k} best answers of logits [1, A] with their sigmoid scores (the model is trained with BCE). */
    public static List<Scored> top(Tensor logits, List<String> answers, int k) {
        float[] l = logits.toFloatArray();
        Integer[] idx = new Integer[l.length];
        for (int i = 0; i < l.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (a, b) -> Float.compare(l[b], l[a]));
        List<Scored> out = new ArrayList<>();
        for (int i = 0; i < Math.min(k, l.length); i++) out.add(new Scored(answers.get(idx[i]), 1 / (1 + Math.exp(-l[idx[i]]))));
        return out;
    }
}
