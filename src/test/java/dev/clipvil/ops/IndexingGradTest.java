package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexingGradTest {

    @Test
    void embeddingWithRepeatedIds() {
        Tensor w = input(1, 5, 3);
        Tensor ids = Tensor.ofLongs(new long[]{1, 4, 1, 0, 1, 4}, 2, 3);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = Indexing.embedding(w, ids);
            assertArrayEquals(new int[]{2, 3, 3}, out.shape());
            assertArrayEquals(new double[]{w.get(4, 0), w.get(4, 1), w.get(4, 2)},
                    new double[]{out.get(0, 1, 0), out.get(0, 1, 1), out.get(0, 1, 2)}, 0.0);
        }
        GradCheck.check("embedding", x -> Indexing.embedding(x[0], ids), w);
        // I32 ids in a transposed (non-contiguous) layout, and a scalar-per-position id tensor of rank 1.
        Tensor idsT = Tensor.ofInts(new int[]{2, 2, 0, 3, 2, 4}, 3, 2).asStrided(new int[]{2, 3}, new int[]{1, 2}, 0);
        GradCheck.check("embedding(strided ids)", x -> Indexing.embedding(x[0], idsT), w);
        GradCheck.check("embedding(1-D ids)", x -> Indexing.embedding(x[0], Tensor.ofInts(new int[]{3, 3, 3}, 3)), w);
    }

    @Test
    void embeddingGradientCountsRepeats() {
        Tensor w = input(2, 4, 2);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = Indexing.embedding(w, Tensor.ofInts(new int[]{2, 2, 2, 0}, 4));
            Autograd.backward(Reductions.sum(out));
        }
        assertArrayEquals(new double[]{1, 1, 0, 0, 3, 3, 0, 0}, w.grad().toDoubleArray(), 0.0);
        w.zeroGrad();
    }

    @Test
    void indexSelectOnDim1() {
        Tensor x = input(3, 3, 5);
        Tensor idx = Tensor.ofInts(new int[]{4, 0, 4, 2}, 4);
        GradCheck.check("index_select(1)", t -> Indexing.indexSelect(t[0], 1, idx), x);
        Tensor xt = input(4, 5, 3);
        GradCheck.check("index_select(transposed, -1)", t -> Indexing.indexSelect(Views.transpose(t[0], 0, 1), -1, idx), xt);
    }

    @Test
    void catAndStackOfNonContiguousPieces() {
        Tensor a = input(5, 4, 3), b = input(6, 3, 6), c = input(7, 3, 4);
        GradCheck.check("cat(1)", t -> Indexing.cat(new Tensor[]{Views.transpose(t[0], 0, 1), Views.narrow(t[1], 1, 1, 2), t[2]}, 1), a, b, c);
        GradCheck.check("cat(0)", t -> Indexing.cat(new Tensor[]{Views.transpose(t[0], 0, 1), t[1], t[1]}, 0), a, c);
        GradCheck.check("stack(1)", t -> Indexing.stack(new Tensor[]{Views.transpose(t[0], 0, 1), t[2], Views.narrow(t[1], 1, 2, 4)}, 1), a, b, c);
        GradCheck.check("stack(-1)", t -> Indexing.stack(new Tensor[]{t[1], Views.transpose(t[0], 0, 1)}, -1), a, c);
        GradCheck.check("stack(0)", t -> Indexing.stack(new Tensor[]{t[0], t[0]}, 0), c);
    }

    @Test
    void catOfAnInputWithoutGradGivesItNone() {
        Tensor a = input(8, 2, 3);
        Tensor constant = Creation.ones(DType.F64, 1, 3);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = Indexing.cat(new Tensor[]{constant, a}, 0);
            assertArrayEquals(new int[]{3, 3}, out.shape());
            Autograd.backward(Reductions.sum(out));
        }
        assertNull(constant.grad());
        assertArrayEquals(new double[]{1, 1, 1, 1, 1, 1}, a.grad().toDoubleArray(), 0.0);
        a.zeroGrad();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor st = Indexing.stack(new Tensor[]{a, a, a}, 1);
            assertArrayEquals(new int[]{2, 3, 3}, st.shape());
            assertArrayEquals(new double[]{a.get(1, 0), a.get(1, 0), a.get(1, 0)}, new double[]{st.get(1, 0, 0), st.get(1, 1, 0), st.get(1, 2, 0)}, 0.0);
        }
        a.zeroGrad();
    }

    @Test
    void errors() {
        Tensor w = input(9, 4, 2);
        ShapeException e = assertThrows(ShapeException.class, () -> Indexing.embedding(w, Tensor.ofInts(new int[]{4}, 1)));
        assertTrue(e.getMessage().contains("index 4") && e.getMessage().contains("size 4"), e.getMessage());
        assertThrows(DTypeException.class, () -> Indexing.embedding(w, Tensor.of(new float[]{1}, 1)));
        assertThrows(ShapeException.class, () -> Indexing.embedding(Creation.zeros(DType.F64, 4), Tensor.ofInts(new int[]{1}, 1)));
        e = assertThrows(ShapeException.class, () -> Indexing.stack(new Tensor[]{w, Creation.zeros(DType.F64, 2, 4)}, 0));
        assertTrue(e.getMessage().contains("stack") && e.getMessage().contains("[4, 2]") && e.getMessage().contains("[2, 4]"), e.getMessage());
        assertThrows(ShapeException.class, () -> Indexing.cat(new Tensor[]{w, Creation.zeros(DType.F64, 4, 3)}, 0));
        assertThrows(ShapeException.class, () -> Indexing.stack(new Tensor[]{w}, 3));
    }
}
