package dev.clipvil.bench.gpu;

import com.google.gson.JsonObject;
import dev.clipvil.backend.Backend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

/** One benchmark of {@link GpuBench}: runs on a backend and returns one JSON object per variant. */
interface BenchCase {
    /** Short name used by {@code --only} and in the output. */
    String name();

    /** Runs every variant, adding one result object per variant to {@code out}. */
    void run(Env env, java.util.List<JsonObject> out);

    /** What a case gets: the backend, its clock, the size preset and a deadline (System.nanoTime). */
    record Env(Backend backend, DeviceClock clock, Scale scale, long deadline) {
        /** Normal(0, 1) values in {@code dtype}: filled in F32 then cast, so backends that fill F32 only still work. */
        Tensor randn(DType dtype, long seed, int... shape) {
            Tensor f = backend.empty(DType.F32, shape);
            backend.fillNormal(f, 0, 1, seed);
            if (dtype == DType.F32) return f;
            Tensor c = backend.cast(f, dtype);
            f.close();
            return c;
        }

        /** A deadline for one case: at most {@code seconds} from now, never past the run's own. */
        long caseDeadline(double seconds) {
            return Math.min(deadline, System.nanoTime() + (long) (seconds * 1e9));
        }
    }

    /** Shapes of the H200 targets, or tiny ones for a quick check of the code paths on the CPU. */
    enum Scale { FULL, TINY }

    /** A result object with the common fields. */
    static JsonObject result(String bench, String variant, String dtype) {
        JsonObject o = new JsonObject();
        o.addProperty("bench", bench);
        o.addProperty("variant", variant);
        o.addProperty("dtype", dtype);
        return o;
    }

    /** Records a timing and its rate on {@code o} ({@code flop} and {@code bytes} may be 0). */
    static void timing(JsonObject o, DeviceClock.Timing t, double flop, double bytes) {
        o.addProperty("status", "ok");
        o.addProperty("median_us", round(t.medianUs()));
        o.addProperty("min_us", round(t.minUs()));
        o.addProperty("samples", t.samples());
        o.addProperty("calls_per_sample", t.callsPerSample());
        if (flop > 0) o.addProperty("TFLOPs", round(flop / (t.medianUs() * 1e-6) / 1e12));
        if (bytes > 0) o.addProperty("TBps", round(bytes / (t.medianUs() * 1e-6) / 1e12));
    }

    /** Marks {@code o} as failed with the exception's class and message (the case goes on with its next variant). */
    static JsonObject failed(JsonObject o, Throwable e) {
        o.addProperty("status", "error");
        o.addProperty("error", e.getClass().getSimpleName() + ": " + e.getMessage());
        return o;
    }

    static double round(double v) { return Math.round(v * 1000.0) / 1000.0; }

    /** Runs {@code body} in a memory scope that frees what it made. */
    static void scoped(Runnable body) {
        try (MemoryScope s = MemoryScope.open()) {
            body.run();
        }
    }
}
