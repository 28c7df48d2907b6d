package dev.clipvil.train;

import com.google.gson.JsonObject;
import dev.clipvil.autograd.Autograd;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Reductions;
import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.LrSchedule;
import dev.clipvil.optim.LrScheduler;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The pieces together, the way a training loop uses them: a run stopped mid-epoch (or at an epoch's
 * end), then resumed from its checkpoint, ends with the same weights, bit for bit, and the same
 * metrics records as a run that was never stopped. The loop here is a stand-in written for the test.
 */
class ResumeAfterInterruptionTest {
    @TempDir Path tmp;

    private static final int EPOCHS = 3, BATCHES = 5, BATCH = 4, N = BATCHES * BATCH;
    private static final long SEED = 99;

    private static float[][] data(int cols, long seed) {
        Random r = new Random(seed);
        float[][] out = new float[N][cols];
        for (float[] row : out) for (int j = 0; j < cols; j++) row[j] = (float) r.nextGaussian();
        return out;
    }

    private static final float[][] X = data(4, 1), Y = data(2, 2);

    private static int[] order(long seed, int epoch) {
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < N; i++) idx.add(i);
        java.util.Collections.shuffle(idx, new Random(seed * 1_000_003L + epoch));
        return idx.stream().mapToInt(Integer::intValue).toArray();
    }

    private static Tensor rows(float[][] src, int[] order, int batch) {
        int cols = src[0].length;
        float[] out = new float[BATCH * cols];
        for (int i = 0; i < BATCH; i++) System.arraycopy(src[order[batch * BATCH + i]], 0, out, i * cols, cols);
        return Tensor.of(out, BATCH, cols);
    }

    /** Trains in {@code dir} (a new run, or a resume), stopping after global step {@code stopAt} (never when -1). Returns the final weight. */
    private static float[] train(Path dir, boolean resume, long stopAt) throws IOException {
        JsonObject config = new JsonObject();
        config.addProperty("lr", 0.05);
        RunDir run = resume ? RunDir.resume(dir) : RunDir.create(dir, config);
        Linear model = new Linear(4, 2, true, new Init(7));
        try (AdamW opt = new AdamW(model.namedParameters(), run.config().get("lr").getAsDouble())) {
            LrScheduler sched = new LrScheduler(opt, LrSchedule.warmupLinear(3, EPOCHS * BATCHES));
            Map<String, LrScheduler> schedulers = Map.of("adamw", sched);
            TrainState st = TrainState.start(SEED);
            MetricsLog log;
            if (resume) {
                try (Checkpoint c = run.checkpointer().load()) {
                    model.loadStateDict(c.model());
                    opt.loadState(c.optimizers().get("adamw"));
                    st = c.trainState();
                    st.restoreSchedulers(schedulers);
                }
                log = MetricsLog.resume(run.metricsFile(), st.step());
            } else {
                log = MetricsLog.create(run.metricsFile());
            }
            try (log; StopSignal stop = StopSignal.detached(Duration.ofSeconds(5))) {
                long step = st.step();
                for (int epoch = st.epoch(); epoch < EPOCHS; epoch++) {
                    int[] order = order(st.dataSeed(), epoch);
                    for (int b = epoch == st.epoch() ? (int) st.batch() : 0; b < BATCHES; b++) {
                        double loss;
                        try (MemoryScope scope = MemoryScope.open()) {
                            Tensor diff = Elementwise.sub(model.forward(rows(X, order, b)), rows(Y, order, b));
                            Tensor l = Reductions.mean(Elementwise.mul(diff, diff));
                            Autograd.backward(l);
                            loss = l.item();
                            opt.step();
                            opt.zeroGrad();
                        }
                        sched.step();
                        step++;
                        log.log(new MetricsLog.Train(step, epoch, loss, Map.of("adamw", opt.groups().get(0).lr()), 0, step * BATCH, 0));
                        if (step == stopAt) stop.requestStop();
                        if (stop.stopRequested()) {
                            save(run, model, opt, st.at(step, epoch, b + 1).withCounts(TrainState.stepsOf(schedulers), Map.of("adamw", step)));
                            stop.acknowledge();
                            return null;
                        }
                    }
                    log.log(new MetricsLog.Eval(step, epoch + 1, 10.0 * (epoch + 1), Map.of("other", 5.0 * (epoch + 1)), N, 0));
                    save(run, model, opt, st.at(step, epoch + 1, 0).withCounts(TrainState.stepsOf(schedulers), Map.of("adamw", step)));
                }
            }
        }
        return model.weight().toFloatArray();
    }

    private static void save(RunDir run, Linear model, AdamW opt, TrainState st) throws IOException {
        run.checkpointer().save(model.stateDict(), Map.of("adamw", opt.state()), st.toJson());
    }

    @Test
    void aResumedRunMatchesAnUninterruptedOne() throws IOException {
        Path straight = tmp.resolve("straight");
        float[] expected = train(straight, false, -1);
        List<JsonObject> expectedLog = MetricsLog.read(straight.resolve(RunDir.METRICS_FILE));
        assertEquals(EPOCHS * BATCHES + EPOCHS, expectedLog.size());
        for (long stopAt : new long[] {7, 10, 1}) { // mid-epoch, at an epoch's last batch, at the first step
            Path dir = tmp.resolve("stopped-" + stopAt);
            assertEquals(null, train(dir, false, stopAt));
            try (Checkpoint c = RunDir.resume(dir).checkpointer().load()) {
                assertEquals(stopAt, c.trainState().step());
            }
            float[] got = train(dir, true, -1);
            assertArrayEquals(expected, got, 0f, "stopped at " + stopAt);
            assertEquals(expectedLog, MetricsLog.read(dir.resolve(RunDir.METRICS_FILE)), "stopped at " + stopAt);
        }
        RunException e = assertThrows(RunException.class, () -> train(straight, false, -1));
        assertEquals(straight, e.path());
    }
}
