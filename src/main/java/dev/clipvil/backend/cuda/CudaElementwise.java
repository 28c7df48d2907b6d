package dev.clipvil.backend.cuda;

import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Locale;

/**
 * Elementwise maps with broadcasting over any strided views (kernels/elementwise.cu). F32, BF16 and
 * F16 data computed in F32; outputs take the first operand's dtype.
 */
final class CudaElementwise {
    static final Kernel UNARY = Kernel.of("elementwise", "ew_unary");
    static final Kernel UNARY_BACKWARD = Kernel.of("elementwise", "ew_unary_backward");
    static final Kernel BINARY = Kernel.of("elementwise", "ew_binary");
    static final Kernel BINARY_SCALAR = Kernel.of("elementwise", "ew_binary_scalar");
    static final Kernel AXPBY = Kernel.of("elementwise", "ew_axpby");
    static final Kernel COMPARE = Kernel.of("elementwise", "ew_compare");
    static final Kernel WHERE = Kernel.of("elementwise", "ew_where");

    private CudaElementwise() {}

    private static String name(Enum<?> op) { return op.name().toLowerCase(Locale.ROOT); }

    static Tensor unary(CudaContext ctx, UnaryOp op, Tensor x) {
        DTypes.requireFloat(name(op), x.dtype());
        CudaOps.requireOn(ctx, name(op), x);
        Tensor out = CudaOps.empty(ctx, x.dtype(), x.shape());
        Geometry g = Geometry.of(x.shape(), out.strides(), x.strides());
        CudaOps.launch(ctx, UNARY, g, KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(x)).i32(CudaOps.dt(x))
                .i32(op.ordinal()).geom(g));
        return out;
    }

    static Tensor unaryBackward(CudaContext ctx, UnaryOp op, Tensor x, Tensor y, Tensor gy) {
        String n = name(op) + "_backward";
        DTypes.requireFloat(n, gy.dtype());
        sameDType(n, x, gy);
        sameDType(n, y, gy);
        CudaOps.requireOn(ctx, n, x, y, gy);
        int[] shape = gy.shape();
        Tensor out = CudaOps.empty(ctx, gy.dtype(), shape);
        Geometry g = Geometry.of(shape, out.strides(), CudaOps.bstrides(n, x, shape), CudaOps.bstrides(n, y, shape), gy.strides());
        CudaOps.launch(ctx, UNARY_BACKWARD, g, KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(x))
                .ptr(CudaOps.addr(y)).ptr(CudaOps.addr(gy)).i32(CudaOps.dt(gy)).i32(op.ordinal()).geom(g));
        return out;
    }

    static Tensor binary(CudaContext ctx, BinaryOp op, Tensor a, Tensor b) {
        String n = name(op);
        DTypes.requireFloat(n, a.dtype());
        sameDType(n, a, b);
        int[] shape = Shapes.broadcast(n, a.shape(), b.shape());
        Tensor out = CudaOps.empty(ctx, a.dtype(), shape);
        binaryInto(ctx, op, n, a, b, out);
        return out;
    }

    private static void binaryInto(CudaContext ctx, BinaryOp op, String n, Tensor a, Tensor b, Tensor out) {
        CudaOps.requireOn(ctx, n, a, b, out);
        int[] shape = out.shape();
        Geometry g = Geometry.of(shape, out.strides(), CudaOps.bstrides(n, a, shape), CudaOps.bstrides(n, b, shape));
        CudaOps.launch(ctx, BINARY, g, KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(a)).i32(CudaOps.dt(a))
                .ptr(CudaOps.addr(b)).i32(CudaOps.dt(b)).i32(op.ordinal()).geom(g));
    }

    static Tensor binaryScalar(CudaContext ctx, BinaryOp op, Tensor a, double s) {
        String n = name(op) + "_scalar";
        DTypes.requireFloat(n, a.dtype());
        CudaOps.requireOn(ctx, n, a);
        Tensor out = CudaOps.empty(ctx, a.dtype(), a.shape());
        Geometry g = Geometry.of(a.shape(), out.strides(), a.strides());
        CudaOps.launch(ctx, BINARY_SCALAR, g, KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(a))
                .i32(CudaOps.dt(a)).f32((float) s).i32(op.ordinal()).geom(g));
        return out;
    }

    static void binaryInPlace(CudaContext ctx, BinaryOp op, Tensor dst, Tensor src) {
        String n = name(op) + "_";
        DTypes.requireFloat(n, dst.dtype());
        sameDType(n, dst, src);
        binaryInto(ctx, op, n, dst, src, dst);
    }

    static void axpby(CudaContext ctx, Tensor dst, double alpha, Tensor src, double beta) {
        DTypes.requireFloat("axpby", dst.dtype());
        DTypes.requireFloat("axpby", src.dtype());
        CudaOps.requireOn(ctx, "axpby", dst, src);
        int[] shape = dst.shape();
        Geometry g = Geometry.of(shape, dst.strides(), CudaOps.bstrides("axpby", src, shape));
        CudaOps.launch(ctx, AXPBY, g, KernelArgs.begin().ptr(CudaOps.addr(dst)).i32(CudaOps.dt(dst)).ptr(CudaOps.addr(src))
                .i32(CudaOps.dt(src)).f32((float) alpha).f32((float) beta).geom(g));
    }

    static Tensor compare(CudaContext ctx, CompareOp op, Tensor a, Tensor b) {
        String n = name(op);
        CudaOps.requireOn(ctx, n, a, b);
        int[] shape = Shapes.broadcast(n, a.shape(), b.shape());
        Tensor out = CudaOps.empty(ctx, DType.BOOL, shape);
        Geometry g = Geometry.of(shape, out.strides(), CudaOps.bstrides(n, a, shape), CudaOps.bstrides(n, b, shape));
        CudaOps.launch(ctx, COMPARE, g, KernelArgs.begin().ptr(CudaOps.addr(out)).ptr(CudaOps.addr(a)).i32(CudaOps.dt(a))
                .ptr(CudaOps.addr(b)).i32(CudaOps.dt(b)).i32(op.ordinal()).geom(g));
        return out;
    }

    static Tensor where(CudaContext ctx, Tensor cond, Tensor a, Tensor b) {
        if (cond.dtype() != DType.BOOL) throw new DTypeException("where: condition must be BOOL, got " + cond.describe());
        sameDType("where", a, b);
        CudaOps.requireOn(ctx, "where", cond, a, b);
        int[] shape = Shapes.broadcast("where", Shapes.broadcast("where", cond.shape(), a.shape()), b.shape());
        Tensor out = CudaOps.empty(ctx, a.dtype(), shape);
        Geometry g = Geometry.of(shape, out.strides(), CudaOps.bstrides("where", cond, shape), CudaOps.bstrides("where", a, shape),
                CudaOps.bstrides("where", b, shape));
        CudaOps.launch(ctx, WHERE, g, KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(cond))
                .ptr(CudaOps.addr(a)).i32(CudaOps.dt(a)).ptr(CudaOps.addr(b)).i32(CudaOps.dt(b)).geom(g));
        return out;
    }

    static void sameDType(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) throw new DTypeException(op + ": dtypes differ: " + a.describe() + " and " + b.describe());
    }
}
