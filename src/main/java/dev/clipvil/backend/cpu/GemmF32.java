package dev.clipvil.backend.cpu;

/**
 * The cache-blocked F32 GEMM driver (the BLIS loop order):
 * <pre>
 * for jc over N step NC            B block kc x nc packed once, shared by all threads (lives in L3)
 *   for pc over K step KC
 *     for ic over M step MC        in parallel; each task packs its own A block (lives in L2)
 *       for jr over nc step NR     one packed B micro-panel, reused by every A micro-panel
 *         for ir over mc step MR   the micro-kernel
 * </pre>
 * Tasks are (M block, slice of B micro-panels) pairs, so a short, wide product (a convolution's
 * K x pixels) still splits across threads. A serial product with a single M block (a convolution run
 * one image per thread) instead packs B in L2-sized chunks. Packing buffers are per thread and reused.
 */
final class GemmF32 {
    static final int MR = GemmKernelF32.MR;
    static final int NR = GemmKernelF32.NR;
    /**
     * Reduction depth of a block (K is cut into equal blocks of at most this). Every block after the
     * first reads C back, so deeper blocks mean less C traffic; on this machine 512 measured better
     * than the textbook 256, although a KC x NR micro-panel of B (32 KiB) then no longer fits L1
     * together with its A micro-panel (both stream well from L2).
     */
    static final int KC = 512;
    /** Rows of A per block: MC x KC floats (up to ~290 KiB) sit in the 512 KiB L2. */
    static final int MC = 144;
    /** Columns of B per block: KC x NC floats (up to 8 MiB) in the L3. */
    static final int NC = 4096;

    private GemmF32() {}

    /** Per-thread packing buffers. */
    private static final class Scratch {
        float[] a = new float[0];
        float[] b = new float[0];
        final float[] tile = new float[MR * NR];

        float[] a(int n) { return a.length >= n ? a : (a = new float[n]); }
        float[] b(int n) { return b.length >= n ? b : (b = new float[n]); }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Where C goes and what is added to it. */
    record Output(float[] c, int off, int ldc, boolean accumulate, float[] colBias, int colBiasOff, float[] rowBias, int rowBiasOff) {
        static Output of(float[] c, int off, int ldc) { return new Output(c, off, ldc, false, null, 0, null, 0); }
    }

