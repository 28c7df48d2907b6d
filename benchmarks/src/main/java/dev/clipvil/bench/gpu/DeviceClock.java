package dev.clipvil.bench.gpu;

import dev.clipvil.backend.Backend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Times device work from the host. The {@link Backend} interface has no events or synchronise call, so
 * a sample is the host clock around {@code k} calls followed by a synchronise: the backend's own public
 * no-argument {@code synchronize()} when its class has one, otherwise a one-element device-to-host read
 * (which waits for the work queued before it). {@code k} is chosen so one sample lasts at least
 * {@code minSampleMs}, which makes the synchronise's own cost small; the figure is the median sample.
 */
final class DeviceClock implements AutoCloseable {
    private final Backend backend;
    private final Tensor probe;
    private final Method syncMethod;

    DeviceClock(Backend backend) {
        this.backend = backend;
        this.probe = MemoryScope.detach(backend.empty(DType.F32, 1));
        this.syncMethod = findSync(backend);
    }

    /** How a sample is closed: named in every result so the figures can be judged. */
    String method() {
        return syncMethod != null
                ? "host nanoTime around " + syncMethod.getDeclaringClass().getSimpleName() + "." + syncMethod.getName() + "()"
                : "host nanoTime around a 1-element device->host read (Backend has no synchronize or events)";
    }

    /** Waits until every queued device operation has finished. */
    void sync() {
        if (syncMethod != null) {
            try {
                syncMethod.invoke(backend);
                return;
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("synchronize() failed: " + e.getCause(), e.getCause());
            }
        }
        backend.fill(probe, 0);
        probe.item();
    }

    /** A median figure: microseconds per call, the fastest sample, and how it was sampled. */
    record Timing(double medianUs, double minUs, int samples, int callsPerSample) {}

    /**
     * Runs {@code body} {@code warmup} times, then takes up to {@code samples} samples of {@code k} calls
     * each (k set from the warm-up so a sample lasts {@code minSampleMs}), stopping early at {@code deadline}
     * (System.nanoTime) once three samples are in. Each call runs inside its own memory scope.
     */
    Timing time(Runnable body, int warmup, int samples, double minSampleMs, long deadline) {
        return time(body, warmup, samples, minSampleMs, deadline, true);
    }

    /**
     * As above; with {@code scoped} false the calls run without a memory scope of their own (for bodies
     * that make no tensor, where the scope's small cost would be counted, like a single launch).
     */
    Timing time(Runnable body, int warmup, int samples, double minSampleMs, long deadline, boolean scoped) {
        Runnable call = scoped ? () -> once(body) : body;
        long t0 = System.nanoTime();
        for (int i = 0; i < warmup; i++) call.run();
        sync();
        // one timed call to size k
        long a = System.nanoTime();
        call.run();
        sync();
        double oneMs = Math.max(1e-4, (System.nanoTime() - a) / 1e6);
        int k = (int) Math.max(1, Math.min(100_000, Math.ceil(minSampleMs / oneMs)));
        List<Double> us = new ArrayList<>();
        for (int s = 0; s < samples; s++) {
            if (us.size() >= 3 && System.nanoTime() > deadline) break;
            sync();
            long b = System.nanoTime();
            for (int i = 0; i < k; i++) call.run();
            sync();
            us.add((System.nanoTime() - b) / 1e3 / k);
        }
        double[] v = us.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) throw new IllegalStateException("no sample taken (" + (System.nanoTime() - t0) / 1e9 + " s spent warming up)");
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return new Timing(median, Arrays.stream(v).min().orElse(median), v.length, k);
    }

    private static void once(Runnable body) {
        try (MemoryScope scope = MemoryScope.open()) {
            body.run();
        }
    }

    private static Method findSync(Backend b) {
        for (String name : new String[] {"synchronize", "sync", "synchronizeDevice"}) {
            try {
                Method m = b.getClass().getMethod(name);
                if (Modifier.isPublic(m.getModifiers()) && !Modifier.isStatic(m.getModifiers())) return m;
            } catch (NoSuchMethodException e) {
                // try the next name
            }
        }
        return null;
    }

    @Override
    public void close() { probe.close(); }
}
