package dev.clipvil.clip;

/**
 * The EXIF orientation tag (0x0112) and the transposition that shows the image upright, as Pillow's
 * {@code ImageOps.exif_transpose} applies it: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate
 * 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise; 1, absent or invalid: as stored.
 */
final class ExifOrientation {
    private ExifOrientation() {}

    /**
     * The orientation in a TIFF structure (the payload of a JPEG "Exif" APP1 segment after its 6-byte
     * header, or of a PNG eXIf chunk) at {@code data[off, off + len)}: the tag of IFD0, or 1 when absent
     * or malformed.
     */
    static int parseTiff(byte[] data, int off, int len) {
        if (len < 8 || off < 0 || off + len > data.length) return 1;
        boolean little;
        if (data[off] == 'I' && data[off + 1] == 'I') little = true;
        else if (data[off] == 'M' && data[off + 1] == 'M') little = false;
        else return 1;
        if (u16(data, off + 2, little) != 42) return 1;
        long ifd = u32(data, off + 4, little);
        if (ifd < 8 || ifd + 2 > len) return 1;
        int count = u16(data, off + (int) ifd, little);
        for (int i = 0; i < count; i++) {
            int entry = off + (int) ifd + 2 + i * 12;
            if (entry + 12 > off + len) return 1;
            if (u16(data, entry, little) != 0x0112) continue;
            int type = u16(data, entry + 2, little);
            int value = type == 3 ? u16(data, entry + 8, little) : type == 4 ? (int) u32(data, entry + 8, little) : -1;
            return value >= 1 && value <= 8 ? value : 1;
        }
        return 1;
    }

    private static int u16(byte[] d, int p, boolean little) {
        int a = d[p] & 0xFF, b = d[p + 1] & 0xFF;
        return little ? a | b << 8 : a << 8 | b;
    }

    private static long u32(byte[] d, int p, boolean little) {
        long lo = u16(d, little ? p : p + 2, little), hi = u16(d, little ? p + 2 : p, little);
        return hi << 16 | lo;
    }

    /** {@code im} transposed so that orientation {@code orientation} shows upright. */
    static RasterImage apply(RasterImage im, int orientation) {
        if (orientation <= 1 || orientation > 8) return im;
        int w = im.width(), h = im.height(), bands = im.mode().bands();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        byte[] in = im.pixels(), out = new byte[in.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx, sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; } // 8
                }
                System.arraycopy(in, (sy * w + sx) * bands, out, (y * ow + x) * bands, bands);
            }
        }
        return new RasterImage(im.mode(), ow, oh, out);
    }
}
