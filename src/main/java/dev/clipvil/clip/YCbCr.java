package dev.clipvil.clip;

/**
 * JPEG's YCbCr to RGB conversion in libjpeg's fixed-point arithmetic (16 fraction bits, rounded,
 * clamped to 0..255), for decoding YCCK images the way the reference's decoder does.
 */
final class YCbCr {
    private static final int SCALE = 16;
    private static final int HALF = 1 << (SCALE - 1);

    private YCbCr() {}

    private static int fix(double x) {
        return (int) (x * (1 << SCALE) + 0.5);
    }

    private static int clamp(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    static int red(int y, int cr) {
        return clamp(y + ((fix(1.40200) * (cr - 128) + HALF) >> SCALE));
    }

    static int green(int y, int cb, int cr) {
        return clamp(y + ((-fix(0.34414) * (cb - 128) - fix(0.71414) * (cr - 128) + HALF) >> SCALE));
    }

    static int blue(int y, int cb) {
        return clamp(y + ((fix(1.77200) * (cb - 128) + HALF) >> SCALE));
    }
}
