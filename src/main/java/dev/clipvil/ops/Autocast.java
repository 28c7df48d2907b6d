package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The mixed-precision policy of this thread, as PyTorch's autocast: under {@code try (var g =
 * Autocast.bf16()) {...}} GEMMs, attention and convolutions ({@link Linear}, {@link Attention},
 * {@link Convolution}) take BF16 operands with F32 accumulation and return F32; everything else (norms,
 * softmax, losses, elementwise ops, optimizers) stays F32, and parameters stay F32 master weights.
 * Every cast goes through {@link Elementwise#cast}, so backward follows it: gradients flow back through
 * the same BF16 roundings and reach F32 parameters as F32.
 * <p>
 * On CUDA the lowered op really runs in BF16 (tensor cores). The CPU backend computes only in F32, so
 * there the policy is emulated: operands are rounded to BF16 and back (their products are exactly
 * those of BF16 operands, summed in F32) and the F32 result is rounded through BF16 as the GPU's BF16
 * output would be. That is for checking numerics; it is slower than plain F32.
 * <p>
 * Weight-cast cache (PyTorch's autocast cache): while a BF16 region is open on this thread, the
 * lowered copy of a parameter (a leaf tensor that requires grad) is made once and reused by every op
 * that reads it, e.g. an evaluation loop inside one region casts each weight once instead of once per
 * batch. A copy made with grad off is owned by the cache and freed when the outermost BF16 guard
 * closes; one made with grad on is part of the graph and owned by the memory scope it was made in (the
 * cache drops it once that scope frees it or backward has run through it). An optimizer step clears
 * the cache ({@link #clearCache}); other in-place writes to a parameter inside an open BF16 region
 * are not seen by it, as in PyTorch.
 */
public final class Autocast {
    /** This thread's policy, how many BF16 guards are open, and the weight-cast cache they share. */
    private static final class State {
        boolean bf16;
        int bf16Guards;
        /** parameter -> its lowered copy; {@link #owned} are the copies the cache must free. */
        final Map<Tensor, Tensor> casts = new IdentityHashMap<>();
        /** the values of {@link #casts}, and those of them the cache must free */
        final Set<Tensor> copies = identitySet(), owned = identitySet();
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
        for (Tensor t : st.owned) t.close();
        st.owned.clear();
        st.copies.clear();
        st.casts.clear();
    }

    private static Set<Tensor> identitySet() { return Collections.newSetFromMap(new IdentityHashMap<>()); }

    /** Restores the previous policy on close. */
    public interface Guard extends AutoCloseable {
        @Override void close();
    }

    /** True when the policy is BF16 and some non-null input is F32 (the op should run {@link #lowered}). */
    static boolean applies(Tensor... ts) {
        if (!isBf16()) return false;
        for (Tensor t : ts) if (t != null && t.dtype() == DType.F32) return true;
        return false;
    }

    /**
     * {@code op} on the lowered {@code inputs} (nulls and non-F32 inputs pass unchanged) with the policy
     * off, its result brought back to F32 by {@link #output}. The one pattern every autocast op uses.
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
                for (int i = 0; i < inputs.length; i++) if (!cached(low[i])) dropIfUnrecorded(low[i], inputs[i]);
            }
        }
        return output(r);
    }

    /**
     * An F32 operand lowered to BF16 (CUDA) or rounded through BF16 (CPU emulation); others unchanged.
     * A parameter's lowered copy comes from (and goes into) the weight-cast cache while a BF16 region is open.
     */
    static Tensor input(Tensor t) {
        if (t == null || t.dtype() != DType.F32) return t;
        State st = STATE.get();
        boolean cacheable = st.bf16Guards > 0 && t.requiresGrad() && t.gradFn() == null;
        if (cacheable) {
            Tensor c = st.casts.get(t);
            if (c != null && usable(c, t)) return c;
            if (c != null) {
                st.copies.remove(c);
                if (st.owned.remove(c)) c.close();
            }
        }
        Tensor h = Elementwise.cast(t, DType.BF16);
        Tensor low = computesBf16(t.device()) ? h : widen(h);
        if (cacheable) {
            st.casts.put(t, low);
            st.copies.add(low);
            if (!Autograd.isRecorded(low)) st.owned.add(MemoryScope.detach(low));
        }
        return low;
    }

    /**
     * A cached copy serves while it is alive and, when the parameter needs a gradient now, still part
     * of a graph that backward has not run through (else the gradient could not reach the parameter).
     */
    private static boolean usable(Tensor c, Tensor param) {
        if (c.isClosed()) return false;
        if (!Autograd.needsGrad(param)) return true;
        return Autograd.hasLiveGraph(c);
    }

    /** True when {@code t} is a copy held by this thread's weight-cast cache (not a temporary to free). */
    private static boolean cached(Tensor t) { return t != null && STATE.get().copies.contains(t); }

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
