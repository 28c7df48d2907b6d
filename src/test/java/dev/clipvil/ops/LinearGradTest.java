package dev.clipvil.ops;

import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;

class LinearGradTest {
    @Test
    void matmulBatchedBroadcastTransposed() {
        Tensor a = input(1, 2, 3, 4), b = input(2, 4, 5), c = input(3, 2, 5, 4);
        GradCheck.check("matmul", x -> Linear.matmul(x[0], x[1]), a, b);
        GradCheck.check("matmul(transposed b)", x -> Linear.matmul(x[0], Views.transpose(x[1], -1, -2)), a, c);
    }

    @Test
    void linearWithBias() {
        Tensor x = input(4, 2, 3, 4), w = input(5, 6, 4), b = input(6, 6);
        GradCheck.check("linear", t -> Linear.linear(t[0], t[1], t[2]), x, w, b);
        GradCheck.check("linear(no bias, transposed x)", t -> Linear.linear(Views.transpose(t[0], 0, 1), t[1], null), x, w);
    }
}
