package dev.clipvil.backend.cuda;

import dev.clipvil.backend.ReduceOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Locale;

/**
 * Reductions over any set of dims of any strided view (kernels/reduce.cu): the kept dims ("outer")
 * index the output, one block reduces the reduced dims ("inner") of one output element.
 */
final class CudaReduce {
    static final Kernel REDUCE = Kernel.of("reduce", "reduce_dims");
    static final Kernel REDUCE_COLS = Kernel.of("reduce", "reduce_dims_cols");
    static final Kernel VARIANCE = Kernel.of("reduce", "reduce_variance");
    static final Kernel ARGMAX = Kernel.of("reduce", "reduce_argmax");

    private CudaReduce() {}

    /** The split of a view into kept and reduced dims. */
    record Plan(int[] outerShape, int[] outerStrides, int[] innerShape, int[] innerStrides, int[] outShape) {
        static Plan of(String op, Tensor x, int[] dims, boolean keepDim) {
            int rank = x.dim();
            boolean[] mask = new boolean[rank];
            if (dims.length == 0) java.util.Arrays.fill(mask, true);
            for (int d : dims) mask[Shapes.dim(op, d, rank)] = true;
            int[] shape = x.shape(), st = x.strides();
            int no = 0;
            for (boolean b : mask) if (!b) no++;
            int[] os = new int[no], ost = new int[no], is = new int[rank - no], ist = new int[rank - no];
            int a = 0, b = 0, k = 0;
            int[] out = new int[keepDim ? rank : no];
            for (int i = 0; i < rank; i++) {
                if (mask[i]) {
                    is[b] = shape[i];
                    ist[b++] = st[i];
                    if (keepDim) out[k++] = 1;
                } else {
                    os[a] = shape[i];
                    ost[a++] = st[i];
                    out[k++] = shape[i];
                }
            }
            return new Plan(os, ost, is, ist, out);
        }

        Geometry outer() { return Geometry.of(outerShape, outerStrides, Shapes.contiguousStrides(outerShape)); }

        Geometry inner() { return Geometry.of(innerShape, innerStrides); }
    }

    static Tensor reduce(CudaContext ctx, ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        String name = op.name().toLowerCase(Locale.ROOT);
        DTypes.requireFloat(name, x.dtype());
        CudaOps.requireOn(ctx, name, x);
        Plan p = Plan.of(name, x, dims, keepDim);
        if (Shapes.numel(p.innerShape()) == 0 && (op == ReduceOp.MAX || op == ReduceOp.MIN)) {
            throw new ShapeException(name + ": cannot reduce an empty dimension of " + Shapes.str(x.shape()));
        }
        Tensor out = CudaOps.empty(ctx, x.dtype(), p.outShape());
        Geometry outer = p.outer(), inner = p.inner();
        if (outer.numel() == 0) return out;
        KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(x)).i32(CudaOps.dt(x))
                .i32(op.ordinal()).geom(outer).geom(inner);
        if (columnWise(outer, inner)) {
            int blocks = Math.min((outer.numel() + 31) / 32, 65535);
            KernelLaunch.launch(ctx, REDUCE_COLS, blocks, 1, 1, 32, 8, 1, 0, a);
        } else {
            CudaOps.launchRows(ctx, REDUCE, outer.numel(), a);
        }
        return out;
    }

    /**
     * Whether neighbouring outputs read neighbouring inputs (the kept dims' innermost stride is 1 and
     * many elements are reduced per output): then the column kernel's warps load coalesced rows.
     */
    static boolean columnWise(Geometry outer, Geometry inner) {
        int[] st = outer.strides(0);
        return st[st.length - 1] == 1 && outer.numel() >= 32 && inner.numel() >= 8;
    }

    static Tensor variance(CudaContext ctx, Tensor x, int[] dims, int correction, boolean keepDim) {
        DTypes.requireFloat("var", x.dtype());
        CudaOps.requireOn(ctx, "var", x);
        Plan p = Plan.of("var", x, dims, keepDim);
        Tensor out = CudaOps.empty(ctx, x.dtype(), p.outShape());
        Geometry outer = p.outer();
        if (outer.numel() == 0) return out;
        CudaOps.launchRows(ctx, VARIANCE, outer.numel(), KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(x))
                .i32(CudaOps.dt(x)).i32(correction).geom(outer).geom(p.inner()));
        return out;
    }

    static Tensor argmax(CudaContext ctx, Tensor x, int dim, boolean keepDim) {
        DTypes.requireFloat("argmax", x.dtype());
        CudaOps.requireOn(ctx, "argmax", x);
        int d = Shapes.dim("argmax", dim, x.dim());
        Plan p = Plan.of("argmax", x, new int[]{d}, keepDim);
        Tensor out = CudaOps.empty(ctx, DType.I64, p.outShape());
        Geometry outer = p.outer();
        if (outer.numel() == 0) return out;
        CudaOps.launchRows(ctx, ARGMAX, outer.numel(), KernelArgs.begin().ptr(CudaOps.addr(out)).ptr(CudaOps.addr(x)).i32(CudaOps.dt(x))
                .i32(x.shape(d)).i32(x.stride(d)).geom(outer));
        return out;
    }
}
