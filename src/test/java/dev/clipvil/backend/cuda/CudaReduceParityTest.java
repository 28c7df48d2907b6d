package dev.clipvil.backend.cuda;

import dev.clipvil.backend.ReduceOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.GpuParity.*;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reductions, softmax, indexing and losses on the GPU against the CPU backend. */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaReduceParityTest {
    @BeforeAll
    static void poison() { CudaMemory.setPoison(true); }

    @Test
    void reductionsOverAnyDims() {
        int[][] dims = {{}, {0}, {2}, {1, 2}, {-1, 0}};
        try (Pair x = randnT(1, 5, 3, 67)) {
            for (ReduceOp op : ReduceOp.values()) {
                for (int[] d : dims) {
                    for (boolean keep : new boolean[]{false, true}) {
                        Tensor g = gpu().reduce(op, x.gpu(), d, keep), c = cpu().reduce(op, x.cpu(), d, keep);
                        assertClose(op + " " + java.util.Arrays.toString(d) + " keep=" + keep, g, c, F32);
                        close(g, c);
                    }
                }
            }
            for (int corr : new int[]{0, 1}) {
                Tensor g = gpu().variance(x.gpu(), new int[]{1, 2}, corr, true), c = cpu().variance(x.cpu(), new int[]{1, 2}, corr, true);
                assertClose("var correction " + corr, g, c, F32);
                close(g, c);
            }
            for (int d = 0; d < 3; d++) {
                Tensor g = gpu().argmax(x.gpu(), d, d == 1), c = cpu().argmax(x.cpu(), d, d == 1);
                assertSame("argmax " + d, g, c);
                close(g, c);
            }
        }
        try (Pair m = randn(7, 300, 77); Pair mt = randnT(8, 77, 300)) {
            for (ReduceOp op : ReduceOp.values()) {
                // reduce over rows: neighbouring outputs are neighbouring columns (the column kernel)
                Tensor g = gpu().reduce(op, m.gpu(), new int[]{0}, true), c = cpu().reduce(op, m.cpu(), new int[]{0}, true);
                assertClose(op + " over rows of [300, 77]", g, c, F32);
                Tensor g2 = gpu().reduce(op, mt.gpu(), new int[]{1}, false), c2 = cpu().reduce(op, mt.cpu(), new int[]{1}, false);
                assertClose(op + " over the strided dim of a transposed [77, 300]", g2, c2, F32);
                close(g, c, g2, c2);
            }
        }
        try (Pair big = randn(2, 1 << 20)) {
            Tensor g = gpu().reduce(ReduceOp.SUM, big.gpu(), new int[0], false), c = cpu().reduce(ReduceOp.SUM, big.cpu(), new int[0], false);
            assertClose("sum of 2^20", g, c, F32);
            close(g, c);
        }
        try (Pair e = randn(3, 4, 0)) {
            assertThrows(ShapeException.class, () -> gpu().reduce(ReduceOp.MAX, e.gpu(), new int[]{1}, false));
        }
    }

    @Test
    void reductionsInBf16() {
        try (Pair x0 = randn(4, 7, 300); Pair x = bf16(x0)) {
            Tensor g = gpu().reduce(ReduceOp.MEAN, x.gpu(), new int[]{1}, false), c = cpu().reduce(ReduceOp.MEAN, x.cpu(), new int[]{1}, false);
            assertClose("mean bf16", g, c, BF16);
            close(g, c);
        }
    }

    @Test
    void softmaxForwardAndBackwardAlongEveryDim() {
        try (Pair x = randnT(1, 3, 5, 77); Pair gy = randn(2, 3, 5, 77)) {
            for (boolean log : new boolean[]{false, true}) {
                for (int d = -1; d < 3; d++) {
                    Tensor g = gpu().softmax(x.gpu(), d, log), c = cpu().softmax(x.cpu(), d, log);
                    assertClose((log ? "log_" : "") + "softmax dim " + d, g, c, F32);
                    Tensor gb = gpu().softmaxBackward(g, gy.gpu(), d, log), cb = cpu().softmaxBackward(c, gy.cpu(), d, log);
                    assertClose((log ? "log_" : "") + "softmax backward dim " + d, gb, cb, F32);
                    close(g, c, gb, cb);
                }
            }
        }
        try (Pair x0 = randn(3, 50, 257); Pair x = bf16(x0)) {
            Tensor g = gpu().softmax(x.gpu(), -1, false), c = cpu().softmax(x.cpu(), -1, false);
            assertClose("softmax bf16", g, c, BF16);
            close(g, c);
        }
    }

    @Test
    void gatherScatterAndCat() {
        try (Pair x = randnT(1, 10, 6); Pair idx32 = upload(Tensor.ofInts(new int[]{3, 0, 9, 3, 3}, 5));
             Pair idx64 = upload(Tensor.ofLongs(new long[]{5, 1, 1}, 3))) {
            Tensor g = gpu().indexSelect(x.gpu(), 0, idx32.gpu()), c = cpu().indexSelect(x.cpu(), 0, idx32.cpu());
            assertSame("index_select dim 0", g, c);
            Tensor g1 = gpu().indexSelect(x.gpu(), 1, idx64.gpu()), c1 = cpu().indexSelect(x.cpu(), 1, idx64.cpu());
            assertSame("index_select dim 1", g1, c1);
            Tensor ga = gpu().indexAdd(new int[]{10, 6}, 0, idx32.gpu(), g), ca = cpu().indexAdd(new int[]{10, 6}, 0, idx32.cpu(), c);
            assertClose("index_add (repeated indices)", ga, ca, F32);
            Tensor ga1 = gpu().indexAdd(new int[]{10, 6}, 1, idx64.gpu(), g1), ca1 = cpu().indexAdd(new int[]{10, 6}, 1, idx64.cpu(), c1);
            assertClose("index_add dim 1", ga1, ca1, F32);
            // a bad index is recorded on the device (the lowest bad position, as the CPU reports) and reported
            // at the next synchronisation (here the host read of the result); its rows read as zeros, and the
            // context stays usable
            try (Pair bad = upload(Tensor.ofInts(new int[]{1, 10, 11}, 3)); Tensor out = gpu().indexSelect(x.gpu(), 0, bad.gpu())) {
                ShapeException e = assertThrows(ShapeException.class, out::toFloatArray);
                assertTrue(e.getMessage().contains("index_select: index 10 (at position 1) is out of range for dimension 0 of size 10"), e.getMessage());
                float[] rows = out.toFloatArray(); // reported once: the record was cleared
                for (int j = 6; j < 18; j++) assertTrue(rows[j] == 0f, "rows of the bad indices read zeros, got " + rows[j]);
            }
            try (Pair logits = randn(9, 3, 4); Pair bad = upload(Tensor.ofInts(new int[]{0, 4, -100}, 3));
                 Tensor loss = gpu().crossEntropy(logits.gpu(), bad.gpu(), -100)) {
                ShapeException e = assertThrows(ShapeException.class, loss::toFloatArray);
                assertTrue(e.getMessage().contains("cross_entropy: index 4 (at position 1) is out of range for 4 classes"), e.getMessage());
            }
            close(g, c, g1, c1, ga, ca, ga1, ca1);
        }
        try (Pair a = randnT(2, 4, 3); Pair b = randn(3, 4, 5); Pair e = randn(4, 4, 0)) {
            Tensor g = gpu().cat(new Tensor[]{a.gpu(), e.gpu(), b.gpu()}, 1), c = cpu().cat(new Tensor[]{a.cpu(), e.cpu(), b.cpu()}, 1);
            assertSame("cat dim 1", g, c);
            close(g, c);
        }
        try (Pair table = randn(5, 49408 / 64, 64); Pair bt = bf16(table); Pair ids = upload(Tensor.ofLongs(new long[]{0, 771, 5, 5}, 4))) {
            Tensor g = gpu().indexSelect(bt.gpu(), 0, ids.gpu()), c = cpu().indexSelect(bt.cpu(), 0, ids.cpu());
            assertClose("bf16 embedding lookup", g, c, 0);
            close(g, c);
        }
    }

    @Test
    void lossesHardSoftAndBinary() {
        try (Pair logits = randnNarrow(1, 9, 13); Pair g = rand(2, 0.5, 1.5, 9)) {
            long[] t = {0, 12, -100, 5, 5, 7, -100, 1, 2};
            try (Pair target = upload(Tensor.ofLongs(t, 9))) {
                Tensor gl = gpu().crossEntropy(logits.gpu(), target.gpu(), -100), cl = cpu().crossEntropy(logits.cpu(), target.cpu(), -100);
                assertClose("cross_entropy", gl, cl, F32);
                Tensor gb = gpu().crossEntropyBackward(logits.gpu(), target.gpu(), -100, g.gpu());
                Tensor cb = cpu().crossEntropyBackward(logits.cpu(), target.cpu(), -100, g.cpu());
                assertClose("cross_entropy backward", gb, cb, F32);
                close(gl, cl, gb, cb);
            }
            try (Pair soft0 = rand(3, 0, 1, 9, 13)) {
                Tensor gl = gpu().crossEntropy(logits.gpu(), soft0.gpu(), -100), cl = cpu().crossEntropy(logits.cpu(), soft0.cpu(), -100);
                assertClose("cross_entropy soft", gl, cl, F32);
                Tensor gb = gpu().crossEntropyBackward(logits.gpu(), soft0.gpu(), -100, g.gpu());
                Tensor cb = cpu().crossEntropyBackward(logits.cpu(), soft0.cpu(), -100, g.cpu());
                assertClose("cross_entropy soft backward", gb, cb, F32);
                close(gl, cl, gb, cb);
            }
            try (Pair bad = upload(Tensor.ofInts(new int[]{0, 1, 2, 3, 4, 5, 6, 7, 13}, 9))) {
                ShapeException e = assertThrows(ShapeException.class, () -> gpu().crossEntropy(logits.gpu(), bad.gpu(), -100));
                assertTrue(e.getMessage().contains("index 13 (at position 8)"), e.getMessage());
            }
        }
        try (Pair x = randnT(4, 6, 3129); Pair t = rand(5, 0, 1, 6, 3129); Pair g = randn(6, 6, 3129)) {
            Tensor gl = gpu().bceWithLogits(x.gpu(), t.gpu()), cl = cpu().bceWithLogits(x.cpu(), t.cpu());
            assertClose("bce_with_logits", gl, cl, F32);
            Tensor gb = gpu().bceWithLogitsBackward(x.gpu(), t.gpu(), g.gpu()), cb = cpu().bceWithLogitsBackward(x.cpu(), t.cpu(), g.cpu());
            assertClose("bce_with_logits backward", gb, cb, F32);
            close(gl, cl, gb, cb);
        }
    }

    @Test
    void bf16CastOfAWholeRowKeepsDtypes() {
        try (Pair x = randn(1, 3, 4)) {
            Tensor g = gpu().cast(x.gpu(), DType.BF16);
            Tensor s = gpu().softmax(g, -1, true);
            org.junit.jupiter.api.Assertions.assertEquals(DType.BF16, s.dtype());
            close(g, s);
        }
    }
}
