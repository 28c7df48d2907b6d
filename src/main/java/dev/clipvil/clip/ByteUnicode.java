package dev.clipvil.clip;

/**
 * The reversible byte-to-character table of byte-level BPE (CLIP's and GPT-2's
 * {@code bytes_to_unicode}): the printable Latin-1 bytes {@code !..~}, {@code ¡..¬} and {@code ®..ÿ} stand
 * for themselves, and every other byte b (controls, space, soft hyphen...) gets the character
 * {@code 256 + n}, n counting those bytes in increasing order. BPE then works on strings of these
 * characters, so that no byte is ever whitespace or a control character.
 */
final class ByteUnicode {
    private static final char[] ENCODE = new char[256];
    private static final int[] DECODE = new int[512];

    static {
        java.util.Arrays.fill(DECODE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + n++);
            ENCODE[b] = c;
            DECODE[c] = b;
        }
    }

    private ByteUnicode() {}

    /** The character standing for byte {@code b} (0..255). */
    static char encode(int b) {
        return ENCODE[b & 0xFF];
    }

    /** The byte that {@code c} stands for, or -1 if {@code c} is not in the table. */
    static int decode(char c) {
        return c < DECODE.length ? DECODE[c] : -1;
    }

    /**
     * The 256 characters in vocabulary order, which is the order of the reference table's entries:
     * the printable bytes ascending, then the others ascending; that is the characters sorted.
     */
    static char[] alphabet() {
        char[] a = ENCODE.clone();
        java.util.Arrays.sort(a);
        return a;
    }

    /** {@code bytes} mapped character by character. */
    static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = ENCODE[bytes[i] & 0xFF];
        return new String(out);
    }
}
