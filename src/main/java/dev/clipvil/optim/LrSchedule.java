package dev.clipvil.optim;

/**
 * A learning-rate factor as a function of the number of optimizer steps taken so far (0 before the
 * first step): the learning rate of the next step is {@code baseLr * factor(step)}, as PyTorch's
 * LambdaLR. The warmup schedules follow Hugging Face's {@code get_*_schedule_with_warmup}, so the
 * first step of a warmup runs at factor 0.
 */
@FunctionalInterface
public interface LrSchedule {
    double factor(long step);

    /** Always 1. */
    public static LrSchedule constant() { return new Constant(); }

    /** Linear from 0 to 1 over {@code warmup} steps, then 1. */
    public static LrSchedule warmupConstant(long warmup) { return new WarmupConstant(warmup); }

    /** Linear from 0 to 1 over {@code warmup} steps, then linear to 0 at {@code total} (and 0 after). */
    public static LrSchedule warmupLinear(long warmup, long total) { return new WarmupLinear(warmup, total); }

    /** Linear warmup, then half a cosine from 1 to 0 at {@code total} (and 0 after). */
    public static LrSchedule warmupCosine(long warmup, long total) { return new WarmupCosine(warmup, total, 0); }

    /** Linear warmup, then half a cosine from 1 down to {@code minFactor} at {@code total} (then flat). */
    public static LrSchedule warmupCosine(long warmup, long total, double minFactor) { return new WarmupCosine(warmup, total, minFactor); }

    /** {@code gamma^(step / stepSize)} (integer division), as StepLR. */
    public static LrSchedule stepDecay(long stepSize, double gamma) { return new StepDecay(stepSize, gamma); }

    record Constant() implements LrSchedule {
        @Override public double factor(long step) { return 1; }
    }

    record WarmupConstant(long warmup) implements LrSchedule {
        public WarmupConstant {
            if (warmup < 0) throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
        }

        @Override public double factor(long step) { return step < warmup ? (double) step / warmup : 1; }
    }

    record WarmupLinear(long warmup, long total) implements LrSchedule {
        public WarmupLinear {
            if (warmup < 0 || total < warmup) throw new IllegalArgumentException("need 0 <= warmup <= total, got warmup " + warmup + ", total " + total);
        }

        @Override public double factor(long step) {
            if (step < warmup) return (double) step / warmup;
            return Math.max(0, (double) (total - step) / Math.max(1, total - warmup));
        }
    }

    record WarmupCosine(long warmup, long total, double minFactor) implements LrSchedule {
        public WarmupCosine {
            if (warmup < 0 || total < warmup) throw new IllegalArgumentException("need 0 <= warmup <= total, got warmup " + warmup + ", total " + total);
            if (!(minFactor >= 0 && minFactor <= 1)) throw new IllegalArgumentException("minFactor must be in [0, 1], got " + minFactor);
        }

        @Override public double factor(long step) {
            if (step < warmup) return (double) step / warmup;
            double progress = Math.min(1, (double) (step - warmup) / Math.max(1, total - warmup));
            return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
        }
    }

    record StepDecay(long stepSize, double gamma) implements LrSchedule {
        public StepDecay {
            if (stepSize < 1) throw new IllegalArgumentException("step size must be >= 1, got " + stepSize);
            if (!(gamma > 0)) throw new IllegalArgumentException("gamma must be > 0, got " + gamma);
        }

        @Override public double factor(long step) { return Math.pow(gamma, (double) (step / stepSize)); }
    }
}
