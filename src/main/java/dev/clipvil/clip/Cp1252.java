package dev.clipvil.clip;

/**
 * The characters that Windows-1252 gives the bytes 0x80..0x9F (the five bytes it leaves undefined,
 * 0x81, 0x8D, 0x8F, 0x90 and 0x9D, stand for themselves, as browsers read them). Used for HTML numeric
 * references and for ftfy's repair of stray C1 control characters.
 */
final class Cp1252 {
    private static final char[] C1 = {
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
    };

    private Cp1252() {}

    /** The character for byte {@code b} in 0x80..0x9F. */
    static char decode(int b) {
        return C1[b - 0x80];
    }
}
