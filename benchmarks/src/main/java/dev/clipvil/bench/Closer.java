package dev.clipvil.bench;

/** Closes benchmark inputs at the end of a trial; nulls (the other impl's fields) are skipped. */
final class Closer {
    private Closer() {}

    static void close(AutoCloseable... cs) {
        for (AutoCloseable c : cs) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + c + " failed", e);
            }
        }
    }
}
