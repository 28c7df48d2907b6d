package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The mixed-precision policy of this thread, as PyTorch's autocast: under {@code try (var g =
 * Autocast.bf16()) {...}} GEMMs, attention and convolutions ({@link Linear}, {@link Attention},
 * {@link Convolution}) take BF16 operands with F32 accumulation and return F32; everything else (norms,
 * softmax, losses, elementwise ops, optimizers) stays F32, and parameters stay F32 master weights.
 * <p>
 * Linears and matmuls are one autograd node each ({@link Linear}): the operands are lowered inside it
 * ({@link #operand}, no graph node), the GEMM writes its F32 result directly (BF16 operands, F32
 * accumulation and output, an F32 bias in the epilogue), and its backward lowers the F32 gradient once
 * ({@link #gradOperand}) and runs the two gradient GEMMs with F32 outputs: no widening pass anywhere,
 * and F32 parameters get F32 gradients straight from the GEMM. Attention and convolution use
 * {@link #lowered}: operands lowered through recorded casts ({@link #input}), the BF16 result widened
 * ({@link #output}), so backward follows the same BF16 roundings.
 * <p>
 * On CUDA the lowered ops really run in BF16 (tensor cores). The CPU backend computes only in F32, so
 * there the policy is emulated: operands (and, in backward, output gradients) are rounded to BF16 and
 * back, their products are summed in F32; a linear's or matmul's F32 result is kept as is (the GPU
 * writes it as F32 too), while the result of {@link #lowered} is rounded through BF16 as the GPU's BF16
 * output would be. That is for checking numerics; it is slower than plain F32.
 * <p>
 * Weight-cast cache (PyTorch's autocast cache): while a BF16 region is open on this thread, the
 * lowered copy of a parameter (a leaf tensor that requires grad) is made once and reused by every op
 * that reads it, e.g. an evaluation loop inside one region casts each weight once instead of once per
 * batch, a training forward once however many ops read the weight. The copies are plain tensors (no
 * graph: the gradient reaches the F32 parameter through the op that reads the copy), owned by the
 * cache and freed when the outermost BF16 guard closes; an op that saves one for backward holds a
 * handle of its own, so the copy outlives the region until that backward. An optimizer step clears
 * the cache ({@link #clearCache}); other in-place writes to a parameter inside an open BF16 region
 * are not seen by it, as in PyTorch.
 */
public final class Autocast {
    /** This thread's policy, how many BF16 guards are open, and the weight-cast cache they share. */
    private static final class State {
        boolean bf16;
        int bf16Guards;
        /** parameter -> its lowered copy (owned by the cache: detached from memory scopes, no graph) */
        final Map<Tensor, Tensor> casts = new IdentityHashMap<>();
    }

    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

    private Autocast() {}

    /** True when this thread's autocast policy is BF16. */
    public static boolean isBf16() { return STATE.get().bf16; }

    /**
     * BF16 autocast until the returned guard is closed (then the previous policy is back). When the
     * outermost BF16 guard of the thread closes, the weight-cast cache is cleared.
     */
    public static Guard bf16() {
        State st = STATE.get();
        boolean prev = st.bf16;
        st.bf16 = true;
        st.bf16Guards++;
        return () -> {
            st.bf16 = prev;
            if (--st.bf16Guards == 0) clear(st);
        };
    }

    /** Plain F32 (autocast off) until the returned guard is closed. */
    public static Guard f32() {
        State st = STATE.get();
        boolean prev = st.bf16;
        st.bf16 = false;
        return () -> st.bf16 = prev;
    }

    /** Forgets this thread's cached weight casts (frees those the cache owns): parameters changed in place. */
    public static void clearCache() { clear(STATE.get()); }

    /** Parameters with a cached lowered copy on this thread now (for tests and diagnostics). */
    public static int cachedCasts() { return STATE.get().casts.size(); }

    private static void clear(State st) {
        for (Tensor t : st.casts.values()) t.close();
        st.casts.clear();
    }

    /** Restores the previous policy on close. */
    public interface Guard extends AutoCloseable {
        @Override void close();
    }

    /** True when the policy is BF16 and some non-null input is F32 (the op should run lowered: {@link #lowered}, or its own one-node form). */
    static boolean applies(Tensor... ts) {
        if (!isBf16()) return false;
        for (Tensor t : ts) if (t != null && t.dtype() == DType.F32) return true;
        return false;
    }

    /**
     * {@code op} on the lowered {@code inputs} (nulls and non-F32 inputs pass unchanged) with the policy
     * off, its result brought back to F32 by {@link #output}. The pattern of attention and convolution.
     */
    static Tensor lowered(Function<Tensor[], Tensor> op, Tensor... inputs) {
        Tensor[] low = new Tensor[inputs.length];
        Tensor r = null;
        try (Guard g = f32()) {
            for (int i = 0; i < inputs.length; i++) low[i] = input(inputs[i]);
            r = op.apply(low);
        } finally {
            // a recorded op saves its lowered operands (even constant ones) for backward; otherwise they are garbage now
            if (r == null || !Autograd.isRecorded(r)) {
                for (int i = 0; i < inputs.length; i++) dropIfUnrecorded(low[i], inputs[i]);
            }
        }
        return output(r);
    }

    /**
     * An F32 operand lowered to BF16 (CUDA) or rounded through BF16 (CPU emulation) by a recorded cast
     * (backward: the BF16 gradient widened to F32; on the CPU the F32 gradient rounded through BF16);
     * others unchanged. A parameter's lowered values come from the weight-cast cache while a BF16 region
     * is open (a new handle on the cached copy, recorded as the cast).
     */
    static Tensor input(Tensor t) {
        if (t == null || t.dtype() != DType.F32) return t;
        if (cacheable(t)) {
            Tensor low = cachedHandle(t);
            return Autograd.record("cast", low, new Tensor[]{t}, null, (g, s) -> new Tensor[]{widenGrad(g)});
        }
        Tensor h = Elementwise.cast(t, DType.BF16);
        return computesBf16(t.device()) ? h : widen(h);
    }

    /**
     * {@code t}'s values as a lowered GEMM operand, with no graph node: a new handle the caller owns
     * (closes, or saves for backward). F32 becomes BF16 (CUDA) or F32 rounded through BF16 (CPU
     * emulation), a parameter's copy coming from the weight-cast cache while a BF16 region is open;
     * other dtypes are a new handle on {@code t} itself.
     */
    static Tensor operand(Tensor t) {
        if (t.dtype() != DType.F32) return t.asStrided(t.shape(), t.strides(), t.offset());
        if (cacheable(t)) return cachedHandle(t);
        return lower(t);
    }

    /**
     * The output gradient of a linear or matmul lowered once for the backward GEMMs, as {@link #operand}
     * (never cached): a new tensor the caller closes.
     */
    static Tensor gradOperand(Tensor g) {
        return g.dtype() == DType.F32 ? lower(g) : g.asStrided(g.shape(), g.strides(), g.offset());
    }

    /** A gradient computed in F32 for an input of dtype {@code to}: {@code g} itself or a cast of it (then {@code g} is closed). */
    static Tensor gradAs(Tensor g, DType to) {
        if (g == null || g.dtype() == to) return g;
        Tensor c = Backends.of(g).cast(g, to);
        g.close();
        return c;
    }

    /** A new lowered copy of F32 {@code t} (contiguous, no graph): BF16 on CUDA, F32 rounded through BF16 on the CPU. */
    private static Tensor lower(Tensor t) {
        Backend be = Backends.of(t);
        Tensor h = be.cast(t, DType.BF16);
        if (computesBf16(t.device())) return h;
        Tensor f = be.cast(h, DType.F32);
        h.close();
        return f;
    }

    /** Whether {@code t}'s lowered copy belongs in the cache: a BF16 region is open and {@code t} is a parameter. */
    private static boolean cacheable(Tensor t) {
        return STATE.get().bf16Guards > 0 && t.requiresGrad() && t.gradFn() == null;
    }

    /** A new handle on parameter {@code t}'s cached lowered copy, made now when there is none. */
    private static Tensor cachedHandle(Tensor t) {
        State st = STATE.get();
        Tensor c = st.casts.get(t);
        if (c == null || c.isClosed()) {
            c = MemoryScope.detach(lower(t));
            st.casts.put(t, c);
        }
        return c.asStrided(c.shape(), c.strides(), c.offset());
    }

    /** The backward of a cached lowered copy's cast: BF16 widened to F32, an emulated F32 gradient rounded through BF16. */
    private static Tensor widenGrad(Tensor g) {
        Backend be = Backends.of(g);
        if (g.dtype() != DType.F32) return be.cast(g, DType.F32);
        Tensor h = be.cast(g, DType.BF16);
        Tensor f = be.cast(h, DType.F32);
        h.close();
        return f;
    }

    /** A lowered op's result as F32: a BF16 result cast up, an emulated F32 result rounded through BF16. */
    static Tensor output(Tensor r) {
        if (r.dtype() == DType.BF16) return widen(r);
        if (r.dtype() != DType.F32 || computesBf16(r.device())) return r;
        Tensor h = Elementwise.cast(r, DType.BF16);
        dropIfUnrecorded(r, null);
        return widen(h);
    }

    /** Whether the device's backend computes in BF16 (CUDA); the CPU backend computes only F32/F64. */
    static boolean computesBf16(Device d) { return d.kind() == Device.Kind.CUDA; }

    private static Tensor widen(Tensor h) {
        Tensor f = Elementwise.cast(h, DType.F32);
        dropIfUnrecorded(h, null);
        return f;
    }

    /** Closes a temporary no graph refers to (grad off or nothing to differentiate); graph members stay for backward. */
    private static void dropIfUnrecorded(Tensor temp, Tensor original) {
        if (temp != null && temp != original && !Autograd.isRecorded(temp)) temp.close();
    }
}
