package dev.clipvil.clip;

/**
 * A decoded 8-bit image: {@code width * height * mode.bands()} samples, row-major, bands interleaved.
 * The array is owned by the image (not copied); operations return new images.
 */
public record RasterImage(ImageMode mode, int width, int height, byte[] pixels) {
    public RasterImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        if (pixels.length != (long) width * height * mode.bands()) {
            throw new IllegalArgumentException(mode + " " + width + "x" + height + " needs " + (long) width * height * mode.bands()
                    + " samples, got " + pixels.length);
        }
    }

    /** A blank image. */
    static RasterImage blank(ImageMode mode, int width, int height) {
        return new RasterImage(mode, width, height, new byte[Math.multiplyExact(Math.multiplyExact(width, height), mode.bands())]);
    }

    /** The sample of band {@code b} at (x, y), 0..255. */
    public int sample(int x, int y, int b) {
        return pixels[(y * width + x) * mode.bands() + b] & 0xFF;
    }

    /** The region {@code [left, left + w) x [top, top + h)}, which must lie inside the image. */
    RasterImage crop(int left, int top, int w, int h) {
        if (left < 0 || top < 0 || left + w > width || top + h > height) {
            throw new IllegalArgumentException("crop " + w + "x" + h + " at (" + left + ", " + top + ") outside " + width + "x" + height);
        }
        int bands = mode.bands();
        byte[] out = new byte[w * h * bands];
        for (int y = 0; y < h; y++) {
            System.arraycopy(pixels, ((top + y) * width + left) * bands, out, y * w * bands, w * bands);
        }
        return new RasterImage(mode, w, h, out);
    }

    @Override
    public String toString() {
        return "RasterImage(" + mode + ", " + width + "x" + height + ")";
    }
}
