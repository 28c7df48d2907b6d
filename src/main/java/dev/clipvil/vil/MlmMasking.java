package dev.clipvil.vil;

import dev.clipvil.tensor.Tensor;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * BERT's masked-LM corruption: each eligible token is selected with probability 0.15; a selected
 * token becomes [MASK] with probability 0.8, a random token with 0.1 (drawn uniformly from the
 * vocabulary minus the special ids, so no stray [CLS]/[SEP]/[PAD] appears) and stays unchanged with
 * 0.1; its label is the original id, every other label -100 (the ignore index of
 * {@link ClipVilPretraining#mlmLoss}). Special ids ([MASK] and those passed: [CLS], [SEP], [PAD] with
 * {@link #of}, as HF's collator) and padding positions (attention mask 0) are never selected. All draws come from
 * one seeded generator, so the same (ids, seed) always gives the same result.
 */
public final class MlmMasking {
    public static final double SELECT = 0.15, TO_MASK = 0.8, TO_RANDOM = 0.1;

    /** A masked batch, row-major [batch, length]: the corrupted ids and the labels (-100 where not selected). */
    public record Masked(int batch, int length, int[] inputIds, int[] labels) {
        public Tensor inputIdsTensor() { return Tensor.ofInts(inputIds, batch, length); }

        public Tensor labelsTensor() { return Tensor.ofInts(labels, batch, length); }

        /** How many positions carry a label. */
        public int selected() {
            int n = 0;
            for (int l : labels) if (l != -100) n++;
            return n;
        }
    }

    private final int vocabSize, maskId;
    private final boolean[] special;
    private final int[] randomPool;

    /**
     * {@code vocabSize} ids, {@code maskId} the [MASK] id, {@code specialIds} the ids never selected
     * nor drawn as random replacements (maskId is always one of them).
     */
    public MlmMasking(int vocabSize, int maskId, int... specialIds) {
        if (maskId < 0 || maskId >= vocabSize) throw new IllegalArgumentException("MlmMasking: [MASK] id " + maskId + " outside [0, " + vocabSize + ")");
        this.vocabSize = vocabSize;
        this.maskId = maskId;
        special = new boolean[vocabSize];
        special[maskId] = true;
        for (int s : specialIds) {
            if (s < 0 || s >= vocabSize) throw new IllegalArgumentException("MlmMasking: special id " + s + " outside [0, " + vocabSize + ")");
            special[s] = true;
        }
        randomPool = java.util.stream.IntStream.range(0, vocabSize).filter(i -> !special[i]).toArray();
        if (randomPool.length == 0) throw new IllegalArgumentException("MlmMasking: every id is special, nothing to draw random tokens from");
    }

    /** The masking for {@code tok}'s vocabulary: [CLS], [SEP] and [PAD] (those it has) are special; it must have [MASK]. */
    public static MlmMasking of(BertTokenizer tok) {
        if (!has(tok, BertTokenizer.MASK)) throw new IllegalArgumentException("MlmMasking: the vocabulary has no " + BertTokenizer.MASK + " token");
        int[] specials = Arrays.stream(new String[]{BertTokenizer.CLS, BertTokenizer.SEP, BertTokenizer.PAD})
                .filter(s -> has(tok, s)).mapToInt(tok::id).toArray();
        return new MlmMasking(tok.vocabSize(), tok.id(BertTokenizer.MASK), specials);
    }

    private static boolean has(BertTokenizer tok, String token) { return tok.token(tok.id(token)).equals(token); }

    /** Masks a tokenized batch (its padding never selected). */
    public Masked mask(BertEncoding enc, long seed) {
        return mask(enc.inputIds(), enc.attentionMask(), enc.batch(), enc.length(), seed);
    }

    /**
     * Masks {@code ids} [batch, length] (row-major; not modified); {@code attentionMask} of the same
     * size, or null for no padding.
     */
    public Masked mask(int[] ids, int[] attentionMask, int batch, int length, long seed) {
        if (ids.length != batch * length || (attentionMask != null && attentionMask.length != ids.length)) {
            throw new IllegalArgumentException("MlmMasking: ids (" + ids.length + ") and attention mask must hold batch*length = " + batch * length + " values");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int[] out = ids.clone(), labels = new int[ids.length];
        Arrays.fill(labels, -100);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= vocabSize) throw new IllegalArgumentException("MlmMasking: id " + id + " at " + i + " outside [0, " + vocabSize + ")");
            // one draw per position whatever happens, so a position's fate does not depend on the others'
            double select = rng.nextDouble(), how = rng.nextDouble();
            int random = randomPool[rng.nextInt(randomPool.length)];
            if (special[id] || (attentionMask != null && attentionMask[i] == 0) || select >= SELECT) continue;
            labels[i] = id;
            if (how < TO_MASK) out[i] = maskId;
            else if (how < TO_MASK + TO_RANDOM) out[i] = random;
        }
        return new Masked(batch, length, out, labels);
    }
}
