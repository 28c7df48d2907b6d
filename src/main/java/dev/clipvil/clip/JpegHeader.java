package dev.clipvil.clip;

/**
 * What the reference's decoder learns from a JPEG's marker segments before the image data: the
 * number of components (1 gray, 3 color, 4 CMYK or YCCK), the Adobe APP14 color transform (-1 when
 * there is no Adobe segment; 0 none, 1 YCbCr, 2 YCCK) and the EXIF orientation (1 when absent).
 */
record JpegHeader(int components, int adobeTransform, int orientation) {
    /** Whether {@code data} starts like a JPEG (SOI then a marker). */
    static boolean looksLikeJpeg(byte[] data) {
        return data.length > 3 && (data[0] & 0xFF) == 0xFF && (data[1] & 0xFF) == 0xD8 && (data[2] & 0xFF) == 0xFF;
    }

    /** Parses the segments up to the first start-of-scan; -1 components when no frame header was found. */
    static JpegHeader parse(byte[] d) {
        int components = -1, adobe = -1, orientation = 1;
        boolean sawExif = false;
        int p = 2;
        while (p + 4 <= d.length) {
            if ((d[p] & 0xFF) != 0xFF) break;
            int marker = d[p + 1] & 0xFF;
            if (marker == 0xFF) { p++; continue; } // fill byte
            if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) { p += 2; continue; }
            if (marker == 0xD9 || marker == 0xDA) break;
            int len = ((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF);
            int body = p + 4, bodyLen = len - 2;
            if (len < 2 || body + bodyLen > d.length) break;
            boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (sof && bodyLen >= 6 && components < 0) {
                components = d[body + 5] & 0xFF;
            } else if (marker == 0xEE && bodyLen >= 12 && startsWith(d, body, "Adobe")) {
                adobe = d[body + 11] & 0xFF;
            } else if (marker == 0xE1 && !sawExif && bodyLen >= 6 && startsWith(d, body, "Exif\0\0")) {
                sawExif = true;
                orientation = ExifOrientation.parseTiff(d, body + 6, bodyLen - 6);
            }
            p = body + bodyLen;
        }
        return new JpegHeader(components, adobe, orientation);
    }

    private static boolean startsWith(byte[] d, int at, String ascii) {
        if (at + ascii.length() > d.length) return false;
        for (int i = 0; i < ascii.length(); i++) if (d[at + i] != (byte) ascii.charAt(i)) return false;
        return true;
    }
}
