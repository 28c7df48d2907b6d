package dev.clipvil.clip;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decoding, mode handling, resize and crop against Pillow itself: the resources under {@code pillow/}
 * were written by {@code make_goldens.py} there (Pillow 12.3): inputs in modes L, 1, P (with and
 * without tRNS), RGBA, LA, upscaled RGB, an eXIf-rotated PNG, and gray, RGB, CMYK and YCCK JPEGs, each
 * with Pillow's result of the reference geometry at 16 px. PNG results must be identical; JPEG ones may
 * differ by the decoders' rounding (libjpeg-turbo against the JDK's decoder).
 */
class PillowGoldenTest {
    private static byte[] resource(String name) throws IOException {
        try (InputStream in = PillowGoldenTest.class.getResourceAsStream("pillow/" + name)) {
            if (in == null) throw new IOException("missing test resource pillow/" + name);
            return in.readAllBytes();
        }
    }

    private static RasterImage decode(String name) throws IOException {
        return ImageDecoder.decode(resource(name), name);
    }

    /** The largest per-sample difference between our result and Pillow's. */
    private static int maxDiff(RasterImage got, String expectedPng) throws IOException {
        RasterImage want = decode(expectedPng);
        assertEquals(ImageMode.RGB, want.mode());
        assertEquals(want.width(), got.width(), expectedPng);
        assertEquals(want.height(), got.height(), expectedPng);
        assertEquals(ImageMode.RGB, got.mode());
        int max = 0;
        for (int i = 0; i < got.pixels().length; i++) max = Math.max(max, Math.abs((got.pixels()[i] & 0xFF) - (want.pixels()[i] & 0xFF)));
        return max;
    }

    private static void check(String input, ImageMode mode, int tolerance) throws IOException {
        RasterImage im = decode(input);
        assertEquals(mode, im.mode(), input);
        String stem = input.substring(0, input.lastIndexOf('.'));
        int d = maxDiff(ClipPreprocess.resizeAndCrop(im, 16), "expected_" + stem + ".png");
        System.out.println("pillow parity " + input + ": max |diff| " + d + " (8-bit)");
        assertTrue(d <= tolerance, input + ": max difference " + d + " > " + tolerance);
    }

    @Test
    void pngModesMatchPillowExactly() throws IOException {
        check("gray_L.png", ImageMode.GRAY, 0);
        check("bilevel.png", ImageMode.BILEVEL, 0);
        check("palette.png", ImageMode.PALETTE, 0);
        check("palette_trns.png", ImageMode.PALETTE, 0);
        check("rgba.png", ImageMode.RGBA, 0);
        check("la.png", ImageMode.GRAY_ALPHA, 0);
        check("small_upscale.png", ImageMode.RGB, 0);
    }

    @Test
    void pngExifOrientationIsApplied() throws IOException {
        RasterImage im = decode("exif6.png");
        assertEquals(20, im.width()); // stored 34x20, rotated upright
        assertEquals(34, im.height());
        check("exif6.png", ImageMode.RGB, 0);
    }

    @Test
    void jpegsMatchPillowWithinDecoderRounding() throws IOException {
        check("gray.jpg", ImageMode.GRAY, 2);
        check("rgb.jpg", ImageMode.RGB, 3);
        check("cmyk.jpg", ImageMode.CMYK, 3);
        check("ycck.jpg", ImageMode.CMYK, 3);
    }

    @Test
    void jpegColorConversionFallbackMatchesImageIO() throws IOException {
        byte[] jpeg = resource("rgb.jpg");
        RasterImage viaImageIO = ImageDecoder.decodeJpeg(jpeg, "rgb.jpg", false);
        RasterImage viaRaster = ImageDecoder.decodeJpeg(jpeg, "rgb.jpg", true);
        int max = 0;
        for (int i = 0; i < viaRaster.pixels().length; i++) {
            max = Math.max(max, Math.abs((viaRaster.pixels()[i] & 0xFF) - (viaImageIO.pixels()[i] & 0xFF)));
        }
        assertTrue(max <= 1, "raw-raster YCbCr conversion differs from ImageIO's by " + max);
    }

    @Test
    void plainResizeMatchesPillow() throws IOException {
        RasterImage rgba = PillowConvert.toRgb(PillowResize.resize(decode("rgba.png"), 20, 12));
        assertEquals(0, maxDiff(rgba, "expected_resize_rgba_20x12.png"));
        RasterImage pal = PillowConvert.toRgb(PillowResize.resize(decode("palette.png"), 12, 20));
        assertEquals(0, maxDiff(pal, "expected_resize_palette_12x20.png"));
    }
}
