package dev.clipvil.clip;

import org.w3c.dom.Node;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Decodes an image file (with javax.imageio: PNG, JPEG, also GIF and BMP) into the 8-bit mode that
 * Pillow would open it in ({@link ImageMode}), samples taken from the raster as stored (no color
 * management, as Pillow), then turned upright by its EXIF orientation (JPEG APP1, PNG eXIf), which
 * CLIP's reference does not do but which shows photos the way they were taken.
 *
 * <p>PNG: gray 1-bit is BILEVEL, 2/4-bit gray scaled to 0..255, 16-bit samples keep their high byte
 * (Pillow does so for color; 16-bit gray it clips to 255, which this does not reproduce), palette
 * images are expanded, a tRNS color key is ignored (as Pillow's {@code convert("RGB")} does).
 * JPEG: 1, 3 or 4 components; 4 components are CMYK with Adobe's inverted polarity (Pillow assumes it
 * for every 4-component JPEG), YCCK (Adobe transform 2) converted to it first as libjpeg does.
 * Anything unreadable is an IOException naming the file.
 */
final class ImageDecoder {
    private ImageDecoder() {}

    static RasterImage decode(Path file) throws IOException {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no such file", e);
        }
        return decode(data, file.toString());
    }

    /** Decodes {@code data}; {@code name} is used in error messages. */
    static RasterImage decode(byte[] data, String name) throws IOException {
        try {
            if (PngChunks.looksLikePng(data)) return decodePng(data, name);
            if (JpegHeader.looksLikeJpeg(data)) return decodeJpeg(data, name);
            return fromBufferedImage(readImage(data, name), name);
        } catch (IIOException e) {
            throw new IOException(name + ": cannot decode image (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            // ImageIO reports some corrupt data as unchecked exceptions (array bounds, bad color models...)
            throw new IOException(name + ": cannot decode image (" + e + ")", e);
        }
    }

    private static RasterImage decodePng(byte[] data, String name) throws IOException {
        ImageReader reader = reader(data, name);
        try {
            IIOMetadata meta = reader.getImageMetadata(0);
            Node ihdr = child(meta.getAsTree("javax_imageio_png_1.0"), "IHDR");
            String colorType = ihdr == null ? "" : attr(ihdr, "colorType");
            int bitDepth = ihdr == null ? 8 : Integer.parseInt(attr(ihdr, "bitDepth"));
            BufferedImage img = reader.read(0);
            RasterImage im = switch (colorType) {
                case "Grayscale" -> bitDepth == 1 ? bands(img.getRaster(), ImageMode.BILEVEL, 1, name) : bands(img.getRaster(), ImageMode.GRAY, 1, name);
                case "GrayAlpha" -> bands(img.getRaster(), ImageMode.GRAY_ALPHA, 2, name);
                case "RGB" -> bands(img.getRaster(), ImageMode.RGB, 3, name);
                case "RGBAlpha" -> bands(img.getRaster(), ImageMode.RGBA, 4, name);
                default -> fromBufferedImage(img, name); // Palette
            };
            return ExifOrientation.apply(im, PngChunks.exifOrientation(data));
        } finally {
            reader.dispose();
        }
    }

    private static RasterImage decodeJpeg(byte[] data, String name) throws IOException {
        return decodeJpeg(data, name, false);
    }

    /**
     * A JPEG; 3-component images through ImageIO's color conversion, or, when that fails (as it does
     * for some embedded color profiles) or {@code rawColor}, from the raw raster converted here as
     * libjpeg would (YCbCr unless an Adobe segment says RGB).
     */
    static RasterImage decodeJpeg(byte[] data, String name, boolean rawColor) throws IOException {
        JpegHeader header = JpegHeader.parse(data);
        RasterImage im;
        ImageReader reader = reader(data, name);
        // the JPEG reader reports missing data as a warning and returns what it decoded; Pillow fails
        AtomicReference<String> truncated = new AtomicReference<>();
        reader.addIIOReadWarningListener((source, warning) -> {
            if (warning != null && warning.toLowerCase(java.util.Locale.ROOT).contains("premature end")) truncated.compareAndSet(null, warning);
        });
        try {
            switch (header.components()) {
                case 1 -> im = bands(reader.readRaster(0, null), ImageMode.GRAY, 1, name);
                case 3 -> im = color(reader, header, rawColor, name);
                case 4 -> im = cmyk(reader.readRaster(0, null), header.adobeTransform() == 2, name);
                default -> throw new IOException(name + ": unsupported JPEG with " + header.components() + " components");
            }
            if (truncated.get() != null) throw new IOException(name + ": truncated image (" + truncated.get() + ")");
        } finally {
            reader.dispose();
        }
        return ExifOrientation.apply(im, header.orientation());
    }

    private static RasterImage color(ImageReader reader, JpegHeader header, boolean rawColor, String name) throws IOException {
        if (!rawColor) {
            try {
                return bands(reader.read(0).getRaster(), ImageMode.RGB, 3, name);
            } catch (IIOException | RuntimeException e) {
                // fall through to the raw raster
            }
        }
        RasterImage im = bands(reader.readRaster(0, null), ImageMode.RGB, 3, name);
        if (header.adobeTransform() == 0) return im;
        byte[] p = im.pixels();
        for (int i = 0; i < p.length; i += 3) {
            int y = p[i] & 0xFF, cb = p[i + 1] & 0xFF, cr = p[i + 2] & 0xFF;
            p[i] = (byte) YCbCr.red(y, cr);
            p[i + 1] = (byte) YCbCr.green(y, cb, cr);
            p[i + 2] = (byte) YCbCr.blue(y, cb);
        }
        return im;
    }

    /**
     * A 4-component JPEG as Pillow reads it: the decoder's output (for YCCK, converted to CMYK the way
     * libjpeg does: C = 255 - R(YCbCr), likewise M, Y; K kept) inverted, Adobe's polarity.
     */
    private static RasterImage cmyk(Raster r, boolean ycck, String name) throws IOException {
        RasterImage raw = bands(r, ImageMode.CMYK, 4, name);
        byte[] p = raw.pixels();
        for (int i = 0; i < p.length; i += 4) {
            if (ycck) {
                int y = p[i] & 0xFF, cb = p[i + 1] & 0xFF, cr = p[i + 2] & 0xFF;
                p[i] = (byte) (255 - YCbCr.red(y, cr));
                p[i + 1] = (byte) (255 - YCbCr.green(y, cb, cr));
                p[i + 2] = (byte) (255 - YCbCr.blue(y, cb));
            }
            for (int b = 0; b < 4; b++) p[i + b] = (byte) (255 - (p[i + b] & 0xFF));
        }
        return raw;
    }

    private static BufferedImage readImage(byte[] data, String name) throws IOException {
        ImageReader reader = reader(data, name);
        try {
            return reader.read(0);
        } finally {
            reader.dispose();
        }
    }

    private static ImageReader reader(byte[] data, String name) throws IOException {
        ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(data));
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) throw new IOException(name + ": not an image in a supported format (PNG, JPEG, GIF, BMP)");
        ImageReader reader = readers.next();
        reader.setInput(in, true, false);
        return reader;
    }

    /** Images ImageIO decoded without format-specific knowledge (palette PNGs, GIF, BMP). */
    private static RasterImage fromBufferedImage(BufferedImage img, String name) throws IOException {
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        int w = img.getWidth(), h = img.getHeight();
        if (cm instanceof IndexColorModel icm) {
            RasterImage out = RasterImage.blank(ImageMode.PALETTE, w, h);
            byte[] p = out.pixels();
            for (int y = 0, i = 0; y < h; y++) {
                for (int x = 0; x < w; x++, i += 3) {
                    int index = r.getSample(x, y, 0);
                    p[i] = (byte) icm.getRed(index);
                    p[i + 1] = (byte) icm.getGreen(index);
                    p[i + 2] = (byte) icm.getBlue(index);
                }
            }
            return out;
        }
        int color = cm.getNumColorComponents();
        boolean alpha = cm.hasAlpha();
        if (color == 1) return bands(r, alpha ? ImageMode.GRAY_ALPHA : ImageMode.GRAY, alpha ? 2 : 1, name);
        if (color == 3 && cm.getColorSpace().isCS_sRGB() && r.getNumBands() == (alpha ? 4 : 3)
                && cm.getComponentSize(0) == r.getSampleModel().getSampleSize(0)) {
            return bands(r, alpha ? ImageMode.RGBA : ImageMode.RGB, alpha ? 4 : 3, name);
        }
        // packed or other layouts: let the color model produce sRGB
        RasterImage out = RasterImage.blank(alpha ? ImageMode.RGBA : ImageMode.RGB, w, h);
        byte[] p = out.pixels();
        int bands = out.mode().bands();
        for (int y = 0, i = 0; y < h; y++) {
            for (int x = 0; x < w; x++, i += bands) {
                int argb = img.getRGB(x, y);
                p[i] = (byte) (argb >> 16);
                p[i + 1] = (byte) (argb >> 8);
                p[i + 2] = (byte) argb;
                if (alpha) p[i + 3] = (byte) (argb >>> 24);
            }
        }
        return out;
    }

    /** The first {@code n} bands of {@code r} as 8-bit samples (16-bit: high byte; 1..7-bit: scaled; 1-bit: 0/255). */
    private static RasterImage bands(Raster r, ImageMode mode, int n, String name) throws IOException {
        if (r.getNumBands() < n) throw new IOException(name + ": expected " + n + " bands, the decoder gave " + r.getNumBands());
        int w = r.getWidth(), h = r.getHeight(), x0 = r.getMinX(), y0 = r.getMinY();
        RasterImage out = RasterImage.blank(mode, w, h);
        byte[] p = out.pixels();
        int[] row = new int[w];
        for (int b = 0; b < n; b++) {
            int bits = r.getSampleModel().getSampleSize(b);
            int max = bits >= 31 ? Integer.MAX_VALUE : (1 << bits) - 1;
            for (int y = 0; y < h; y++) {
                r.getSamples(x0, y0 + y, w, 1, b, row);
                int o = y * w * n + b;
                for (int x = 0; x < w; x++, o += n) {
                    int v = row[x];
                    p[o] = (byte) (bits == 8 ? v : bits > 8 ? v >>> (bits - 8) : (v * 255 + max / 2) / max);
                }
            }
        }
        return out;
    }

    private static Node child(Node parent, String name) {
        for (Node c = parent.getFirstChild(); c != null; c = c.getNextSibling()) {
            if (name.equals(c.getNodeName())) return c;
        }
        return null;
    }

    private static String attr(Node n, String name) {
        Node a = n.getAttributes().getNamedItem(name);
        return a == null ? "" : a.getNodeValue();
    }
}
