package dev.clipvil.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfFloatsTest {
    private static int bf(float f) { return HalfFloats.floatToBf16(f) & 0xffff; }
    private static int h(float f) { return HalfFloats.floatToF16(f) & 0xffff; }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(0x3f80, bf(1.0f));
        assertEquals(0xbf80, bf(-1.0f));
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0)
        assertEquals(0x3f80, bf(1.0f + 0x1p-8f));
        // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up
        assertEquals(0x3f82, bf(1.0f + 3 * 0x1p-8f));
        // just above halfway rounds up
        assertEquals(0x3f81, bf(Math.nextUp(1.0f + 0x1p-8f)));
        assertEquals(0x7f80, bf(Float.POSITIVE_INFINITY));
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        assertEquals(3.140625f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(3.14159f)));
        // overflow of the largest finite value rounds to infinity
        assertEquals(0x7f80, bf(Float.MAX_VALUE));
    }

    @Test
    void f16KnownValues() {
        assertEquals(0x3c00, h(1.0f));
        assertEquals(0xc000, h(-2.0f));
        assertEquals(0x7bff, h(65504f));
        assertEquals(0x7c00, h(65520f));            // rounds up to infinity
        assertEquals(0x7bff, h(65519f));
        assertEquals(0x0001, h(0x1p-24f));          // smallest subnormal
        assertEquals(0x0000, h(0x1p-26f));          // underflows to zero
        assertEquals(0x0001, h(0x1.8p-25f));        // 0.75 * 2^-24 rounds up to 2^-24
        assertEquals(0x2e66, h(0.1f));
        assertEquals(0x6800, h(2049f));             // tie between 2048 (even) and 2050: 2048
        assertEquals(0x6802, h(2051f));             // tie between 2050 (odd) and 2052: 2052
        assertEquals(0x0400, h(0x1p-14f));          // smallest normal
        assertEquals(0x7e00, h(Float.NaN) & 0x7e00);
    }

    @Test
    void f16RoundTripsEveryHalf() {
        for (int b = 0; b < 0x10000; b++) {
            short s = (short) b;
            float f = HalfFloats.f16ToFloat(s);
            if (Float.isNaN(f)) continue;
            assertEquals(b, h(f), "f16 bits " + Integer.toHexString(b));
        }
    }

    @Test
    void bf16RoundTripsEveryValue() {
        for (int b = 0; b < 0x10000; b++) {
            float f = HalfFloats.bf16ToFloat((short) b);
            if (Float.isNaN(f)) continue;
            assertEquals(b, bf(f));
        }
    }
}
