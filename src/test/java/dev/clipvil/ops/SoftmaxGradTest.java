package dev.clipvil.ops;

import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;

class SoftmaxGradTest {
    @Test
    void softmaxAlongEveryDim() {
        Tensor x = input(1, 3, 4, 5);
        for (int dim : new int[]{0, 1, 2, -1}) {
            GradCheck.check("softmax(" + dim + ")", t -> Softmax.softmax(t[0], dim), x);
            GradCheck.check("log_softmax(" + dim + ")", t -> Softmax.logSoftmax(t[0], dim), x);
        }
    }

    @Test
    void nonContiguousInputs() {
        Tensor x = input(2, 4, 3, 5);
        GradCheck.check("softmax(transposed)", t -> Softmax.softmax(Views.transpose(t[0], 0, 2), -1), x);
        GradCheck.check("log_softmax(permuted)", t -> Softmax.logSoftmax(Views.permute(t[0], 2, 0, 1), 1), x);
        GradCheck.check("softmax(narrowed)", t -> Softmax.softmax(Views.narrow(t[0], 2, 1, 3), -1), x);
        GradCheck.check("softmax then log_softmax", t -> Softmax.logSoftmax(Softmax.softmax(t[0], 1), 0), x);
    }
}
