package dev.clipvil.backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link Backend} that forwards every primitive to another one and records, per primitive, how many
 * calls were made and the wall time they took. Used to say where a model's time goes (the share in
 * GEMM and convolution). Primitives do not call each other through the interface, so nothing is
 * counted twice.
 */
public final class ProfilingBackend {
    private ProfilingBackend() {}

    /** Calls and nanoseconds per primitive name. */
    public static final class Stats {
        private final Map<String, LongAdder[]> byOp = new ConcurrentHashMap<>();

        /** Counts one call of {@code op} that took {@code nanos}. */
        public void add(String op, long nanos) {
            LongAdder[] s = byOp.computeIfAbsent(op, k -> new LongAdder[]{new LongAdder(), new LongAdder()});
            s[0].increment();
            s[1].add(nanos);
        }

        /** op -> {calls, nanos}, sorted by name. */
        public Map<String, long[]> snapshot() {
            Map<String, long[]> out = new TreeMap<>();
            byOp.forEach((k, v) -> out.put(k, new long[]{v[0].sum(), v[1].sum()}));
            return out;
        }

        public void reset() { byOp.clear(); }
    }

    /** A backend that times every call into {@code inner} into {@code stats}. */
    public static Backend wrap(Backend inner, Stats stats) {
        InvocationHandler h = (proxy, method, args) -> {
            String name = method.getName();
            boolean timed = !name.equals("name") && !name.equals("device") && !name.equals("memoryStats");
            long t0 = timed ? System.nanoTime() : 0;
            try {
                return method.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                if (timed) stats.add(name, System.nanoTime() - t0);
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, h);
    }
}
