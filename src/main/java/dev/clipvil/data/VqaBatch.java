package dev.clipvil.data;

import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * One batch of N questions over M distinct images. Text: {@code inputIds}, {@code tokenTypeIds},
 * {@code attentionMask} [N, T] I32 ("[CLS] question [SEP]", padded). Images: {@code pixels}
 * [M, 3, R, R] F32 (pixel mode, else null) or {@code grid} [M, C, h, w] F32 (grid mode, else null), and
 * {@code imageOfQuestion} [N] I32, the row of each question's image. {@code targets} [N, numAnswers] F32
 * soft scores (null without an answer vocabulary). {@code epoch} is -1 for an evaluation batch.
 * Closing the batch closes its tensors.
 */
public record VqaBatch(int epoch, int index, Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask, Tensor pixels, Tensor grid,
                       Tensor imageOfQuestion, Tensor targets, List<VqaItem> items, long[] imageIds) implements AutoCloseable {
    public VqaBatch {
        items = List.copyOf(items);
    }

    /** N, the number of questions. */
    public int size() { return items.size(); }

    /** M, the number of distinct images. */
    public int images() { return imageIds.length; }

    public long[] questionIds() {
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = items.get(i).questionId();
        return out;
    }

    public List<String> questions() {
        List<String> out = new ArrayList<>(items.size());
        for (VqaItem it : items) out.add(it.question());
        return out;
    }

    /** Each question's human answers as given (for {@link VqaAccuracy}); empty lists without annotations. */
    public List<List<String>> answers() {
        List<List<String>> out = new ArrayList<>(items.size());
        for (VqaItem it : items) out.add(it.rawAnswers());
        return out;
    }

    @Override
    public void close() {
        for (Tensor t : new Tensor[]{inputIds, tokenTypeIds, attentionMask, pixels, grid, imageOfQuestion, targets}) if (t != null) t.close();
    }
}
