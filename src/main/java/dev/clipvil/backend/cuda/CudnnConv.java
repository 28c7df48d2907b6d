package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntToLongFunction;
import java.util.function.IntUnaryOperator;

import static org.bytedeco.cuda.global.cudnn.*;

/**
 * conv2d forward, input gradient and weight gradient through cuDNN's convolution API
 * ({@code cudnnConvolutionForward/BackwardData/BackwardFilter} with tensor, filter and convolution
 * descriptors), the {@code --conv cudnn} side of {@link ConvImpl}. Parameters and results are those
 * of {@link CudaConv} (NCHW tensors as the Backend defines them), so either can stand in for the other.
 *
 * <p>F32: NCHW descriptors on dense NCHW data, F32 compute, {@code CUDNN_FMA_MATH} (strict F32, no
 * TF32) unless TF32 is allowed ({@link CudaBackend#allowTf32}), then {@code CUDNN_DEFAULT_MATH}.
 * BF16: NHWC descriptors with F32 compute and tensor-op math, like our tensor-core kernel: an operand
 * already in channels-last memory (an NCHW-shaped view of NHWC data, PyTorch's channels_last; the
 * benchmark's "nhwc" rows) is read in place, any other is transposed NCHW -> NHWC (KCRS -> KRSC for
 * weights) with {@link CudaConv}'s transpose kernel, and results come back transposed to contiguous
 * NCHW (KCRS). F16 takes {@link CudaConv}'s path. A bias is broadcast into the output first and the
 * convolution accumulates onto it (beta = 1), so a BF16 output is rounded once.
 *
 * <p>Per device context: one cuDNN handle on the context's stream; per convolution shape, dtype and
 * math mode, cached descriptors and, per direction, the algorithm cuDNN's heuristics rank first
 * ({@code cudnnGet*Algorithm_v7}) among those that fit the workspace limit, or with
 * {@code CLIPVIL_CUDNN_FIND=1} the fastest one cuDNN measures ({@code cudnnFind*Algorithm}).
 * Workspace comes from the device's caching allocator per call (stream-ordered reuse, so handing it
 * back right after the call is safe). In a dry-run context nothing of cuDNN is loaded: every call's
 * shapes are checked and counted by {@link DryRun#cudnn}.
 */
final class CudnnConv {
    private CudnnConv() {}

    /** Largest workspace an algorithm may ask for: CLIPVIL_CUDNN_WORKSPACE_MIB (default 1024 MiB). */
    static final long WORKSPACE_LIMIT = mib(System.getenv("CLIPVIL_CUDNN_WORKSPACE_MIB"), 1024);
    /** Benchmark the algorithms (cudnnFind*) instead of taking the heuristics' first: CLIPVIL_CUDNN_FIND=1 or -Dclipvil.cudnn.find=true. */
    static final boolean FIND = "1".equals(System.getenv("CLIPVIL_CUDNN_FIND")) || Boolean.getBoolean("clipvil.cudnn.find");
    /** Descriptor sets kept per context (least recently used dropped beyond this). */
    static final int MAX_PLANS = 256;

    private static long mib(String v, long dflt) {
        try {
            return (v == null || v.isBlank() ? dflt : Long.parseLong(v.trim())) << 20;
        } catch (NumberFormatException e) {
            return dflt << 20;
        }
    }

    /** The three cuDNN calls. */
    enum Op {
        FORWARD("cudnnConvolutionForward"), BACKWARD_DATA("cudnnConvolutionBackwardData"), BACKWARD_FILTER("cudnnConvolutionBackwardFilter");

        final String call;

        Op(String call) { this.call = call; }
    }

    /** One convolution as cuDNN sees it: x [n, c, h, w], weight [k, c / groups, r, s], y [n, k, p, q]. */
    record Key(DType dtype, boolean nhwc, boolean tf32, int n, int c, int h, int w, int k, int r, int s, int p, int q, Conv2dParams cp) {
        static Key of(String op, DType dtype, int[] x, int[] wt, Conv2dParams cp) {
            CudaConv.Geo geo = CudaConv.Geo.of(op, x, wt, cp); // the same shape checks and messages as our kernels'
            int p = geo.p(), q = geo.q();
            for (int v : x) if (v < 1) throw new ShapeException(op + ": empty input " + Shapes.str(x));
            if (wt[0] < 1) throw new ShapeException(op + ": empty weight " + Shapes.str(wt));
            boolean bf16 = dtype == DType.BF16;
            return new Key(dtype, bf16, !bf16 && CudaGemm.tf32(), x[0], x[1], x[2], x[3], wt[0], wt[2], wt[3], p, q, cp);
        }

