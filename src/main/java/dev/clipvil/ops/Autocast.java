package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Tensor;

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
 */
public final class Autocast {
    private static final ThreadLocal<boolean[]> BF16 = ThreadLocal.withInitial(() -> new boolean[]{false});

    private Autocast() {}

    /** True when this thread's autocast policy is BF16. */
    public static boolean isBf16() { return BF16.get()[0]; }

    /** BF16 autocast until the returned guard is closed (then the previous policy is back). */
    public static Guard bf16() { return set(true); }

    /** Plain F32 (autocast off) until the returned guard is closed. */
    public static Guard f32() { return set(false); }

    private static Guard set(boolean on) {
        boolean[] cell = BF16.get();
        boolean prev = cell[0];
        cell[0] = on;
        return () -> cell[0] = prev;
    }

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
            if (r == null || !Autograd.isRecorded(r)) for (int i = 0; i < inputs.length; i++) dropIfUnrecorded(low[i], inputs[i]);
        }
        return output(r);
    }

    /** An F32 operand lowered to BF16 (CUDA) or rounded through BF16 (CPU emulation); others unchanged. */
    static Tensor input(Tensor t) {
        if (t == null || t.dtype() != DType.F32) return t;
        Tensor h = Elementwise.cast(t, DType.BF16);
        return computesBf16(t.device()) ? h : widen(h);
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
