package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * NCHW conv2d forward and its two gradients: checks dtypes and shapes, makes the operands contiguous
 * and routes F32 to the GEMM-based {@link ConvF32}, F64 to the direct {@link ConvF64}.
 */
final class CpuConv {
    private CpuConv() {}

    static Tensor forward(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        String op = "conv2d";
        Cpu.requireCompute(op, x);
        Cpu.requireSameDType(op, x, w);
        ConvGeometry g = ConvGeometry.of(op, x.shape(), w.shape(), p);
        if (bias != null) {
            Cpu.requireSameDType(op, x, bias);
            if (bias.dim() != 1 || bias.shape(0) != g.k()) {
                throw new ShapeException(op + ": bias must be [" + g.k() + "] for weight " + Shapes.str(w.shape()) + ", got " + Shapes.str(bias.shape()));
            }
        }
        Tensor xd = Cpu.dense(x), wd = Cpu.dense(w);
        try {
            if (x.dtype() == DType.F32) {
                float[] b = null;
                int bo = 0;
                if (bias != null && bias.stride(0) == 1) {
                    b = Cpu.f32(bias);
                    bo = bias.offset();
                } else if (bias != null) {
                    b = bias.toFloatArray();
                }
                return ConvF32.forward(xd, wd, b, bo, g);
            }
            return ConvF64.forward(xd, wd, bias == null ? null : Cpu.f64(bias), bias == null ? 0 : bias.offset(),
                    bias == null ? 0 : bias.stride(0), g);
        } finally {
            Cpu.release(xd, x);
            Cpu.release(wd, w);
        }
    }

    static Tensor backwardInput(Tensor gy, Tensor w, int[] inputShape, Conv2dParams p) {
        String op = "conv2d_backward_input";
        Cpu.requireCompute(op, gy);
        Cpu.requireSameDType(op, gy, w);
        ConvGeometry g = ConvGeometry.of(op, inputShape, w.shape(), p);
        requireOutputShape(op, gy, g);
        Tensor gd = Cpu.dense(gy), wd = Cpu.dense(w);
        try {
            return gy.dtype() == DType.F32 ? ConvF32.backwardInput(gd, wd, g) : ConvF64.backwardInput(gd, wd, g);
        } finally {
            Cpu.release(gd, gy);
            Cpu.release(wd, w);
        }
    }

    static Tensor backwardWeight(Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) {
        String op = "conv2d_backward_weight";
        Cpu.requireCompute(op, gy);
        Cpu.requireSameDType(op, gy, x);
        ConvGeometry g = ConvGeometry.of(op, x.shape(), weightShape, p);
        requireOutputShape(op, gy, g);
        Tensor gd = Cpu.dense(gy), xd = Cpu.dense(x);
        try {
            return gy.dtype() == DType.F32 ? ConvF32.backwardWeight(gd, xd, g) : ConvF64.backwardWeight(gd, xd, g);
        } finally {
            Cpu.release(gd, gy);
            Cpu.release(xd, x);
        }
    }

    private static void requireOutputShape(String op, Tensor gy, ConvGeometry g) {
        if (!Arrays.equals(gy.shape(), g.outputShape())) {
            throw new ShapeException(op + ": output gradient " + Shapes.str(gy.shape()) + " does not match the output "
                    + Shapes.str(g.outputShape()) + " of input " + Shapes.str(g.inputShape()) + " and weight " + Shapes.str(g.weightShape()));
        }
    }
}
