package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.Tensor;

/**
 * An attention mask broadcast to [B, H, Sq, Sk]: BOOL (true = attend, false = score -inf) or an
 * additive mask of the scores' dtype. Reads one row of it straight from its storage with broadcast
 * strides (0 along broadcast dims), so a [Sq, Sk] or [B, 1, 1, Sk] mask costs no copy.
 */
final class AttentionMask {
    private final byte[] bools;
    private final float[] f32;
    private final double[] f64;
    private final int offset;
    private final int[] strides;

    private AttentionMask(byte[] bools, float[] f32, double[] f64, int offset, int[] strides) {
        this.bools = bools;
        this.f32 = f32;
        this.f64 = f64;
        this.offset = offset;
        this.strides = strides;
    }

    /** The mask, or null for none. */
    static AttentionMask of(String op, Tensor mask, DType scores, int[] full) {
        if (mask == null) return null;
        int[] st = Cpu.broadcastStrides(op, mask, full);
        if (mask.dtype() == DType.BOOL) return new AttentionMask(mask.hostStorage().bool(), null, null, mask.offset(), st);
        if (mask.dtype() != scores) {
            throw new DTypeException(op + ": the mask must be BOOL or " + scores + " like the query, got " + mask.describe());
        }
        if (scores == DType.F32) return new AttentionMask(null, Cpu.f32(mask), null, mask.offset(), st);
        return new AttentionMask(null, null, Cpu.f64(mask), mask.offset(), st);
    }

    private int rowBase(int b, int h, int i) { return offset + b * strides[0] + h * strides[1] + i * strides[2]; }

    /** Applies row (b, h, i) of the mask to the scores s[0, n). */
    void apply(float[] s, int n, int b, int h, int i) {
        int o = rowBase(b, h, i), st = strides[3];
        if (bools != null) {
            for (int j = 0; j < n; j++) if (bools[o + j * st] == 0) s[j] = Float.NEGATIVE_INFINITY;
        } else {
            for (int j = 0; j < n; j++) s[j] += f32[o + j * st];
        }
    }

    void apply(double[] s, int n, int b, int h, int i) {
        int o = rowBase(b, h, i), st = strides[3];
        if (bools != null) {
            for (int j = 0; j < n; j++) if (bools[o + j * st] == 0) s[j] = Double.NEGATIVE_INFINITY;
        } else {
            for (int j = 0; j < n; j++) s[j] += f64[o + j * st];
        }
    }
}
