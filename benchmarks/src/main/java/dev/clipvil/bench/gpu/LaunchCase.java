package dev.clipvil.bench.gpu;

import com.google.gson.JsonObject;
import dev.clipvil.backend.Backend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.util.List;

/**
 * What one device launch costs from Java, through the Backend: {@link Backend#fill} of a one-element
 * tensor, the smallest primitive (one kernel or memset, no output allocated). "issue": thousands of
 * fills back to back, then one synchronise (the host-side cost per launch, which is what limits a
 * stream of small kernels); "roundtrip": one fill plus a synchronise (the latency of a dependent step).
 * A bare empty kernel through cuLaunchKernel needs the CUDA backend's own API, which the Backend
 * interface does not expose; the figure here is an upper bound on it.
 */
final class LaunchCase implements BenchCase {
    @Override public String name() { return "launch"; }

    @Override
    public void run(Env env, List<JsonObject> out) {
        Backend be = env.backend();
        JsonObject issue = BenchCase.result("launch", "fill1_issue", "F32");
        JsonObject roundtrip = BenchCase.result("launch", "fill1_roundtrip", "F32");
        try (Tensor t = MemoryScope.detach(be.empty(DType.F32, 1))) {
            DeviceClock.Timing ti = env.clock().time(() -> be.fill(t, 0), 100, 15, 20, env.caseDeadline(8), false);
            BenchCase.timing(issue, ti, 0, 0);
        } catch (RuntimeException | Error e) {
            BenchCase.failed(issue, e);
        }
        try (Tensor t = MemoryScope.detach(be.empty(DType.F32, 1))) {
            DeviceClock clock = env.clock();
            DeviceClock.Timing tr = clock.time(() -> {
                be.fill(t, 0);
                clock.sync();
            }, 100, 15, 20, env.caseDeadline(8), false);
            BenchCase.timing(roundtrip, tr, 0, 0);
        } catch (RuntimeException | Error e) {
            BenchCase.failed(roundtrip, e);
        }
        out.add(issue);
        out.add(roundtrip);
    }
}
