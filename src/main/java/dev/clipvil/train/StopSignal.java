package dev.clipvil.train;

import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Lets Ctrl-C (SIGINT) or a plain kill (SIGTERM) stop training cleanly. {@link #install} registers a
 * JVM shutdown hook; when the JVM starts shutting down, the hook sets the stop flag and then waits
 * (at most {@code maxWait}) for the training loop to call {@link #acknowledge()}, so the JVM exits
 * only after the loop has saved its checkpoint. The loop polls {@link #stopRequested()} between steps:
 *
 * <pre>
 * try (StopSignal stop = StopSignal.install(Duration.ofSeconds(60), System.err)) {
 *     while (!done) {
 *         step();
 *         if (stop.stopRequested()) { checkpointer.save(...); stop.acknowledge(); return; }
 *     }
 * }
 * </pre>
 *
 * {@link #close()} removes the hook and releases a hook that is already waiting (so a loop that ends
 * for any other reason never delays the exit). A shutdown hook cannot run forever: the bound keeps a
 * stuck loop from hanging the process; a second Ctrl-C does not shorten it (the JVM ignores it).
 */
public final class StopSignal implements AutoCloseable {
    private final AtomicBoolean stop = new AtomicBoolean();
    private final CountDownLatch acknowledged = new CountDownLatch(1);
    private final Duration maxWait;
    private final PrintStream log;
    private final Thread hook;
    private volatile boolean installed;

    private StopSignal(Duration maxWait, PrintStream log) {
        if (maxWait == null || maxWait.isNegative()) throw new IllegalArgumentException("StopSignal: maxWait must be >= 0, got " + maxWait);
        this.maxWait = maxWait;
        this.log = log;
        this.hook = new Thread(this::onShutdown, "clipvil-stop-signal");
    }

    /**
     * Registers the shutdown hook. {@code log} (may be null) gets one line when a stop arrives and one
     * if the loop does not acknowledge in time.
     */
    public static StopSignal install(Duration maxWait, PrintStream log) {
        StopSignal s = new StopSignal(maxWait, log);
        Runtime.getRuntime().addShutdownHook(s.hook);
        s.installed = true;
        return s;
    }

    /** A signal without a hook: only {@link #requestStop()} sets it (for tests and in-process callers). */
    public static StopSignal detached(Duration maxWait) { return new StopSignal(maxWait, null); }

    /** Whether the loop should save and stop now. */
    public boolean stopRequested() { return stop.get(); }

    /** Asks the loop to stop (as a signal would), without waiting. */
    public void requestStop() { stop.set(true); }

    /** Tells a waiting hook that the loop has saved (or has nothing to save) and the JVM may exit. */
    public void acknowledge() { acknowledged.countDown(); }

    /**
     * The shutdown hook's body: sets the stop flag, then blocks until {@link #acknowledge()} or
     * {@link #close()} is called or {@code maxWait} passes. Returns whether the loop acknowledged in time.
     */
    boolean onShutdown() {
        if (stop.compareAndSet(false, true) && log != null) {
            log.println("clipvil: stopping: saving a checkpoint first (waiting up to " + maxWait.toSeconds() + " s)...");
            log.flush();
        }
        try {
            boolean ok = acknowledged.await(maxWait.toMillis(), TimeUnit.MILLISECONDS);
            if (!ok && log != null) {
                log.println("clipvil: the training loop did not save within " + maxWait.toSeconds() + " s; exiting without a new checkpoint");
                log.flush();
            }
            return ok;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Removes the hook (unless the JVM is already shutting down) and releases any waiting hook. */
    @Override
    public void close() {
        acknowledged.countDown();
        if (!installed) return;
        installed = false;
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or has run; it returns now that the latch is released
        }
    }
}
