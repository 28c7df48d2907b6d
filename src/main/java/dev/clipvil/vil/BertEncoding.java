package dev.clipvil.vil;

import dev.clipvil.tensor.Tensor;

/**
 * A tokenized batch, row-major [batch, length]: token ids, segment ids (0 for the first text, 1 for
 * the second) and the attention mask (1 for real tokens, 0 for padding).
 */
public record BertEncoding(int batch, int length, int[] inputIds, int[] tokenTypeIds, int[] attentionMask) {
    public BertEncoding {
        int n = batch * length;
        if (inputIds.length != n || tokenTypeIds.length != n || attentionMask.length != n) {
            throw new IllegalArgumentException("BertEncoding: arrays must hold batch*length = " + n + " ids");
        }
    }

    /** Row {@code i}'s ids. */
    public int[] ids(int i) { return java.util.Arrays.copyOfRange(inputIds, i * length, (i + 1) * length); }

    public Tensor inputIdsTensor() { return Tensor.ofInts(inputIds, batch, length); }

    public Tensor tokenTypeIdsTensor() { return Tensor.ofInts(tokenTypeIds, batch, length); }

    public Tensor attentionMaskTensor() { return Tensor.ofInts(attentionMask, batch, length); }
}
