package dev.clipvil.ops;

import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;

class ElementwiseGradTest {

    @Test
    void binaryOpsWithBroadcasting() {
        Tensor a = input(1, 3, 4), b = input(2, 4), c = input(3, 3, 1);
        GradCheck.check("add", x -> Elementwise.add(x[0], x[1]), a, b);
        GradCheck.check("sub", x -> Elementwise.sub(x[0], x[1]), a, c);
        GradCheck.check("mul", x -> Elementwise.mul(x[0], x[1]), a, b);
        Tensor pos = input(4, 0.5, 2.0, 4);
        GradCheck.check("div", x -> Elementwise.div(x[0], x[1]), a, pos);
        GradCheck.check("maximum", x -> Elementwise.maximum(x[0], x[1]), a, b);
    }

    @Test
    void nonContiguousViews() {
        Tensor a = input(5, 4, 3), b = input(6, 3, 4);
        GradCheck.check("add(transpose)", x -> Elementwise.add(Views.transpose(x[0], 0, 1), x[1]), a, b);
        GradCheck.check("mul(narrow)", x -> Elementwise.mul(Views.narrow(x[0], 0, 1, 3), Views.narrow(x[1], 1, 0, 3)), a, b);
        GradCheck.check("expand", x -> Elementwise.mul(Views.expand(Views.unsqueeze(x[0], 0), 2, 4, 3), 2.0), a);
        GradCheck.check("permute+reshape", x -> Views.reshape(Views.permute(x[0], 1, 0), 2, 6), a);
        GradCheck.check("split", x -> Views.split(x[0], 2, 1)[1], b);
        GradCheck.check("select", x -> Views.select(x[0], 1, 2), a);
    }

    @Test
    void moreViewsAndCasts() {
        Tensor a = input(12, 2, 3, 4);
        GradCheck.check("contiguous(permute)", x -> Views.contiguous(Views.permute(x[0], 2, 0, 1)), a);
        GradCheck.check("flatten", x -> Views.flatten(Views.transpose(x[0], 0, 2), 1, 2), a);
        GradCheck.check("view", x -> Views.view(x[0], 6, -1), a);
        GradCheck.check("squeeze/unsqueeze", x -> Views.squeeze(Views.unsqueeze(x[0], 1), 1), a);
        GradCheck.check("splitSizes", x -> Views.splitSizes(x[0], new int[]{1, 3}, 2)[1], a);
        // cast through F32 and back: identity up to F32 rounding, so a wide step keeps the check exact
        GradCheck.check("cast", x -> Elementwise.cast(Elementwise.mul(Elementwise.cast(x[0], dev.clipvil.tensor.DType.F32), 2.0), dev.clipvil.tensor.DType.F64),
                1e-2, 1e-5, 1e-4, a);
    }

    @Test
    void unaryOps() {
        Tensor x = input(7, 2, 5);
        for (UnaryOp op : new UnaryOp[]{UnaryOp.NEG, UnaryOp.EXP, UnaryOp.TANH, UnaryOp.SIGMOID, UnaryOp.GELU, UnaryOp.QUICK_GELU}) {
            GradCheck.check(op.name(), t -> Elementwise.unary(op, t[0]), x);
        }
        Tensor p = input(8, 0.3, 2.0, 2, 5);
        for (UnaryOp op : new UnaryOp[]{UnaryOp.LOG, UnaryOp.SQRT, UnaryOp.RSQRT, UnaryOp.RELU, UnaryOp.ABS}) {
            GradCheck.check(op.name(), t -> Elementwise.unary(op, t[0]), p);
        }
        GradCheck.check("pow", t -> Elementwise.pow(t[0], 2.5), p);
        GradCheck.check("scalar ops", t -> Elementwise.rsub(1.0, Elementwise.add(Elementwise.mul(t[0], 3.0), 1.0)), x);
    }

    @Test
    void maskedFillAndWhere() {
        Tensor x = input(9, 3, 4), y = input(10, 3, 4);
        Tensor mask = Tensor.ofBools(new boolean[]{true, false, false, true}, 4);
        GradCheck.check("masked_fill", t -> Elementwise.maskedFill(t[0], mask, -5.0), x);
        GradCheck.check("where", t -> Elementwise.where(mask, t[0], t[1]), x, y);
    }

    @Test
    void reductions() {
        Tensor x = input(11, 3, 4, 5);
        GradCheck.check("sum(all)", t -> Reductions.sum(t[0]), x);
        GradCheck.check("sum(1)", t -> Reductions.sum(t[0], new int[]{1}, false), x);
        GradCheck.check("mean(0,2)", t -> Reductions.mean(t[0], new int[]{0, 2}, true), x);
        GradCheck.check("max(-1)", t -> Reductions.max(t[0], new int[]{-1}, false), x);
        GradCheck.check("min(0)", t -> Reductions.min(t[0], new int[]{0}, false), x);
        GradCheck.check("var(2)", t -> Reductions.var(t[0], new int[]{2}, 1, false), x);
        GradCheck.check("sum(transposed)", t -> Reductions.sum(Views.transpose(t[0], 0, 2), new int[]{1}, false), x);
    }
}
