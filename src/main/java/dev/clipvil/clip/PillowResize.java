package dev.clipvil.clip;

/**
 * Image resizing that reproduces Pillow's {@code Image.resize} for 8-bit images bit for bit. Bicubic
 * (a = -0.5) is a separable convolution whose support widens with the downscale factor (so it
 * antialiases), with Pillow's coefficients: per output pixel, the input range
 * {@code [(int)(center - support + 0.5), (int)(center + support + 0.5))}, weights normalised to sum 1,
 * then fixed point with 22 fraction bits; a horizontal pass, rounding and clipping to 0..255, then a
 * vertical pass. Images with alpha are resized premultiplied, and palette and 1-bit images
 * nearest-neighbour, as Pillow does.
 */
final class PillowResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;

    private PillowResize() {}

    /** {@code im} resized to {@code width x height} with Pillow's bicubic filter (see the class comment). */
    static RasterImage resize(RasterImage im, int width, int height) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("resize to " + width + "x" + height + ": sizes must be positive");
        if (width == im.width() && height == im.height()) return im;
        if (im.mode().resizesNearest()) return nearest(im, width, height);
        if (im.mode().hasAlpha()) {
            return PillowConvert.unpremultiply(bicubic(PillowConvert.premultiply(im), width, height));
        }
        return bicubic(im, width, height);
    }

    /** Bicubic resampling of every band alike, horizontal pass first (each pass only when its size changes). */
    static RasterImage bicubic(RasterImage im, int width, int height) {
        RasterImage out = im;
        if (width != im.width()) out = horizontal(out, width);
        if (height != im.height()) out = vertical(out, height);
        return out;
    }

    /** Per output index: the first input index, the count, and fixed-point weights ({@code ksize} per output). */
    private record Coefficients(int[] first, int[] count, int[] weights, int ksize) {}

    private static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static Coefficients coefficients(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = SUPPORT * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize];
        int[] weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        double ss = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = bicubic((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                double w = ww != 0.0 ? k[x] / ww : k[x];
                weights[xx * ksize + x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = Math.max(xmax, 0);
        }
        return new Coefficients(first, count, weights, ksize);
    }

    private static int clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    private static RasterImage horizontal(RasterImage im, int width) {
        Coefficients c = coefficients(im.width(), width);
        int bands = im.mode().bands(), inW = im.width(), h = im.height();
        byte[] in = im.pixels(), out = new byte[width * h * bands];
        int[] acc = new int[bands];
        for (int y = 0; y < h; y++) {
            int row = y * inW * bands;
            for (int xx = 0; xx < width; xx++) {
                java.util.Arrays.fill(acc, 1 << (PRECISION_BITS - 1));
                int base = xx * c.ksize, x0 = c.first[xx];
                for (int x = 0; x < c.count[xx]; x++) {
                    int w = c.weights[base + x], p = row + (x0 + x) * bands;
                    for (int b = 0; b < bands; b++) acc[b] += (in[p + b] & 0xFF) * w;
                }
                int o = (y * width + xx) * bands;
                for (int b = 0; b < bands; b++) out[o + b] = (byte) clip8(acc[b]);
            }
        }
        return new RasterImage(im.mode(), width, h, out);
    }

    private static RasterImage vertical(RasterImage im, int height) {
        Coefficients c = coefficients(im.height(), height);
        int bands = im.mode().bands(), w = im.width(), rowLen = w * bands;
        byte[] in = im.pixels(), out = new byte[height * rowLen];
        int[] acc = new int[rowLen];
        for (int yy = 0; yy < height; yy++) {
            java.util.Arrays.fill(acc, 1 << (PRECISION_BITS - 1));
            int base = yy * c.ksize, y0 = c.first[yy];
            for (int y = 0; y < c.count[yy]; y++) {
                int wt = c.weights[base + y], row = (y0 + y) * rowLen;
                for (int i = 0; i < rowLen; i++) acc[i] += (in[row + i] & 0xFF) * wt;
            }
            for (int i = 0; i < rowLen; i++) out[yy * rowLen + i] = (byte) clip8(acc[i]);
        }
        return new RasterImage(im.mode(), w, height, out);
    }

    /**
     * Pillow's nearest-neighbour scaling: output pixel x samples input {@code (int) xo}, where xo starts
     * at half the scale and grows by the scale per pixel (accumulated in double, as Pillow does).
     */
    static RasterImage nearest(RasterImage im, int width, int height) {
        int[] xs = nearestIndices(im.width(), width), ys = nearestIndices(im.height(), height);
        int bands = im.mode().bands();
        byte[] in = im.pixels(), out = new byte[width * height * bands];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                System.arraycopy(in, (ys[y] * im.width() + xs[x]) * bands, out, (y * width + x) * bands, bands);
            }
        }
        return new RasterImage(im.mode(), width, height, out);
    }

    private static int[] nearestIndices(int inSize, int outSize) {
        double step = (double) inSize / outSize;
        double pos = step * 0.5;
        int[] idx = new int[outSize];
        for (int i = 0; i < outSize; i++) {
            idx[i] = Math.min(pos < 0.0 ? 0 : (int) pos, inSize - 1);
            pos += step;
        }
        return idx;
    }
}
