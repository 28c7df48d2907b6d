package dev.clipvil.clip;

/** Reads what ImageIO's PNG reader does not report from a PNG's chunks: the EXIF orientation of an eXIf chunk. */
final class PngChunks {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private PngChunks() {}

    static boolean looksLikePng(byte[] data) {
        if (data.length < SIGNATURE.length) return false;
        for (int i = 0; i < SIGNATURE.length; i++) if (data[i] != SIGNATURE[i]) return false;
        return true;
    }

    /** The orientation in the first eXIf chunk (a TIFF structure, sometimes with an "Exif\0\0" prefix), or 1. */
    static int exifOrientation(byte[] d) {
        int p = SIGNATURE.length;
        while (p + 12 <= d.length) {
            long len = ((long) (d[p] & 0xFF) << 24) | ((d[p + 1] & 0xFF) << 16) | ((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF);
            String type = new String(d, p + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            int body = p + 8;
            if (len > d.length - body - 4) return 1;
            if (type.equals("eXIf")) {
                int off = body, n = (int) len;
                if (n >= 6 && d[off] == 'E' && d[off + 1] == 'x' && d[off + 2] == 'i' && d[off + 3] == 'f' && d[off + 4] == 0 && d[off + 5] == 0) {
                    off += 6;
                    n -= 6;
                }
                return ExifOrientation.parseTiff(d, off, n);
            }
            if (type.equals("IEND")) return 1;
            p = body + (int) len + 4;
        }
        return 1;
    }
}
