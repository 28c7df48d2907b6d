package dev.clipvil.vil;

import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BERT's 15% / 80-10-10 masking statistics on a large batch, and ITM mismatched-pair sampling. */
class MlmMaskingTest {
    static final int VOCAB = 1000, PAD = 0, CLS = 101, SEP = 102, MASK = 103;
    static final int ROWS = 2000, LEN = 32;

    /** [CLS] text [SEP] [PAD]...: random lengths, random ids in [104, VOCAB); attention mask 0 on padding. */
    private static int[][] batch() {
        SplittableRandom r = new SplittableRandom(7);
        int[] ids = new int[ROWS * LEN], mask = new int[ROWS * LEN];
        for (int i = 0; i < ROWS; i++) {
            int len = 4 + r.nextInt(LEN - 3);
            for (int j = 0; j < LEN; j++) {
                int k = i * LEN + j;
                ids[k] = j == 0 ? CLS : j == len - 1 ? SEP : j >= len ? PAD : 104 + r.nextInt(VOCAB - 104);
                mask[k] = j < len ? 1 : 0;
            }
        }
        return new int[][]{ids, mask};
    }

    @Test
    void proportionsSpecialTokensAndDeterminism() {
        int[][] b = batch();
        int[] ids = b[0], att = b[1];
        MlmMasking masking = new MlmMasking(VOCAB, MASK, PAD, CLS, SEP);
        MlmMasking.Masked m = masking.mask(ids, att, ROWS, LEN, 42);
        int eligible = 0, selected = 0, toMask = 0, toRandom = 0, same = 0;
        for (int i = 0; i < ids.length; i++) {
            boolean special = ids[i] == PAD || ids[i] == CLS || ids[i] == SEP;
            if (!special && att[i] == 1) eligible++;
            if (m.labels()[i] == -100) {
                assertEquals(ids[i], m.inputIds()[i], "unselected positions are unchanged");
                continue;
            }
            assertFalse(special, "special token selected at " + i);
            assertEquals(1, att[i], "padding selected at " + i);
            assertEquals(ids[i], m.labels()[i], "the label is the original id");
            selected++;
            int now = m.inputIds()[i];
            if (now == MASK) toMask++;
            else if (now == ids[i]) same++;
            else {
                toRandom++;
                assertTrue(now != PAD && now != CLS && now != SEP && now >= 0 && now < VOCAB, "random replacement " + now);
            }
        }
        assertEquals(selected, m.selected());
        double pSel = (double) selected / eligible, pMask = (double) toMask / selected, pRand = (double) toRandom / selected, pSame = (double) same / selected;
        System.out.printf("MLM masking over %d eligible tokens: selected %.4f, [MASK] %.4f, random %.4f, unchanged %.4f%n", eligible, pSel, pMask, pRand, pSame);
        // ~34,000 eligible tokens, ~5,000 selected: binomial standard deviations 0.002 / 0.006 / 0.004
        assertEquals(0.15, pSel, 0.008);
        assertEquals(0.8, pMask, 0.025);
        assertEquals(0.1, pRand, 0.02, "a random draw equal to the original (p 1/996) counts as unchanged");
        assertEquals(0.1, pSame, 0.02);

        MlmMasking.Masked again = masking.mask(ids, att, ROWS, LEN, 42), other = masking.mask(ids, att, ROWS, LEN, 43);
        assertArrayEquals(m.inputIds(), again.inputIds());
        assertArrayEquals(m.labels(), again.labels());
        assertFalse(Arrays.equals(m.labels(), other.labels()), "another seed masks other positions");
        assertArrayEquals(batch()[0], ids, "the input is not modified");
    }

