package dev.clipvil.vil;

import dev.clipvil.ops.Indexing;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * Mismatched pairs for image-text matching, as LXMERT samples them: each sample's image is replaced,
 * with probability 0.5, by the image of another sample of the batch (uniformly among those showing a
 * different image), and its label becomes 0 (mismatched); the others keep their image with label 1.
 * {@code imageIndex[i]} is the batch row whose image sample i now has. Seeded: the same (batch, seed)
 * gives the same pairs.
 */
public record ItmPairs(int[] imageIndex, int[] matched) {
    public static final double MISMATCH = 0.5;

    public ItmPairs {
        if (imageIndex.length != matched.length) throw new IllegalArgumentException("ItmPairs: " + imageIndex.length + " indices, " + matched.length + " labels");
    }

    /** Pairs for a batch of {@code batch} distinct images (a batch of one is always matched). */
    public static ItmPairs sample(int batch, long seed) {
        long[] ids = new long[batch];
        for (int i = 0; i < batch; i++) ids[i] = i;
        return sample(ids, seed);
    }

    /**
     * Pairs for a batch whose sample i shows image {@code imageIds[i]}: a replacement image is never the
     * same image (VQA has several questions per image); a sample whose image every other sample shares
     * stays matched.
     */
    public static ItmPairs sample(long[] imageIds, long seed) {
        int n = imageIds.length;
        SplittableRandom rng = new SplittableRandom(seed);
        int[] index = new int[n], matched = new int[n], others = new int[n];
        for (int i = 0; i < n; i++) {
            index[i] = i;
            matched[i] = 1;
            if (rng.nextDouble() >= MISMATCH) continue;
            int k = 0;
            for (int j = 0; j < n; j++) if (imageIds[j] != imageIds[i]) others[k++] = j;
            if (k == 0) continue;
            index[i] = others[rng.nextInt(k)];
            matched[i] = 0;
        }
        return new ItmPairs(index, matched);
    }

    /** {@code images} [N, ...] with row i replaced by row imageIndex[i] (differentiable: gradients reach the rows used). */
    public Tensor apply(Tensor images) {
        if (images.dim() < 1 || images.shape(0) != imageIndex.length) {
            throw new ShapeException("ItmPairs.apply: images " + Shapes.str(images.shape()) + " must have " + imageIndex.length + " rows");
        }
        return Indexing.indexSelect(images, 0, dev.clipvil.ops.Creation.onDevice(Tensor.ofInts(imageIndex, imageIndex.length), images.device()));
    }

    /** The labels [N] (I32) for {@link ClipVilPretraining#itmLoss}. */
    public Tensor matchedTensor() { return Tensor.ofInts(matched, matched.length); }

    public int size() { return matched.length; }
}
