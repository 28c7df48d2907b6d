package dev.clipvil.bench;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.backend.cpu.Parallel;
import org.bytedeco.pytorch.InferenceMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What every benchmark shares: the {@code impl} parameter (the engine's CPU backend or libtorch), the
 * thread-count rule (libtorch gets {@link Parallel#threads()}, the engine's count) and libtorch's
 * inference mode (no autograd bookkeeping) around each measured iteration.
 *
 * <p>Thread-scoped state: JMH runs every setup on the thread that runs the benchmark, which matters
 * because both libtorch's thread setting and its inference-mode guard are per thread.
 */
@State(Scope.Thread)
public abstract class ImplBench {
    static final String CLIPVIL = "clipvil";
    static final String LIBTORCH = "libtorch";

    @Param({CLIPVIL, LIBTORCH})
    public String impl;

    /** The engine's backend (used when impl is clipvil). */
    final Backend clip = CpuBackend.get();

    private InferenceMode inference;

    /** True for the libtorch runs. Also applies the thread rule and logs it; call first in each trial setup. */
    final boolean useTorch() {
        int threads = Parallel.threads();
        switch (impl) {
            case CLIPVIL -> {
                System.out.println("# impl clipvil: " + threads + " threads (Parallel.threads())");
                return false;
            }
            case LIBTORCH -> {
                int t = Torch.matchThreads(threads);
                System.out.println("# impl libtorch: " + t + " threads (torch.set_num_threads(Parallel.threads()))");
                return true;
            }
            default -> throw new IllegalArgumentException("impl must be " + CLIPVIL + " or " + LIBTORCH + ", got '" + impl + "'");
        }
    }

    @Setup(Level.Iteration)
    public void enterInferenceMode() {
        if (LIBTORCH.equals(impl)) {
            inference = new InferenceMode();
            if (!InferenceMode.is_enabled()) throw new IllegalStateException("libtorch inference mode did not turn on");
        }
    }

    @TearDown(Level.Iteration)
    public void exitInferenceMode() {
        if (inference != null) {
            inference.close();
            inference = null;
        }
    }
}