    /**
     * {@code C[i][j] = (accumulate ? C[i][j] : 0) + sum_p A(i,p) B(p,j) + colBias[j] + rowBias[i]} for an
     * m x n C at {@code out.c[out.off + i*out.ldc + j]}. {@code parallel} spreads the blocks over the
     * CPU pool; callers already running one task per thread pass false.
     */
    static void gemm(int m, int n, int k, PanelSource a, PanelSource b, Output out, boolean parallel) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            epilogueOnly(m, n, out);
            return;
        }
        boolean par = parallel && Parallel.threads() > 1 && (long) m * n * k >= 64 * 64 * 64;
        int kBlocks = (k + KC - 1) / KC;
        int kcMax = (k + kBlocks - 1) / kBlocks; // even blocks, so no thin remainder block
        int mBlocks = (m + MC - 1) / MC;
        int mc = roundUp((m + mBlocks - 1) / mBlocks, MR);
        int mbs = (m + mc - 1) / mc;
        if (!par && mbs == 1) {
            oneRowBlock(a, b, m, n, k, kcMax, out);
            return;
        }
        Scratch own = SCRATCH.get();
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            int panels = (nc + NR - 1) / NR;
            int nSplit = par ? Math.max(1, Math.min(panels, (4 * Parallel.threads() + mbs - 1) / mbs)) : 1;
            float[] bp = own.b(panels * bStride(kcMax));
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                packB(b, jc, nc, pc, kc, bp, par);
                boolean first = pc == 0;
                int jc0 = jc, ns = nSplit, pc0 = pc;
                Parallel.RangeBody body = (t0, t1) -> {
                    for (int t = t0; t < t1; t++) {
                        int mb = t / ns, slice = t % ns;
                        int i0 = mb * mc, mcur = Math.min(mc, m - i0);
                        int p0 = (int) ((long) panels * slice / ns), p1 = (int) ((long) panels * (slice + 1) / ns);
                        block(a, i0, mcur, jc0, nc, pc0, kc, p0, p1, bp, out, first);
                    }
                };
                int tasks = mbs * nSplit;
                if (par && tasks > 1) Parallel.forRange(tasks, 1, body);
                else body.run(0, tasks);
            }
        }
    }

    /** Bytes of packed B per chunk when A is a single block: a chunk stays in L2 until its panels are used. */
    static final int NARROW_BYTES = 256 * 1024;

    /**
     * A single-threaded product whose A fits one block (m <= MC, as in a convolution's K x pixels): B is
     * used by that one block only, so it is packed a few panels at a time, each chunk consumed while it
     * is still in L2, and A is packed once per reduction block instead of once per column block.
     */
    private static void oneRowBlock(PanelSource a, PanelSource b, int m, int n, int k, int kcMax, Output out) {
        Scratch s = SCRATCH.get();
        int chunk = Math.max(NR, NARROW_BYTES / (4 * bStride(kcMax)) * NR);
        float[] ap = s.a(roundUp(m, MR) * kcMax);
        float[] bp = s.b(((Math.min(chunk, n) + NR - 1) / NR) * bStride(kcMax));
        for (int pc = 0; pc < k; pc += kcMax) {
            int kc = Math.min(kcMax, k - pc);
            a.pack(0, m, pc, kc, MR, MR * kc, ap, 0);
            boolean first = pc == 0, add = !first || out.accumulate();
            float[] cb = first ? out.colBias() : null, rb = first ? out.rowBias() : null;
            for (int jc = 0; jc < n; jc += chunk) {
                int nc = Math.min(chunk, n - jc);
                b.pack(jc, nc, pc, kc, NR, bStride(kc), bp, 0);
                int panels = (nc + NR - 1) / NR;
                for (int q = 0; q < panels; q++) {
                    for (int ir = 0; ir < m; ir += MR) tileAt(s, ap, bp, 0, m, jc, nc, kc, q, ir, out, add, cb, rb);
                }
            }
        }
    }

    /**
     * Distance between packed B panels: an odd number of NR-float rows, so that a packer writing one row
     * into each of several panels does not hit a single L1 set (kc*NR*4 bytes is often a multiple of 4 KiB).
     */
    static int bStride(int kc) { return NR * (kc | 1); }

    private static void packB(PanelSource b, int jc, int nc, int pc, int kc, float[] bp, boolean par) {
        int panels = (nc + NR - 1) / NR;
        int stride = bStride(kc);
        if (!par || panels < 4) {
            b.pack(jc, nc, pc, kc, NR, stride, bp, 0);
            return;
        }
        Parallel.forRange(panels, Math.max(1, 32768 / stride), (q0, q1) -> {
            int o = q0 * NR;
            b.pack(jc + o, Math.min(nc, q1 * NR) - o, pc, kc, NR, stride, bp, q0 * stride);
        });
    }

    /** One task: packs A rows [i0, i0+mcur) x [pc, pc+kc) and runs B micro-panels [p0, p1) over them. */
    private static void block(PanelSource a, int i0, int mcur, int jc, int nc, int pc, int kc, int p0, int p1,
                              float[] bp, Output out, boolean first) {
        Scratch s = SCRATCH.get();
        float[] ap = s.a(roundUp(mcur, MR) * kc);
        a.pack(i0, mcur, pc, kc, MR, MR * kc, ap, 0);
        boolean add = !first || out.accumulate();
        float[] cb = first ? out.colBias() : null, rb = first ? out.rowBias() : null;
        // B micro-panel outer: it stays in L1 while the A micro-panels stream from L2
        for (int q = p0; q < p1; q++) {
            for (int ir = 0; ir < mcur; ir += MR) tileAt(s, ap, bp, i0, mcur, jc, nc, kc, q, ir, out, add, cb, rb);
        }
    }

    private static void tileAt(Scratch s, float[] ap, float[] bp, int i0, int mcur, int jc, int nc, int kc, int q, int ir,
                               Output out, boolean add, float[] cb, float[] rb) {
        float[] c = out.c();
        int ldc = out.ldc();
        int j = q * NR, nr = Math.min(NR, nc - j);
        int bo = q * bStride(kc);
        int mr = Math.min(MR, mcur - ir);
        int ao = ir * kc;
        int row = i0 + ir, col = jc + j;
        int co = out.off() + row * ldc + col;
        if (mr == MR && nr == NR) {
            GemmKernelF32.tile(kc, ap, ao, bp, bo, c, co, ldc, add);
            if (cb != null || rb != null) GemmKernelF32.addBias(c, co, ldc, cb, out.colBiasOff() + col, rb, out.rowBiasOff() + row);
        } else {
            float[] t = s.tile;
            GemmKernelF32.tile(kc, ap, ao, bp, bo, t, 0, NR, false);
            for (int i = 0; i < mr; i++) {
                int ci = co + i * ldc;
                float r = rb == null ? 0f : rb[out.rowBiasOff() + row + i];
                for (int jj = 0; jj < nr; jj++) {
                    float v = t[i * NR + jj] + r;
                    if (cb != null) v += cb[out.colBiasOff() + col + jj];
                    if (add) v += c[ci + jj];
                    c[ci + jj] = v;
                }
            }
        }
    }

    /** K = 0: C is only its biases (added to C when accumulating). */
    private static void epilogueOnly(int m, int n, Output out) {
        float[] c = out.c();
        for (int i = 0; i < m; i++) {
            int ci = out.off() + i * out.ldc();
            float r = out.rowBias() == null ? 0f : out.rowBias()[out.rowBiasOff() + i];
            for (int j = 0; j < n; j++) {
                float v = r + (out.colBias() == null ? 0f : out.colBias()[out.colBiasOff() + j]);
                c[ci + j] = out.accumulate() ? c[ci + j] + v : v;
            }
        }
    }

    static int roundUp(int x, int m) { return (x + m - 1) / m * m; }
}
