package dev.clipvil.clip;

/**
 * Pillow's 8-bit mode conversions that the reference preprocessing goes through: premultiplying by
 * alpha around a resize ("RGBA" to "RGBa" and back, likewise "LA"), and {@code convert("RGB")}, which
 * drops alpha without compositing, replicates gray, and maps CMYK ink to RGB as
 * {@code (255 - k) - (255 - k) * c / 255}.
 */
final class PillowConvert {
    private PillowConvert() {}

    /** {@code round(a * b / 255)} the way Pillow's MULDIV255 computes it. */
    static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static int clip8(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** The color bands multiplied by alpha (the last band). */
    static RasterImage premultiply(RasterImage im) {
        int bands = im.mode().bands();
        byte[] in = im.pixels(), out = new byte[in.length];
        for (int p = 0; p < in.length; p += bands) {
            int alpha = in[p + bands - 1] & 0xFF;
            for (int b = 0; b < bands - 1; b++) out[p + b] = (byte) mulDiv255(in[p + b] & 0xFF, alpha);
            out[p + bands - 1] = (byte) alpha;
        }
        return new RasterImage(im.mode(), im.width(), im.height(), out);
    }

    /** The inverse of {@link #premultiply} (integer division, clipped; alpha 0 and 255 leave colors as they are). */
    static RasterImage unpremultiply(RasterImage im) {
        int bands = im.mode().bands();
        byte[] in = im.pixels(), out = new byte[in.length];
        for (int p = 0; p < in.length; p += bands) {
            int alpha = in[p + bands - 1] & 0xFF;
            for (int b = 0; b < bands - 1; b++) {
                int v = in[p + b] & 0xFF;
                out[p + b] = (byte) (alpha == 0 || alpha == 255 ? v : clip8(255 * v / alpha));
            }
            out[p + bands - 1] = (byte) alpha;
        }
        return new RasterImage(im.mode(), im.width(), im.height(), out);
    }

    /** {@code im} as 8-bit RGB, as Pillow's {@code convert("RGB")}. */
    static RasterImage toRgb(RasterImage im) {
        ImageMode mode = im.mode();
        if (mode == ImageMode.RGB) return im;
        int n = im.width() * im.height(), bands = mode.bands();
        byte[] in = im.pixels(), out = new byte[n * 3];
        for (int i = 0; i < n; i++) {
            int p = i * bands, o = i * 3;
            switch (mode) {
                case BILEVEL, GRAY, GRAY_ALPHA -> out[o] = out[o + 1] = out[o + 2] = in[p];
                case PALETTE, RGBA -> {
                    out[o] = in[p];
                    out[o + 1] = in[p + 1];
                    out[o + 2] = in[p + 2];
                }
                case CMYK -> {
                    int nk = 255 - (in[p + 3] & 0xFF);
                    for (int b = 0; b < 3; b++) out[o + b] = (byte) clip8(nk - mulDiv255(in[p + b] & 0xFF, nk));
                }
                default -> throw new IllegalStateException("unhandled mode " + mode);
            }
        }
        return new RasterImage(ImageMode.RGB, im.width(), im.height(), out);
    }
}
