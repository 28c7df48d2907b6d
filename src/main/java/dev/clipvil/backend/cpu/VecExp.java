package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * A vectorised float {@code exp} for softmax-style kernels. The Vector API's own EXP is not an
 * intrinsic on every JDK 17 build (it can fall back to a per-lane scalar call), so this one is built
 * from plain lane arithmetic: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-7 polynomial, and
 * 2^n assembled in the exponent bits. Relative error is a few float ulps over the whole range; inputs
 * below about -87.3 give exactly 0 (so -inf gives 0), inputs above 88 are clamped to it (softmax only feeds it values <= 0), NaN stays NaN.
 */
final class VecExp {
    private VecExp() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = 0x4B400000;
    private static final float LO = -87.33f;
    private static final float HI = 88.0f;

    /** exp of each lane. */
    static FloatVector exp(FloatVector x) {
        VectorMask<Float> under = x.compare(VectorOperators.LT, LO);
        FloatVector xc = x.min(HI).max(LO);
        FloatVector t = xc.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1f / 5040f);
        p = p.fma(r, FloatVector.broadcast(F, 1f / 720f));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 120f));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 24f));
        p = p.fma(r, FloatVector.broadcast(F, 1f / 6f));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        IntVector bits = t.reinterpretAsInts().sub(ROUNDER_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector scale = bits.reinterpretAsFloats();
        return p.mul(scale).blend(0f, under);
    }

    /** The same function on one float, for tails (matches the vector lanes closely, not bit for bit). */
    static float exp(float x) {
        return x < LO ? 0f : (float) Math.exp(x);
    }
}
