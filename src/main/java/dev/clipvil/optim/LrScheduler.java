package dev.clipvil.optim;

import java.util.List;

/**
 * Sets the learning rate of each of an optimizer's groups to {@code baseLr * schedule.factor(step)}.
 * Call {@link #step()} after each optimizer step. Construction applies the factor of step 0; for
 * a resumed run, {@link #setStep} restores the count (the only state a scheduler has).
 */
public final class LrScheduler {
    private final List<ParamGroup> groups;
    private final LrSchedule schedule;
    private long step;

    public LrScheduler(Optimizer optimizer, LrSchedule schedule) { this(optimizer.groups(), schedule); }

    /** Over chosen groups only (e.g. one part of an {@link OptimizerSet}). */
    public LrScheduler(List<ParamGroup> groups, LrSchedule schedule) {
        this.groups = List.copyOf(groups);
        this.schedule = schedule;
        apply();
    }

    /** Counts one optimizer step and sets the learning rates of the next. */
    public void step() {
        step++;
        apply();
    }

    /** Optimizer steps counted so far. */
    public long stepCount() { return step; }

    /** Sets the step count (resuming) and applies its factor. */
    public void setStep(long step) {
        if (step < 0) throw new IllegalArgumentException("scheduler step must be >= 0, got " + step);
        this.step = step;
        apply();
    }

    /** The current factor. */
    public double factor() { return schedule.factor(step); }

    private void apply() {
        double f = schedule.factor(step);
        for (ParamGroup g : groups) g.setLr(g.baseLr() * f);
    }
}
