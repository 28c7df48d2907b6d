package dev.clipvil.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU backend's thread pool. Work is split into contiguous ranges, one or a few per thread; below
 * {@code grain} items a loop runs on the calling thread. The thread count is the number of cores, or
 * CLIPVIL_THREADS / -Dclipvil.threads.
 */
public final class Parallel {
    private static final int THREADS = threadCount();
    /**
     * Exactly THREADS workers: the pool may not add "compensation" threads when a worker waits in a
     * join, since a third thread on two cores only time-slices the compute-bound kernels (GEMM tasks
     * meet at barriers, so one descheduled thread stalls the others).
     */
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
        var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
        t.setName("clipvil-cpu-" + t.getPoolIndex());
        t.setDaemon(true);
        return t;
    }, null, false, THREADS, THREADS, 1, pool -> true, 60, java.util.concurrent.TimeUnit.SECONDS);

    private Parallel() {}

    /** A loop body over [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int start, int end);
    }

    private static int threadCount() {
        String s = System.getProperty("clipvil.threads", System.getenv("CLIPVIL_THREADS"));
        if (s != null && !s.isBlank()) {
            try {
                return Math.max(1, Integer.parseInt(s.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("CLIPVIL_THREADS must be a number, got '" + s + "'");
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public static int threads() { return THREADS; }

    /** Runs {@code body} over [0, n) split into chunks of at least {@code grain} items. */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(THREADS * 4, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1 || THREADS == 1 || ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        POOL.invoke(new Chunk(body, n, chunks, 0, chunks));
    }

    private static final class Chunk extends RecursiveAction {
        private final RangeBody body;
        private final int n, chunks, lo, hi;

        Chunk(RangeBody body, int n, int chunks, int lo, int hi) {
            this.body = body; this.n = n; this.chunks = chunks; this.lo = lo; this.hi = hi;
        }

        @Override
        protected void compute() {
            if (hi - lo == 1) {
                int start = (int) ((long) n * lo / chunks);
                int end = (int) ((long) n * (lo + 1) / chunks);
                body.run(start, end);
                return;
            }
            int mid = (lo + hi) >>> 1;
            invokeAll(new Chunk(body, n, chunks, lo, mid), new Chunk(body, n, chunks, mid, hi));
        }
    }
}