    @Test
    void tokenizerSpecialsTensorsAndErrors() {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        for (int i = 0; i < 20; i++) vocab.add("w" + i);
        BertTokenizer tok = new BertTokenizer(vocab, true);
        BertEncoding enc = tok.encodeBatch(List.of("w1 w2 w3 w4 w5 w6 w7 w8", "w9 w10"), 12);
        MlmMasking masking = MlmMasking.of(tok);
        for (long seed = 0; seed < 200; seed++) {
            MlmMasking.Masked m = masking.mask(enc, seed);
            for (int i = 0; i < enc.inputIds().length; i++) {
                int id = enc.inputIds()[i];
                if (id == 0 || id == 2 || id == 3) assertEquals(-100, m.labels()[i], "special id " + id + " selected (seed " + seed + ")");
                if (m.labels()[i] == -100) assertEquals(id, m.inputIds()[i]);
                else if (m.inputIds()[i] != 4) assertTrue(m.inputIds()[i] == 1 || m.inputIds()[i] >= 5, "random draw " + m.inputIds()[i]);
            }
        }
        try (MemoryScope s = MemoryScope.open()) {
            MlmMasking.Masked m = masking.mask(enc, 1);
            assertArrayEquals(new int[]{2, 12}, m.inputIdsTensor().shape());
            assertArrayEquals(Arrays.stream(m.labels()).asLongStream().toArray(), m.labelsTensor().toLongArray());
        }
        assertThrows(IllegalArgumentException.class, () -> new MlmMasking(10, 10));
        assertThrows(IllegalArgumentException.class, () -> new MlmMasking(2, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> masking.mask(new int[]{1, 99}, null, 1, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> masking.mask(new int[]{1, 2, 3}, null, 1, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> MlmMasking.of(new BertTokenizer(List.of("[PAD]", "[UNK]", "a"), true)));
    }

    @Test
    void itmPairsMismatchHalfTheSamplesWithAnotherImage() {
        int n = 4000;
        ItmPairs p = ItmPairs.sample(n, 5);
        int mismatched = 0;
        for (int i = 0; i < n; i++) {
            if (p.matched()[i] == 1) {
                assertEquals(i, p.imageIndex()[i]);
            } else {
                assertNotEquals(i, p.imageIndex()[i]);
                mismatched++;
            }
        }
        System.out.printf("ITM pairs: %.4f of %d mismatched%n", (double) mismatched / n, n);
        assertEquals(0.5, (double) mismatched / n, 0.03);
        assertArrayEquals(p.imageIndex(), ItmPairs.sample(n, 5).imageIndex());
        assertFalse(Arrays.equals(p.imageIndex(), ItmPairs.sample(n, 6).imageIndex()));
        // several questions per image: a replacement never shows the same image
        long[] images = new long[64];
        for (int i = 0; i < images.length; i++) images[i] = i / 4;
        for (long seed = 0; seed < 20; seed++) {
            ItmPairs q = ItmPairs.sample(images, seed);
            for (int i = 0; i < images.length; i++) {
                assertEquals(q.matched()[i] == 1, images[q.imageIndex()[i]] == images[i], "sample " + i + " seed " + seed);
            }
        }
        ItmPairs one = ItmPairs.sample(new long[]{3, 3, 3}, 1);
        assertArrayEquals(new int[]{1, 1, 1}, one.matched(), "no other image to swap in");
        assertArrayEquals(new int[]{1}, ItmPairs.sample(1, 9).matched());
        try (MemoryScope s = MemoryScope.open()) {
            Tensor imgs = dev.clipvil.ops.Views.reshape(Creation.arange(DType.F32, 12), 3, 2, 2);
            ItmPairs fixed = new ItmPairs(new int[]{2, 1, 0}, new int[]{0, 1, 0});
            assertArrayEquals(new float[]{8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3}, fixed.apply(imgs).toFloatArray());
            assertArrayEquals(new long[]{0, 1, 0}, fixed.matchedTensor().toLongArray());
            assertThrows(dev.clipvil.tensor.ShapeException.class, () -> fixed.apply(Creation.zeros(2, 2)));
        }
    }
}
