package dev.clipvil.train;

import com.google.gson.JsonObject;
import dev.clipvil.optim.LrScheduler;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a training run stands, as saved in a checkpoint's {@code state.json} so that a resumed run
 * continues exactly: the global optimizer step, the data-order position (the epoch, the index within
 * it of the next batch to run, and the seed its shuffled order is drawn from), the step count of each
 * learning-rate scheduler and of each optimizer, named random seeds and counters (e.g.
 * {@code dropout.seed}), the best evaluation accuracy so far and the training wall time. {@code extra}
 * holds anything else the caller wants back.
 *
 * <p>JSON keys: {@code step, epoch, batch, data_seed, scheduler_steps, optimizer_steps, rng,
 * best_accuracy} (null when there has been no evaluation yet), {@code wall_seconds, extra}.
 * {@link #fromJson} reports a missing or malformed field by its key, e.g.
 * {@code key "scheduler_steps.fusion" must be >= 0, got -1}.
 */
public record TrainState(long step, int epoch, long batch, long dataSeed,
                         Map<String, Long> schedulerSteps, Map<String, Long> optimizerSteps, Map<String, Long> rng,
                         double bestAccuracy, double wallSeconds, JsonObject extra) {
    public TrainState {
        if (step < 0) throw new IllegalArgumentException("train state: step must be >= 0, got " + step);
        if (epoch < 0) throw new IllegalArgumentException("train state: epoch must be >= 0, got " + epoch);
        if (batch < 0) throw new IllegalArgumentException("train state: batch must be >= 0, got " + batch);
        if (!(wallSeconds >= 0) || Double.isInfinite(wallSeconds)) throw new IllegalArgumentException("train state: wall_seconds must be finite and >= 0, got " + wallSeconds);
        if (Double.isInfinite(bestAccuracy)) throw new IllegalArgumentException("train state: best_accuracy must be finite or NaN (none yet), got " + bestAccuracy);
        schedulerSteps = frozen(schedulerSteps, "scheduler_steps");
        optimizerSteps = frozen(optimizerSteps, "optimizer_steps");
        rng = Collections.unmodifiableMap(new LinkedHashMap<>(rng));
        extra = extra == null ? new JsonObject() : extra.deepCopy();
    }

    private static Map<String, Long> frozen(Map<String, Long> m, String key) {
        for (Map.Entry<String, Long> e : m.entrySet()) {
            if (e.getValue() == null || e.getValue() < 0) throw new IllegalArgumentException("train state: " + key + "." + e.getKey() + " must be >= 0, got " + e.getValue());
        }
        return Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    /** The state at the very start of a run: everything zero, no accuracy yet, no counters. */
    public static TrainState start(long dataSeed) {
        return new TrainState(0, 0, 0, dataSeed, Map.of(), Map.of(), Map.of(), Double.NaN, 0, new JsonObject());
    }

    /** A copy at another data-order position (after a step or at an epoch boundary). */
    public TrainState at(long step, int epoch, long batch) {
        return new TrainState(step, epoch, batch, dataSeed, schedulerSteps, optimizerSteps, rng, bestAccuracy, wallSeconds, extra);
    }

    /** A copy with the given scheduler and optimizer step counts. */
    public TrainState withCounts(Map<String, Long> schedulerSteps, Map<String, Long> optimizerSteps) {
        return new TrainState(step, epoch, batch, dataSeed, schedulerSteps, optimizerSteps, rng, bestAccuracy, wallSeconds, extra);
    }

    /** A copy with the given random seeds and counters. */
    public TrainState withRng(Map<String, Long> rng) {
        return new TrainState(step, epoch, batch, dataSeed, schedulerSteps, optimizerSteps, rng, bestAccuracy, wallSeconds, extra);
    }

    /** A copy with the given best accuracy, wall time and extra fields. */
    public TrainState withProgress(double bestAccuracy, double wallSeconds, JsonObject extra) {
        return new TrainState(step, epoch, batch, dataSeed, schedulerSteps, optimizerSteps, rng, bestAccuracy, wallSeconds, extra);
    }

    /** Whether an evaluation has set {@link #bestAccuracy} yet. */
    public boolean hasBestAccuracy() { return !Double.isNaN(bestAccuracy); }

    /** The step counts of named schedulers, to store with {@link #withCounts}. */
    public static LinkedHashMap<String, Long> stepsOf(Map<String, LrScheduler> schedulers) {
        LinkedHashMap<String, Long> out = new LinkedHashMap<>();
        for (Map.Entry<String, LrScheduler> e : schedulers.entrySet()) out.put(e.getKey(), e.getValue().stepCount());
        return out;
    }

    /**
     * Sets each named scheduler's step count (which also sets its learning rates). Every scheduler
     * must have a saved count and every saved count a scheduler; otherwise nothing is changed and the
     * error names the key, e.g. {@code key "scheduler_steps.backbone" is missing}.
     */
    public void restoreSchedulers(Map<String, LrScheduler> schedulers) {
        for (String name : schedulers.keySet()) {
            if (!schedulerSteps.containsKey(name)) throw new IllegalArgumentException("key \"scheduler_steps." + name + "\" is missing");
        }
        for (String name : schedulerSteps.keySet()) {
            if (!schedulers.containsKey(name)) throw new IllegalArgumentException("key \"scheduler_steps." + name + "\" names no scheduler of this run (it has " + schedulers.keySet() + ")");
        }
        for (Map.Entry<String, LrScheduler> e : schedulers.entrySet()) e.getValue().setStep(schedulerSteps.get(e.getKey()));
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("step", step);
        o.addProperty("epoch", epoch);
        o.addProperty("batch", batch);
        o.addProperty("data_seed", dataSeed);
        o.add("scheduler_steps", JsonFields.counts(schedulerSteps));
        o.add("optimizer_steps", JsonFields.counts(optimizerSteps));
        JsonObject r = new JsonObject();
        for (Map.Entry<String, Long> e : rng.entrySet()) r.addProperty(e.getKey(), e.getValue());
        o.add("rng", r);
        o.add("best_accuracy", JsonFields.numberOrNull(bestAccuracy));
        o.addProperty("wall_seconds", wallSeconds);
        o.add("extra", extra.deepCopy());
        return o;
    }

    /**
     * Reads what {@link #toJson} wrote; unknown keys are ignored. Throws {@link IllegalArgumentException}
     * naming the first missing or malformed key.
     */
    public static TrainState fromJson(JsonObject o) {
        long step = JsonFields.nonNegativeLong(o, "", "step");
        int epoch = JsonFields.nonNegativeInt(o, "", "epoch");
        long batch = JsonFields.nonNegativeLong(o, "", "batch");
        long seed = JsonFields.anyLong(o, "", "data_seed");
        Map<String, Long> sched = JsonFields.counts(o, "", "scheduler_steps");
        Map<String, Long> opt = JsonFields.counts(o, "", "optimizer_steps");
        JsonObject r = JsonFields.object(o, "", "rng");
        LinkedHashMap<String, Long> rng = new LinkedHashMap<>();
        for (var e : r.entrySet()) rng.put(e.getKey(), JsonFields.anyLong(e.getValue(), "rng." + e.getKey()));
        double best = JsonFields.number(o, "", "best_accuracy", true);
        double wall = JsonFields.number(o, "", "wall_seconds", false);
        if (wall < 0) throw new IllegalArgumentException("key \"wall_seconds\" must be >= 0, got " + wall);
        JsonObject extra = o.has("extra") ? JsonFields.object(o, "", "extra") : new JsonObject();
        return new TrainState(step, epoch, batch, seed, sched, opt, rng, best, wall, extra);
    }
}
