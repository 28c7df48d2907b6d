package dev.clipvil.clip;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Decoding of images written in the test with ImageIO: modes, EXIF orientation in JPEG bytes, and errors. */
class ImageDecoderTest {
    @TempDir
    Path dir;

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no ImageIO writer for " + format + " type " + img.getType());
        return out.toByteArray();
    }

    private static int value(int x, int y, int c) {
        return (x * 37 + y * 11 + c * 70) % 256;
    }

    @Test
    void grayPngIsGrayAndPreprocessesLikeItsRgbCopy() throws IOException {
        BufferedImage gray = new BufferedImage(23, 17, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage rgb = new BufferedImage(23, 17, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 17; y++) {
            for (int x = 0; x < 23; x++) {
                int v = value(x, y, 0);
                gray.getRaster().setSample(x, y, 0, v);
                for (int c = 0; c < 3; c++) rgb.getRaster().setSample(x, y, c, v);
            }
        }
        RasterImage g = ImageDecoder.decode(encode(gray, "png"), "gray.png");
        assertEquals(ImageMode.GRAY, g.mode());
        assertEquals(value(5, 7, 0), g.sample(5, 7, 0)); // raw samples: no gamma or color conversion
        RasterImage c = ImageDecoder.decode(encode(rgb, "png"), "rgb.png");
        assertEquals(ImageMode.RGB, c.mode());
        assertArrayEquals(ClipPreprocess.resizeAndCrop(c, 8).pixels(), ClipPreprocess.resizeAndCrop(g, 8).pixels());
    }

    @Test
    void palettePngIsExpandedThroughItsPalette() throws IOException {
        byte[] r = new byte[16], gr = new byte[16], b = new byte[16];
        for (int i = 0; i < 16; i++) {
            r[i] = (byte) (i * 16);
            gr[i] = (byte) (255 - i * 16);
            b[i] = (byte) (i * 7);
        }
        BufferedImage img = new BufferedImage(19, 13, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 16, r, gr, b));
        for (int y = 0; y < 13; y++) for (int x = 0; x < 19; x++) img.getRaster().setSample(x, y, 0, (x + y) % 16);
        RasterImage im = ImageDecoder.decode(encode(img, "png"), "palette.png");
        assertEquals(ImageMode.PALETTE, im.mode());
        int index = (4 + 3) % 16;
        assertEquals(index * 16, im.sample(4, 3, 0));
        assertEquals(255 - index * 16, im.sample(4, 3, 1));
        assertEquals(index * 7, im.sample(4, 3, 2));
    }

    @Test
    void rgbaPngDropsAlphaWithoutCompositing() throws IOException {
        BufferedImage img = new BufferedImage(12, 12, BufferedImage.TYPE_4BYTE_ABGR);
        WritableRaster ras = img.getRaster();
        for (int y = 0; y < 12; y++) {
            for (int x = 0; x < 12; x++) ras.setPixel(x, y, new int[] {200, 10, 30, x < 6 ? 0 : 255});
        }
        RasterImage im = ImageDecoder.decode(encode(img, "png"), "rgba.png");
        assertEquals(ImageMode.RGBA, im.mode());
        assertEquals(0, im.sample(0, 0, 3));
        RasterImage rgb = PillowConvert.toRgb(im);
        assertArrayEquals(new int[] {200, 10, 30}, new int[] {rgb.sample(0, 0, 0), rgb.sample(0, 0, 1), rgb.sample(0, 0, 2)});
        // resized premultiplied, as Pillow does: where alpha is 0 the color is lost (black), opaque parts keep it
        RasterImage small = ClipPreprocess.resizeAndCrop(im, 5);
        for (int y = 0; y < 5; y++) {
            assertArrayEquals(new int[] {0, 0, 0}, new int[] {small.sample(0, y, 0), small.sample(0, y, 1), small.sample(0, y, 2)});
            assertArrayEquals(new int[] {200, 10, 30}, new int[] {small.sample(4, y, 0), small.sample(4, y, 1), small.sample(4, y, 2)});
        }
    }

    @Test
    void sixteenBitPngKeepsTheHighByte() throws IOException {
        BufferedImage img = new BufferedImage(new java.awt.image.ComponentColorModel(java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_sRGB),
                false, false, java.awt.Transparency.OPAQUE, DataBuffer.TYPE_USHORT),
                java.awt.image.Raster.createInterleavedRaster(DataBuffer.TYPE_USHORT, 4, 3, 3, null), false, null);
        img.getRaster().setPixel(1, 2, new int[] {0xABCD, 0x1234, 0xFF00});
        RasterImage im = ImageDecoder.decode(encode(img, "png"), "rgb16.png");
        assertEquals(ImageMode.RGB, im.mode());
        assertArrayEquals(new int[] {0xAB, 0x12, 0xFF}, new int[] {im.sample(1, 2, 0), im.sample(1, 2, 1), im.sample(1, 2, 2)});
    }

    /** A JPEG with an Exif APP1 segment (big- or little-endian TIFF) carrying {@code orientation}, inserted after SOI. */
    private static byte[] withExifOrientation(byte[] jpeg, int orientation, boolean little) {
        byte[] tiff = new byte[8 + 2 + 12 + 4];
        tiff[0] = tiff[1] = (byte) (little ? 'I' : 'M');
        put16(tiff, 2, 42, little);
        put16(tiff, 4, 0, little);
        put16(tiff, 6, 8, little); // IFD0 at 8 (32-bit: high half then low half, in the byte order)
        if (little) { tiff[4] = 8; tiff[5] = 0; tiff[6] = 0; tiff[7] = 0; }
        else { tiff[4] = 0; tiff[5] = 0; tiff[6] = 0; tiff[7] = 8; }
        put16(tiff, 8, 1, little);          // one entry
        put16(tiff, 10, 0x0112, little);    // Orientation
        put16(tiff, 12, 3, little);         // SHORT
        tiff[14] = tiff[15] = tiff[16] = 0;
        tiff[little ? 14 : 17] = 1;         // count 1
        put16(tiff, 18, orientation, little);
        byte[] header = "Exif\0\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int len = 2 + header.length + tiff.length;
        byte[] out = new byte[jpeg.length + 2 + len];
        out[0] = (byte) 0xFF;
        out[1] = (byte) 0xD8;
        out[2] = (byte) 0xFF;
        out[3] = (byte) 0xE1;
        out[4] = (byte) (len >> 8);
        out[5] = (byte) len;
        System.arraycopy(header, 0, out, 6, header.length);
        System.arraycopy(tiff, 0, out, 6 + header.length, tiff.length);
        System.arraycopy(jpeg, 2, out, 4 + len, jpeg.length - 2);
        return out;
    }

    private static void put16(byte[] d, int at, int v, boolean little) {
        d[at] = (byte) (little ? v : v >> 8);
        d[at + 1] = (byte) (little ? v >> 8 : v);
    }

    @Test
    void jpegExifOrientationTurnsTheImageUpright() throws IOException {
        BufferedImage img = new BufferedImage(24, 16, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 24; x++) img.setRGB(x, y, x < 12 ? (y < 8 ? 0xFF0000 : 0x00FF00) : (y < 8 ? 0x0000FF : 0xFFFFFF));
        byte[] plain = encode(img, "jpeg");
        RasterImage stored = ImageDecoder.decode(plain, "plain.jpg");
        assertEquals(1, JpegHeader.parse(plain).orientation());
        for (int o = 1; o <= 8; o++) {
            for (boolean little : new boolean[] {true, false}) {
                byte[] tagged = withExifOrientation(plain, o, little);
                assertEquals(o, JpegHeader.parse(tagged).orientation());
                RasterImage upright = ImageDecoder.decode(tagged, "o" + o + ".jpg");
                assertEquals(o >= 5 ? 16 : 24, upright.width(), "orientation " + o);
                assertArrayEquals(ExifOrientation.apply(stored, o).pixels(), upright.pixels(), "orientation " + o);
            }
        }
        // orientation 6 (rotate 90 clockwise): the stored bottom-left (green) quadrant comes to the top-left
        RasterImage six = ImageDecoder.decode(withExifOrientation(plain, 6, false), "six.jpg");
        assertTrue(six.sample(1, 1, 1) > 200 && six.sample(1, 1, 0) < 60, "top-left should be green");
    }

    @Test
    void orientationTransformsAreThePillowOnes() {
        // 3x2 image with distinct samples 0..5; expected layouts written out by hand
        RasterImage im = new RasterImage(ImageMode.GRAY, 3, 2, new byte[] {0, 1, 2, 3, 4, 5});
        int[][] want = {
            null, {0, 1, 2, 3, 4, 5},
            {2, 1, 0, 5, 4, 3},      // 2 mirror
            {5, 4, 3, 2, 1, 0},      // 3 rotate 180
            {3, 4, 5, 0, 1, 2},      // 4 flip
            {0, 3, 1, 4, 2, 5},      // 5 transpose
            {3, 0, 4, 1, 5, 2},      // 6 rotate 90 clockwise
            {5, 2, 4, 1, 3, 0},      // 7 transverse
            {2, 5, 1, 4, 0, 3},      // 8 rotate 90 counter-clockwise
        };
        for (int o = 1; o <= 8; o++) {
            RasterImage t = ExifOrientation.apply(im, o);
            int[] got = new int[6];
            for (int i = 0; i < 6; i++) got[i] = t.pixels()[i];
            assertArrayEquals(want[o], got, "orientation " + o);
        }
    }

    @Test
    void unreadableImagesAreIOExceptionsNamingTheFile() throws IOException {
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 30; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, value(x, y, 0) * 0x10101);
        for (String format : new String[] {"png", "jpeg"}) {
            byte[] full = encode(img, format);
            Path truncated = dir.resolve("truncated." + format);
            Files.write(truncated, Arrays.copyOf(full, full.length / 2));
            IOException e = assertThrows(IOException.class, () -> ClipPreprocess.load(truncated, 8));
            assertTrue(e.getMessage().contains(truncated.toString()), e.getMessage());
        }
        Path garbage = dir.resolve("garbage.png");
        Files.writeString(garbage, "not an image at all");
        IOException e = assertThrows(IOException.class, () -> ClipPreprocess.load(garbage, 8));
        assertTrue(e.getMessage().contains(garbage.toString()), e.getMessage());
        Path missing = dir.resolve("missing.jpg");
        e = assertThrows(IOException.class, () -> ClipPreprocess.load(missing, 8));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void resizeToHeightByWidthAndCropGeometry() throws IOException {
        BufferedImage img = new BufferedImage(50, 20, BufferedImage.TYPE_3BYTE_BGR);
        Path file = dir.resolve("wide.png");
        ImageIO.write(img, "png", file.toFile());
        try (Tensor t = ClipPreprocess.loadResized(file, 6, 10)) {
            assertArrayEquals(new int[] {3, 6, 10}, t.shape());
            // black normalises to -mean/std
            assertEquals(-ClipPreprocess.MEAN[2] / ClipPreprocess.STD[2], t.toFloatArray()[2 * 60], 1e-6);
        }
        try (Tensor t = ClipPreprocess.loadResizedBatch(java.util.List.of(file, file), 6, 10)) {
            assertArrayEquals(new int[] {2, 3, 6, 10}, t.shape());
        }
        // torchvision: long side truncated; crop offsets rounded half to even
        assertArrayEquals(new int[] {20, 8}, ClipPreprocess.shorterSideTo(50, 20, 8));
        assertArrayEquals(new int[] {7, 22}, ClipPreprocess.shorterSideTo(13, 41, 7)); // 7 * 41 / 13 = 22.08
        assertArrayEquals(new int[] {224, 298}, ClipPreprocess.shorterSideTo(480, 640, 224)); // 298.67 truncated
    }

    @Test
    void gifIsAPaletteImageAndBmpIsRgb() throws IOException {
        BufferedImage img = new BufferedImage(9, 7, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 7; y++) for (int x = 0; x < 9; x++) img.setRGB(x, y, x < 4 ? 0xFF0000 : 0x0000FF);
        RasterImage bmp = ImageDecoder.decode(encode(img, "bmp"), "a.bmp");
        assertEquals(ImageMode.RGB, bmp.mode());
        assertArrayEquals(new int[] {0, 0, 255}, new int[] {bmp.sample(8, 6, 0), bmp.sample(8, 6, 1), bmp.sample(8, 6, 2)});
        RasterImage gif = ImageDecoder.decode(encode(img, "gif"), "a.gif");
        assertEquals(ImageMode.PALETTE, gif.mode());
        assertArrayEquals(new int[] {255, 0, 0}, new int[] {gif.sample(0, 0, 0), gif.sample(0, 0, 1), gif.sample(0, 0, 2)});
    }
}
