package dev.clipvil.backend.cpu;

/**
 * Per-thread work arrays of the F32 convolution, kept and reused between calls so that a training loop
 * does not churn the garbage collector: a column matrix (col2im), a zero-padded input, a
 * padded-width output and a partial weight gradient.
 */
final class ConvBuffers {
    private static final ThreadLocal<ConvBuffers> LOCAL = ThreadLocal.withInitial(ConvBuffers::new);

    private float[] col = new float[0], padded = new float[0], wide = new float[0], partial = new float[0];

    private ConvBuffers() {}

    static ConvBuffers get() { return LOCAL.get(); }

    float[] col(int n) { return col.length >= n ? col : (col = new float[n]); }
    float[] padded(int n) { return padded.length >= n ? padded : (padded = new float[n]); }
    float[] wide(int n) { return wide.length >= n ? wide : (wide = new float[n]); }
    float[] partial(int n) { return partial.length >= n ? partial : (partial = new float[n]); }
}
