package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.ProfilingBackend;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a device's GPU time goes, per primitive: a {@link Backend} that forwards every call to a CUDA
 * backend and records a CUDA event on the stream before and after it, so the time between the two is
 * the GPU time of that primitive's kernels and library calls (not host time: nothing waits per call).
 * {@link #finish} waits once, reads every pair and adds them, per primitive name, to the
 * {@link ProfilingBackend.Stats} it was given. Events come from a pool that grows to the most calls
 * between two {@code finish}es and is reused after. On a dry-run device (no GPU) calls are counted with
 * zero time.
 */
public final class CudaEventProfiler implements AutoCloseable {
    private final CudaContext ctx;
    private final ProfilingBackend.Stats stats;
    private final Backend proxy;
    private final List<CUevent_st> pool = new ArrayList<>();
    /** Each call: its primitive and the pool indices of its two events (calls may nest, so not simply 2i, 2i+1). */
    private record Call(String name, int start, int end) {}

    private final List<Call> calls = new ArrayList<>();
    private final float[] ms = new float[1];
    private int used;

    private CudaEventProfiler(CudaBackend inner, ProfilingBackend.Stats stats) {
        this.ctx = inner.context();
        this.stats = stats;
        InvocationHandler h = (p, method, args) -> {
            String name = method.getName();
            boolean timed = !name.equals("name") && !name.equals("device") && !name.equals("memoryStats");
            int start = timed ? mark() : -1;
            try {
                return method.invoke(inner, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                if (timed) calls.add(new Call(name, start, mark()));
            }
        };
        this.proxy = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, h);
    }

    /** A profiler of {@code inner}'s calls into {@code stats}; register {@link #backend()} to route a device's work through it. */
    public static CudaEventProfiler of(CudaBackend inner, ProfilingBackend.Stats stats) { return new CudaEventProfiler(inner, stats); }

    /** The timing backend (same device as the inner one). */
    public Backend backend() { return proxy; }

    /** Records the next event of the pool on the stream; its index. */
    private int mark() {
        if (ctx.dryRun()) return used++;
        ctx.makeCurrent();
        if (used == pool.size()) {
            CUevent_st e = new CUevent_st();
            CudaCheck.rt(cudart.cudaEventCreate(e), "cudaEventCreate (profiler)");
            pool.add(e);
        }
        CudaCheck.rt(cudart.cudaEventRecord(pool.get(used), ctx.stream()), "cudaEventRecord (profiler)");
        return used++;
    }

    /** Waits for the recorded work and adds each call's GPU time to the stats; the events are free for reuse after. */
    public void finish() {
        ctx.synchronize();
        for (Call c : calls) {
            long nanos = 0;
            if (!ctx.dryRun()) {
                CudaCheck.rt(cudart.cudaEventElapsedTime(ms, pool.get(c.start()), pool.get(c.end())), "cudaEventElapsedTime (profiler)");
                nanos = Math.round(ms[0] * 1e6);
            }
            stats.add(c.name(), nanos);
        }
        calls.clear();
        used = 0;
    }

    @Override
    public void close() {
        if (ctx.dryRun()) return;
        ctx.makeCurrent();
        for (CUevent_st e : pool) cudart.cudaEventDestroy(e);
        pool.clear();
    }
}
