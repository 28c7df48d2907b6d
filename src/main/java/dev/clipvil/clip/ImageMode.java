package dev.clipvil.clip;

/**
 * The pixel layouts a decoded image keeps until it is converted to RGB, named as Pillow names them,
 * since the reference preprocessing resizes an image in the mode it was opened in and converts to RGB
 * only afterwards. Every sample is 8-bit, interleaved.
 */
public enum ImageMode {
    /** Pillow "1": 1-bit, stored as 0/255; resized nearest-neighbour, as Pillow does. */
    BILEVEL(1, true),
    /** Pillow "L". */
    GRAY(1, false),
    /** Pillow "LA"; resized premultiplied by alpha. */
    GRAY_ALPHA(2, false),
    /** Pillow "P", stored already expanded through its palette; resized nearest-neighbour, as Pillow does. */
    PALETTE(3, true),
    /** Pillow "RGB". */
    RGB(3, false),
    /** Pillow "RGBA"; resized premultiplied by alpha. */
    RGBA(4, false),
    /** Pillow "CMYK" (ink amounts, 255 = full ink). */
    CMYK(4, false);

    private final int bands;
    private final boolean nearest;

    ImageMode(int bands, boolean nearest) {
        this.bands = bands;
        this.nearest = nearest;
    }

    /** Samples per pixel. */
    public int bands() { return bands; }

    /** Whether Pillow resizes this mode nearest-neighbour whatever filter is asked. */
    boolean resizesNearest() { return nearest; }

    /** Whether the last band is alpha. */
    boolean hasAlpha() { return this == GRAY_ALPHA || this == RGBA; }
}