        int cg() { return c / cp.groups(); }
        int[] x() { return new int[]{n, c, h, w}; }
        int[] wt() { return new int[]{k, cg(), r, s}; }
        int[] y() { return new int[]{n, k, p, q}; }

        String describe() {
            return dtype + (nhwc ? " NHWC" : " NCHW") + (tf32 ? " TF32" : "") + " x " + Shapes.str(x()) + " w " + Shapes.str(wt()) + " y " + Shapes.str(y())
                    + " stride " + cp.strideH() + "x" + cp.strideW() + " pad " + cp.padH() + "x" + cp.padW()
                    + " dilation " + cp.dilationH() + "x" + cp.dilationW() + " groups " + cp.groups();
        }
    }

    private static boolean supported(DType t) { return t == DType.F32 || t == DType.BF16; }

    private static void sameDType(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) throw new DTypeException(op + ": operands must share a dtype, got " + a.describe() + " and " + b.describe());
    }

    // ---- the three entry points (CudaBackend dispatches here under --conv cudnn) ----------------------

    static Tensor forward(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, Conv2dParams p) {
        String op = "conv2d";
        CudaOps.requireOn(ctx, op, x, weight, bias);
        sameDType(op, x, weight);
        if (!supported(x.dtype())) return CudaConv.forward(ctx, x, weight, bias, p);
        Key key = Key.of(op, x.dtype(), x.shape(), weight.shape(), p);
        if (bias != null && (bias.dim() != 1 || bias.shape(0) != key.k)) {
            throw new ShapeException(op + ": bias must be [" + key.k + "] for weight " + Shapes.str(weight.shape()) + ", got " + Shapes.str(bias.shape()));
        }
        Tensor a = null, b = null, y = null, view = null;
        try {
            a = operand(ctx, x, key.nhwc);
            b = operand(ctx, weight, key.nhwc);
            y = key.nhwc ? KernelSupport.empty(ctx, x.dtype(), key.n, key.p, key.q, key.k) : KernelSupport.empty(ctx, x.dtype(), key.y());
            if (bias != null) {
                // NHWC output [n, p, q, k]: bias [k] broadcasts as it is; NCHW: as a [k, 1, 1] view
                view = key.nhwc ? bias.asStrided(bias.shape(), bias.strides(), bias.offset())
                        : bias.asStrided(new int[]{key.k, 1, 1}, new int[]{bias.stride(0), 1, 1}, bias.offset());
                CudaCopy.copy(ctx, view, y);
            }
            run(ctx, Op.FORWARD, key, a, b, y, bias != null);
            Tensor r = result(ctx, key, y);
            if (r == y) y = null;
            return r;
        } finally {
            KernelSupport.close(a, b, view, y);
        }
    }

    static Tensor backwardInput(CudaContext ctx, Tensor gy, Tensor weight, int[] inputShape, Conv2dParams p) {
        String op = "conv2d_backward_input";
        CudaOps.requireOn(ctx, op, gy, weight);
        sameDType(op, gy, weight);
        if (!supported(gy.dtype())) return CudaConv.backwardInput(ctx, gy, weight, inputShape, p);
        Key key = Key.of(op, gy.dtype(), inputShape, weight.shape(), p);
        requireOutputShape(op, gy, key);
        Tensor a = null, b = null, gx = null;
        try {
            a = operand(ctx, gy, key.nhwc);
            b = operand(ctx, weight, key.nhwc);
            gx = key.nhwc ? KernelSupport.empty(ctx, gy.dtype(), key.n, key.h, key.w, key.c) : KernelSupport.empty(ctx, gy.dtype(), key.x());
            run(ctx, Op.BACKWARD_DATA, key, a, b, gx, false);
            Tensor r = result(ctx, key, gx);
            if (r == gx) gx = null;
            return r;
        } finally {
            KernelSupport.close(a, b, gx);
        }
    }

    static Tensor backwardWeight(CudaContext ctx, Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) {
        String op = "conv2d_backward_weight";
        CudaOps.requireOn(ctx, op, gy, x);
        sameDType(op, gy, x);
        if (!supported(gy.dtype())) return CudaConv.backwardWeight(ctx, gy, x, weightShape, p);
        Key key = Key.of(op, gy.dtype(), x.shape(), weightShape, p);
        requireOutputShape(op, gy, key);
        Tensor a = null, b = null, gw = null;
        try {
            a = operand(ctx, gy, key.nhwc);
            b = operand(ctx, x, key.nhwc);
            gw = key.nhwc ? KernelSupport.empty(ctx, gy.dtype(), key.k, key.r, key.s, key.cg()) : KernelSupport.empty(ctx, gy.dtype(), key.wt());
            run(ctx, Op.BACKWARD_FILTER, key, a, b, gw, false);
            Tensor r = result(ctx, key, gw);
            if (r == gw) gw = null;
            return r;
        } finally {
            KernelSupport.close(a, b, gw);
        }
    }

    private static void requireOutputShape(String op, Tensor gy, Key key) {
        if (!Arrays.equals(gy.shape(), key.y())) {
            throw new ShapeException(op + ": output gradient " + Shapes.str(gy.shape()) + " does not match the output " + Shapes.str(key.y()));
        }
    }

    // ---- layouts ----------------------------------------------------------------------------------------

    /**
     * {@code t} (NCHW dims) as the memory a descriptor describes: NCHW contiguous (F32), or NHWC packed
     * (BF16): {@code t} itself (a new handle) when it already is, else a copy (dense, or transposed).
     */
    static Tensor operand(CudaContext ctx, Tensor t, boolean nhwc) {
        if (packed(t, t.shape(), nhwc)) return t.asStrided(t.shape(), t.strides(), t.offset());
        return nhwc ? CudaConv.nchwToNhwc(ctx, t) : KernelSupport.dense(ctx, t, t.dtype());
    }

    /** The NCHW result: {@code out} itself for an NCHW key, else a new tensor: {@code out} (NHWC / KRSC) transposed back. */
    private static Tensor result(CudaContext ctx, Key key, Tensor out) {
        return key.nhwc ? CudaConv.nhwcToNchw(ctx, out) : out;
    }

    /**
     * Whether {@code t} holds the 4-D tensor of NCHW dims {@code nchw} packed in NCHW order (or in NHWC
     * order when {@code nhwc}), given either as an NCHW-shaped view or, for NHWC, an [n, h, w, c]-shaped
     * one. Strides of size-1 dims do not matter. Pure arithmetic (tested on the CPU).
     */
    static boolean packed(Tensor t, int[] nchw, boolean nhwc) { return packed(t.shape(), t.strides(), nchw, nhwc); }

    static boolean packed(int[] shape, int[] strides, int[] nchw, boolean nhwc) {
        if (nchw.length != 4 || shape.length != 4) return false;
        int n = nchw[0], c = nchw[1], h = nchw[2], w = nchw[3];
        int[] want = nhwc ? new int[]{h * w * c, 1, w * c, c} : new int[]{c * h * w, h * w, w, 1};
        int[] have;
        if (Arrays.equals(shape, nchw)) have = strides;
        else if (nhwc && Arrays.equals(shape, new int[]{n, h, w, c})) have = new int[]{strides[0], strides[3], strides[1], strides[2]};
        else return false;
        for (int i = 0; i < 4; i++) if (nchw[i] > 1 && have[i] != want[i]) return false;
        return true;
    }

    // ---- one call -------------------------------------------------------------------------------------------

    /**
     * Issues {@code op}: FORWARD y = conv(a = x, b = w); BACKWARD_DATA dx = (a = dy, b = w);
     * BACKWARD_FILTER dw = (a = dy, b = x); {@code accumulate} adds onto {@code out}'s contents.
     */
    static void run(CudaContext ctx, Op op, Key key, Tensor a, Tensor b, Tensor out, boolean accumulate) {
        int[] aDims = op == Op.FORWARD ? key.x() : key.y();
        int[] bDims = op == Op.BACKWARD_FILTER ? key.x() : key.wt();
        int[] outDims = op == Op.FORWARD ? key.y() : op == Op.BACKWARD_DATA ? key.x() : key.wt();
        requirePacked(op, key, "first operand", a, aDims);
        requirePacked(op, key, "second operand", b, bDims);
        requirePacked(op, key, "output", out, outDims);
        if (ctx.dryRun()) {
            DryRun.cudnn(op.call, key.dtype, key.nhwc, key.x(), key.wt(), key.y(), key.cp,
                    KernelSupport.ptr(a), KernelSupport.ptr(b), KernelSupport.ptr(out));
            return;
        }
        synchronized (ctx) {
            ctx.makeCurrent();
            State st = state(ctx);
            Plan plan = st.plan(key);
            Choice ch = plan.choice(ctx, st.handle, op);
            long ws = ch.workspace;
            long wsPtr = ctx.memory().allocate(ws, "cuDNN workspace of " + op.call);
            try {
                FloatPointer alpha = st.one, beta = accumulate ? st.one : st.zero;
                RawPointer pa = new RawPointer(KernelSupport.ptr(a)), pb = new RawPointer(KernelSupport.ptr(b)), po = new RawPointer(KernelSupport.ptr(out));
                RawPointer pw = new RawPointer(wsPtr);
                int status = switch (op) {
                    case FORWARD -> cudnnConvolutionForward(st.handle, alpha, plan.x, pa, plan.w, pb, plan.conv[0], ch.algo, pw, ws, beta, plan.y, po);
                    case BACKWARD_DATA -> cudnnConvolutionBackwardData(st.handle, alpha, plan.w, pb, plan.y, pa, plan.conv[1], ch.algo, pw, ws, beta, plan.x, po);
                    case BACKWARD_FILTER -> cudnnConvolutionBackwardFilter(st.handle, alpha, plan.x, pb, plan.y, pa, plan.conv[2], ch.algo, pw, ws, beta, plan.w, po);
                };
                CudaCheck.dnn(status, op.call + "(" + key.describe() + ", algo " + ch.algo + ", workspace " + ws + " bytes)");
            } finally {
                ctx.memory().release(wsPtr, ws);
            }
        }
        if (KernelLaunch.SYNC) ctx.synchronize();
    }

    private static void requirePacked(Op op, Key key, String what, Tensor t, int[] nchw) {
        if (t.numel() != Shapes.numel(nchw) || !packed(t, nchw, key.nhwc)) {
            throw new IllegalStateException(op.call + "(" + key.describe() + "): the " + what + " " + t.describe() + " is not "
                    + (key.nhwc ? "NHWC" : "NCHW") + "-packed data of " + Shapes.str(nchw));
        }
    }

    // ---- per-context state: handle, descriptors, algorithms -------------------------------------------------

    private static final Map<CudaContext, State> STATES = new ConcurrentHashMap<>();

    /** The cuDNN state of {@code ctx} (created on first use; the caller holds ctx's lock). */
    private static State state(CudaContext ctx) {
        State s = STATES.get(ctx);
        if (s != null) return s;
        String why = ConvImpl.CUDNN.unavailableReason();
        if (why != null) {
            throw new CudaException("conv2d through cuDNN (--conv cudnn, CLIPVIL_CONV=cudnn) on " + ctx.device() + ": " + why
                    + " (put libcudnn.so.9 on LD_LIBRARY_PATH, or use --conv clipvil for the engine's own kernels)");
        }
        // cudnnCreate allocates device memory and synchronises: not inside a graph (warm-up steps make it)
        if (ctx.capturing() != null) throw ctx.capturing().illegal("creating the cuDNN handle (run one step eagerly before capturing)");
        s = new State(ctx);
        STATES.put(ctx, s);
        return s;
    }

    /** The handle (bound to the context's stream), alpha/beta scalars and the descriptor cache of one context. */
    private static final class State {
        final cudnnContext handle = new cudnnContext();
        final FloatPointer one = new FloatPointer(1f), zero = new FloatPointer(0f);
        final LinkedHashMap<Key, Plan> plans = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Plan> e) {
                if (size() <= MAX_PLANS) return false;
                e.getValue().destroy();
                return true;
            }
        };

        State(CudaContext ctx) {
            CudaCheck.dnn(cudnnCreate(handle), "cudnnCreate(" + ctx.device() + ")");
            CudaCheck.dnn(cudnnSetStream(handle, ctx.stream()), "cudnnSetStream(" + ctx.device() + ")");
        }

        Plan plan(Key key) {
            Plan p = plans.get(key);
            if (p == null) {
                p = Plan.create(handle, key);
                plans.put(key, p);
            }
            return p;
        }
    }

    /** An algorithm and the workspace it needs. */
    record Choice(int algo, long workspace) {}

    /** The descriptors of one {@link Key} (one convolution descriptor per direction: each carries its algorithm's math type). */
    private static final class Plan {
        final Key key;
        final cudnnTensorStruct x = new cudnnTensorStruct(), y = new cudnnTensorStruct();
        final cudnnFilterStruct w = new cudnnFilterStruct();
        final cudnnConvolutionStruct[] conv = new cudnnConvolutionStruct[3];
        final Choice[] choices = new Choice[3];
        private final List<Runnable> destroy = new ArrayList<>();

        private Plan(Key key) { this.key = key; }

        static Plan create(cudnnContext handle, Key key) {
            Plan p = new Plan(key);
            try {
                p.build();
            } catch (RuntimeException e) {
                p.destroy();
                throw e;
            }
            return p;
        }

        private String at(String call) { return call + "(" + key.describe() + ")"; }

        private void build() {
            int fmt = key.nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
            int dt = key.dtype == DType.BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
            CudaCheck.dnn(cudnnCreateTensorDescriptor(x), at("cudnnCreateTensorDescriptor"));
            destroy.add(() -> cudnnDestroyTensorDescriptor(x));
            CudaCheck.dnn(cudnnSetTensor4dDescriptor(x, fmt, dt, key.n, key.c, key.h, key.w), at("cudnnSetTensor4dDescriptor x"));
            CudaCheck.dnn(cudnnCreateTensorDescriptor(y), at("cudnnCreateTensorDescriptor"));
            destroy.add(() -> cudnnDestroyTensorDescriptor(y));
            CudaCheck.dnn(cudnnSetTensor4dDescriptor(y, fmt, dt, key.n, key.k, key.p, key.q), at("cudnnSetTensor4dDescriptor y"));
            CudaCheck.dnn(cudnnCreateFilterDescriptor(w), at("cudnnCreateFilterDescriptor"));
            destroy.add(() -> cudnnDestroyFilterDescriptor(w));
            CudaCheck.dnn(cudnnSetFilter4dDescriptor(w, dt, fmt, key.k, key.cg(), key.r, key.s), at("cudnnSetFilter4dDescriptor"));
            Conv2dParams cp = key.cp;
            int math = key.dtype == DType.BF16 ? CUDNN_TENSOR_OP_MATH : key.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
            for (int i = 0; i < 3; i++) {
                cudnnConvolutionStruct c = new cudnnConvolutionStruct();
                CudaCheck.dnn(cudnnCreateConvolutionDescriptor(c), at("cudnnCreateConvolutionDescriptor"));
                conv[i] = c;
                destroy.add(() -> cudnnDestroyConvolutionDescriptor(c));
                CudaCheck.dnn(cudnnSetConvolution2dDescriptor(c, cp.padH(), cp.padW(), cp.strideH(), cp.strideW(), cp.dilationH(), cp.dilationW(),
                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), at("cudnnSetConvolution2dDescriptor"));
                CudaCheck.dnn(cudnnSetConvolutionGroupCount(c, cp.groups()), at("cudnnSetConvolutionGroupCount"));
                CudaCheck.dnn(cudnnSetConvolutionMathType(c, math), at("cudnnSetConvolutionMathType"));
            }
            int[] n = new int[1], k = new int[1], p = new int[1], q = new int[1];
            CudaCheck.dnn(cudnnGetConvolution2dForwardOutputDim(conv[0], x, w, n, k, p, q), at("cudnnGetConvolution2dForwardOutputDim"));
            if (n[0] != key.n || k[0] != key.k || p[0] != key.p || q[0] != key.q) {
                throw new CudaException(at("cudnnGetConvolution2dForwardOutputDim") + ": cuDNN's output is [" + n[0] + ", " + k[0] + ", " + p[0] + ", " + q[0]
                        + "], ours " + Shapes.str(key.y()));
            }
        }

        /** The algorithm of direction {@code op}, chosen on first use. */
        Choice choice(CudaContext ctx, cudnnContext h, Op op) {
            int i = op.ordinal();
            if (choices[i] == null) {
                // cudnnFind* runs and times every algorithm on the stream: not inside a graph
                if (FIND && ctx.capturing() != null) {
                    throw ctx.capturing().illegal("cuDNN's algorithm search (CLIPVIL_CUDNN_FIND=1) for " + op.call + " of a shape first seen in the capture"
                            + " (run one step eagerly before capturing)");
                }
                choices[i] = choose(h, op);
            }
            return choices[i];
        }

        private Choice choose(cudnnContext h, Op op) {
            cudnnConvolutionStruct c = conv[op.ordinal()];
            int[] found = new int[1];
            String how = FIND ? "Find" : "Get";
            int algo;
            try (SizeTPointer size = new SizeTPointer(1)) {
                switch (op) {
                    case FORWARD -> {
                        try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(CUDNN_CONVOLUTION_FWD_ALGO_COUNT)) {
                            int st = FIND ? cudnnFindConvolutionForwardAlgorithm(h, x, w, c, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, found, perf)
                                          : cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, c, y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, found, perf);
                            CudaCheck.dnn(st, at("cudnn" + how + "ConvolutionForwardAlgorithm"));
                            algo = pick(op, c, found[0], j -> perf.position(j).status(), j -> perf.position(j).memory(),
                                    j -> perf.position(j).mathType(), j -> perf.position(j).algo());
                        }
                        CudaCheck.dnn(cudnnGetConvolutionForwardWorkspaceSize(h, x, w, c, y, algo, size), at("cudnnGetConvolutionForwardWorkspaceSize"));
                    }
                    case BACKWARD_DATA -> {
                        try (cudnnConvolutionBwdDataAlgoPerf_t perf = new cudnnConvolutionBwdDataAlgoPerf_t(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)) {
                            int st = FIND ? cudnnFindConvolutionBackwardDataAlgorithm(h, w, y, c, x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, found, perf)
                                          : cudnnGetConvolutionBackwardDataAlgorithm_v7(h, w, y, c, x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, found, perf);
                            CudaCheck.dnn(st, at("cudnn" + how + "ConvolutionBackwardDataAlgorithm"));
                            algo = pick(op, c, found[0], j -> perf.position(j).status(), j -> perf.position(j).memory(),
                                    j -> perf.position(j).mathType(), j -> perf.position(j).algo());
                        }
                        CudaCheck.dnn(cudnnGetConvolutionBackwardDataWorkspaceSize(h, w, y, c, x, algo, size), at("cudnnGetConvolutionBackwardDataWorkspaceSize"));
                    }
                    default -> {
                        try (cudnnConvolutionBwdFilterAlgoPerf_t perf = new cudnnConvolutionBwdFilterAlgoPerf_t(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)) {
                            int st = FIND ? cudnnFindConvolutionBackwardFilterAlgorithm(h, x, y, c, w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, found, perf)
                                          : cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, x, y, c, w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, found, perf);
                            CudaCheck.dnn(st, at("cudnn" + how + "ConvolutionBackwardFilterAlgorithm"));
                            algo = pick(op, c, found[0], j -> perf.position(j).status(), j -> perf.position(j).memory(),
                                    j -> perf.position(j).mathType(), j -> perf.position(j).algo());
                        }
                        CudaCheck.dnn(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, x, y, c, w, algo, size), at("cudnnGetConvolutionBackwardFilterWorkspaceSize"));
                    }
                }
                return new Choice(algo, size.get());
            }
        }

        /**
         * The first result (cuDNN ranks them) that succeeded, fits {@link #WORKSPACE_LIMIT} and, for strict
         * F32, does not use tensor cores; its math type goes on the direction's descriptor (strict F32 keeps FMA).
         */
        private int pick(Op op, cudnnConvolutionStruct c, int count, IntUnaryOperator status, IntToLongFunction memory, IntUnaryOperator math, IntUnaryOperator algo) {
            boolean strict = key.dtype == DType.F32 && !key.tf32;
            StringBuilder seen = new StringBuilder();
            for (int j = 0; j < count; j++) {
                int m = math.applyAsInt(j);
                boolean tensorOp = m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
                seen.append(j == 0 ? "" : ", ").append("algo ").append(algo.applyAsInt(j)).append(" status ").append(status.applyAsInt(j))
                        .append(" math ").append(m).append(" workspace ").append(memory.applyAsLong(j));
                if (status.applyAsInt(j) != CUDNN_STATUS_SUCCESS || memory.applyAsLong(j) > WORKSPACE_LIMIT || (strict && tensorOp)) continue;
                if (!strict) CudaCheck.dnn(cudnnSetConvolutionMathType(c, m), at("cudnnSetConvolutionMathType"));
                return algo.applyAsInt(j);
            }
            throw new CudaException(op.call + "(" + key.describe() + "): no usable cuDNN algorithm within the workspace limit of " + (WORKSPACE_LIMIT >> 20)
                    + " MiB (CLIPVIL_CUDNN_WORKSPACE_MIB)" + (strict ? " without tensor cores" : "") + "; cuDNN offered: " + (seen.length() == 0 ? "none" : seen));
        }

        void destroy() {
            for (int i = destroy.size() - 1; i >= 0; i--) destroy.get(i).run();
            destroy.clear();
        }
    }
}
