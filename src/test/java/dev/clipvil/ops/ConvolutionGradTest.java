package dev.clipvil.ops;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;

class ConvolutionGradTest {

    @Test
    void strideTwoWithPaddingAndBias() {
        Tensor x = input(1, 2, 3, 5, 6), w = input(2, 4, 3, 3, 3), b = input(3, 4);
        GradCheck.check("conv2d(stride 2, pad 1)", t -> Convolution.conv2d(t[0], t[1], t[2], 2, 1), x, w, b);
    }

    @Test
    void dilationTwo() {
        Tensor x = input(4, 1, 2, 7, 7), w = input(5, 3, 2, 3, 2);
        GradCheck.check("conv2d(dilation 2)", t -> Convolution.conv2d(t[0], t[1], null, new Conv2dParams(1, 1, 2, 1, 2, 2, 1)), x, w);
    }

    @Test
    void groupsTwo() {
        Tensor x = input(6, 2, 4, 5, 5), w = input(7, 6, 2, 3, 3), b = input(8, 6);
        GradCheck.check("conv2d(groups 2)", t -> Convolution.conv2d(t[0], t[1], t[2], new Conv2dParams(2, 1, 1, 0, 1, 1, 2)), x, w, b);
    }

    @Test
    void nonContiguousInput() {
        Tensor x = input(9, 1, 3, 6, 5), w = input(10, 2, 3, 2, 3);
        GradCheck.check("conv2d(transposed input)", t -> Convolution.conv2d(Views.transpose(t[0], 2, 3), t[1], null, 1, 1), x, w);
    }
}
