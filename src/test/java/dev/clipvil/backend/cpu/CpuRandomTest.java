package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random subsets (visual-token sampling): distinct, sorted, a pure function of the seed, uniform. */
class CpuRandomTest {
    @Test
    void subsetsAreDistinctSortedAndRepeatFromTheirSeed() {
        for (int[] c : new int[][]{{625, 100}, {49, 49}, {240, 1}, {7, 0}, {4096, 4000}}) {
            int[] a = CpuRandom.subsetIndices(c[0], c[1], 17);
            assertEquals(c[1], a.length);
            for (int i = 0; i < a.length; i++) {
                assertTrue(a[i] >= 0 && a[i] < c[0], "index " + a[i] + " of " + c[0]);
                if (i > 0) assertTrue(a[i - 1] < a[i], "ascending and distinct");
            }
            assertArrayEquals(a, CpuRandom.subsetIndices(c[0], c[1], 17));
        }
        assertFalse(java.util.Arrays.equals(CpuRandom.subsetIndices(240, 100, 1), CpuRandom.subsetIndices(240, 100, 2)), "another seed, another set");
        try (Tensor t = CpuRandom.randomSubset(240, 100, 1)) {
            assertEquals(DType.I32, t.dtype());
            assertArrayEquals(new int[]{100}, t.shape());
            for (int i = 0; i < 100; i++) assertEquals(CpuRandom.subsetIndices(240, 100, 1)[i], (int) t.get(i));
        }
        assertThrows(IllegalArgumentException.class, () -> CpuRandom.subsetIndices(10, 11, 0));
        assertThrows(IllegalArgumentException.class, () -> CpuRandom.subsetIndices(4097, 1, 0));
    }

    @Test
    void everyCellIsKeptWithProbabilityKOverTotalAndPairsIndependently() {
        int total = 40, k = 10, draws = 20_000;
        int[] hits = new int[total];
        int pair = 0; // cells 0 and 1 together: (k/total) * ((k-1)/(total-1)) for a uniform subset
        for (int s = 0; s < draws; s++) {
            int[] a = CpuRandom.subsetIndices(total, k, s);
            for (int i : a) hits[i]++;
            if (a.length > 1 && a[0] == 0 && a[1] == 1) pair++;
        }
        double p = (double) k / total, sd = Math.sqrt(p * (1 - p) / draws);
        for (int i = 0; i < total; i++) assertEquals(p, hits[i] / (double) draws, 5 * sd, "cell " + i);
        double q = p * (k - 1.0) / (total - 1), sdq = Math.sqrt(q * (1 - q) / draws);
        assertEquals(q, pair / (double) draws, 5 * sdq, "cells 0 and 1 together");
    }
}
