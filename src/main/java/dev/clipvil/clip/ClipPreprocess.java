package dev.clipvil.clip;

import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * CLIP's image preprocessing, matching the reference transform {@code Resize(n, BICUBIC)} (the shorter
 * side to n, the longer to {@code int(n * long / short)}), {@code CenterCrop(n)} (offsets
 * {@code round((size - n) / 2)}, halves to even), {@code convert("RGB")}, {@code ToTensor()},
 * {@code Normalize(MEAN, STD)}, on a Pillow-exact resize ({@link PillowResize}), so that a PNG gives the
 * reference's 8-bit pixels exactly. Images are decoded by {@link ImageDecoder} (which also applies EXIF
 * orientation). {@link #loadResized} is the variant without aspect ratio or crop that grid-feature
 * extraction at sizes such as 448x448 or 600x1000 uses.
 */
public final class ClipPreprocess {
    /** CLIP's per-channel normalisation (RGB). */
    public static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private ClipPreprocess() {}

    /** The file decoded and turned upright, in its own mode (see {@link ImageDecoder}); errors name the file. */
    public static RasterImage decode(Path image) throws IOException {
        return ImageDecoder.decode(image);
    }

    /** {@code image} preprocessed for a CLIP model of input size {@code size}: a float32 tensor [3, size, size]. */
    public static Tensor load(Path image, int size) throws IOException {
        return normalize(resizeAndCrop(decode(image), size));
    }

    /** Every image through {@link #load}, stacked: [N, 3, size, size]. */
    public static Tensor loadBatch(List<Path> images, int size) throws IOException {
        return stack(images, size, size, true);
    }

    /**
     * {@code image} resized to exactly {@code height x width} (no aspect ratio kept, no crop; Pillow
     * bicubic, antialiased), as RGB, normalised: [3, height, width].
     */
    public static Tensor loadResized(Path image, int height, int width) throws IOException {
        return normalize(PillowConvert.toRgb(PillowResize.resize(decode(image), width, height)));
    }

    /** Every image through {@link #loadResized}, stacked: [N, 3, height, width]. */
    public static Tensor loadResizedBatch(List<Path> images, int height, int width) throws IOException {
        return stack(images, height, width, false);
    }

    /** The reference's geometry on decoded pixels: shorter side to {@code size}, center crop, RGB (8-bit). */
    public static RasterImage resizeAndCrop(RasterImage im, int size) {
        if (size <= 0) throw new IllegalArgumentException("image size must be positive, got " + size);
        int[] wh = shorterSideTo(im.width(), im.height(), size);
        RasterImage resized = PillowResize.resize(im, wh[0], wh[1]);
        int top = (int) Math.rint((resized.height() - size) / 2.0), left = (int) Math.rint((resized.width() - size) / 2.0);
        return PillowConvert.toRgb(resized.crop(left, top, size, size));
    }

    /** torchvision's size for {@code Resize(size)}: {width, height} with the shorter side {@code size}, the longer truncated. */
    static int[] shorterSideTo(int width, int height, int size) {
        boolean portrait = width <= height;
        int shortSide = portrait ? width : height, longSide = portrait ? height : width;
        int newLong = (int) ((double) size * longSide / shortSide);
        return portrait ? new int[] {size, newLong} : new int[] {newLong, size};
    }

    /** An RGB image as ToTensor then Normalize give it: float32 [3, h, w], {@code (v / 255 - MEAN[c]) / STD[c]}. */
    public static Tensor normalize(RasterImage rgb) {
        float[] data = new float[3 * rgb.width() * rgb.height()];
        normalizeInto(rgb, data, 0);
        return Tensor.of(data, 3, rgb.height(), rgb.width());
    }

    private static void normalizeInto(RasterImage rgb, float[] out, int offset) {
        if (rgb.mode() != ImageMode.RGB) throw new IllegalArgumentException("normalize needs an RGB image, got " + rgb.mode());
        int plane = rgb.width() * rgb.height();
        byte[] p = rgb.pixels();
        for (int c = 0; c < 3; c++) {
            float mean = MEAN[c], std = STD[c];
            for (int i = 0; i < plane; i++) out[offset + c * plane + i] = ((p[i * 3 + c] & 0xFF) / 255f - mean) / std;
        }
    }

    private static Tensor stack(List<Path> images, int height, int width, boolean crop) throws IOException {
        int per = 3 * height * width;
        float[] data = new float[Math.multiplyExact(images.size(), per)];
        for (int i = 0; i < images.size(); i++) {
            RasterImage im = decode(images.get(i));
            RasterImage rgb = crop ? resizeAndCrop(im, height) : PillowConvert.toRgb(PillowResize.resize(im, width, height));
            normalizeInto(rgb, data, i * per);
        }
        return Tensor.of(data, images.size(), 3, height, width);
    }
}
