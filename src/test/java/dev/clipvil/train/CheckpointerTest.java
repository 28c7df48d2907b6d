package dev.clipvil.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.io.CheckpointException;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Views;
import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.OptimizerState;
import dev.clipvil.optim.SGD;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint round trips, saves that fail or crash at every point, and the load errors. */
class CheckpointerTest {
    @TempDir Path run;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) c.close();
    }

    private <T extends AutoCloseable> T own(T t) {
        toClose.add(t);
        return t;
    }

    /** A small "model": several dtypes, a non-contiguous view, a scalar, an empty tensor. */
    private Map<String, Tensor> model(long seed) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("encoder.weight", own(Creation.randn(seed, DType.F32, 3, 4)));
        m.put("encoder.bias", own(Creation.randn(seed + 1, DType.F64, 4)));
        Tensor base = own(Creation.randn(seed + 2, DType.F32, 4, 2));
        m.put("head.weight_t", own(Views.transpose(base, 0, 1)));
        m.put("head.bf16", own(Elementwise.cast(own(Creation.randn(seed + 3, DType.F32, 5)), DType.BF16)));
        m.put("counter", own(Tensor.ofLongs(new long[] {seed, -seed, Long.MAX_VALUE}, 3)));
        m.put("scale", own(Tensor.of(new float[] {(float) seed})));
        m.put("empty", own(Tensor.empty(DType.F32, 0, 3)));
        return m;
    }

    /** Real optimizer states: AdamW after two steps (slots) and SGD without momentum (steps, no slots). */
    private Map<String, OptimizerState> optimizers(long seed) {
        Tensor a = own(Creation.randn(seed, DType.F32, 2, 3)).requiresGrad(true);
        Tensor b = own(Creation.randn(seed + 1, DType.F32, 4)).requiresGrad(true);
        AdamW adam = own(new AdamW(Map.of("fusion.w", a), 0.01));
        SGD sgd = own(new SGD(Map.of("backbone.w", b), 0.1));
        for (int t = 0; t < 2; t++) {
            a.setGrad(Creation.randn(seed + 10 + t, DType.F32, 2, 3));
            b.setGrad(Creation.randn(seed + 20 + t, DType.F32, 4));
            adam.step();
            sgd.step();
        }
        Map<String, OptimizerState> m = new LinkedHashMap<>();
        m.put("fusion", adam.state());
        m.put("backbone", sgd.state());
        return m;
    }

    private static JsonObject state(long step) {
        JsonObject o = TrainState.start(42).at(step, 1, 7).toJson();
        o.addProperty("note", "step " + step);
        return o;
    }

    static void assertBitwiseEqual(String name, Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape(), name + " shape");
        assertEquals(expected.dtype(), actual.dtype(), name + " dtype");
        switch (expected.dtype()) {
            case F64 -> {
                double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
                for (int i = 0; i < e.length; i++) assertEquals(Double.doubleToRawLongBits(e[i]), Double.doubleToRawLongBits(a[i]), name + "[" + i + "]");
            }
            case I64, I32 -> assertArrayEquals(expected.toLongArray(), actual.toLongArray(), name);
            default -> {
                float[] e = expected.toFloatArray(), a = actual.toFloatArray();
                for (int i = 0; i < e.length; i++) assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(a[i]), name + "[" + i + "]");
            }
        }
    }

    private void assertHolds(Checkpointer cp, Map<String, Tensor> model, Map<String, OptimizerState> opts, JsonObject state) throws IOException {
        try (Checkpoint c = cp.load()) {
            assertEquals(List.copyOf(model.keySet()), List.copyOf(c.model().keySet()));
            for (var e : model.entrySet()) assertBitwiseEqual(e.getKey(), e.getValue(), c.model().get(e.getKey()));
            assertEquals(List.copyOf(opts.keySet()), List.copyOf(c.optimizers().keySet()));
            for (var e : opts.entrySet()) {
                OptimizerState got = c.optimizers().get(e.getKey());
                assertEquals(e.getValue().steps(), got.steps(), e.getKey() + " steps");
                assertEquals(List.copyOf(e.getValue().tensors().keySet()), List.copyOf(got.tensors().keySet()));
                for (var t : e.getValue().tensors().entrySet()) assertBitwiseEqual(t.getKey(), t.getValue(), got.tensors().get(t.getKey()));
            }
            assertEquals(state, c.state());
        }
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void roundTripIsBitwiseExact() throws IOException {
        Checkpointer cp = new Checkpointer(run);
        assertFalse(cp.exists());
        Map<String, Tensor> model = model(1);
        Map<String, OptimizerState> opts = optimizers(1);
        JsonObject state = state(12);
        cp.save(model, opts, state);
        assertTrue(cp.exists());
        assertEquals(List.of("checkpoint"), listing(run));
        assertEquals(List.of("model.safetensors", "optimizer-backbone.safetensors", "optimizer-fusion.safetensors", "state.json"), listing(cp.dir()));
        assertHolds(cp, model, opts, state);
        try (Checkpoint c = cp.load()) {
            assertEquals(TrainState.start(42).at(12, 1, 7), c.trainState());
            assertEquals(2, c.optimizers().get("backbone").params().get("backbone.w").step());
            assertTrue(c.optimizers().get("backbone").tensors().isEmpty());
        }
        JsonObject onDisk = JsonParser.parseString(Files.readString(cp.dir().resolve("state.json"))).getAsJsonObject();
        assertEquals(12, onDisk.get("step").getAsLong(), "the caller's keys are at the top of state.json");
        assertEquals(2, onDisk.getAsJsonObject("checkpoint").getAsJsonObject("optimizers").getAsJsonObject("fusion")
                .getAsJsonObject("param_steps").get("fusion.w").getAsLong());
    }

    @Test
    void loadedStateResumesAnOptimizer() throws IOException {
        Tensor p = own(Creation.randn(5, DType.F32, 3)).requiresGrad(true);
        AdamW adam = own(new AdamW(Map.of("w", p), 0.01));
        p.setGrad(Creation.randn(6, DType.F32, 3));
        adam.step();
        Checkpointer cp = new Checkpointer(run);
        cp.save(Map.of("w", p), Map.of("adamw", adam.state()), new JsonObject());
        Tensor q = own(Creation.zeros(DType.F32, 3)).requiresGrad(true);
        try (Checkpoint c = cp.load(); AdamW resumed = new AdamW(Map.of("w", q), 0.01)) {
            resumed.loadState(c.optimizers().get("adamw"));
            assertEquals(1, resumed.state().params().get("w").step());
            assertBitwiseEqual("exp_avg", adam.state().params().get("w").slots().get("exp_avg"), resumed.state().params().get("w").slots().get("exp_avg"));
        }
    }

    @Test
    void secondSaveReplacesTheFirstAndLeavesNothingBehind() throws IOException {
        Checkpointer cp = new Checkpointer(run);
        cp.save(model(1), optimizers(1), state(1));
        Map<String, Tensor> m2 = model(2);
        Map<String, OptimizerState> o2 = Map.of("fusion", optimizers(2).get("fusion"));
        cp.save(m2, o2, state(2));
        assertEquals(List.of("checkpoint"), listing(run));
        assertFalse(Files.exists(cp.dir().resolve("optimizer-backbone.safetensors")), "files of the old checkpoint do not linger");
        assertHolds(cp, m2, o2, state(2));
    }

    @Test
    void failureAfterTheFirstFileKeepsThePreviousCheckpoint() throws IOException {
        Map<String, Tensor> m1 = model(1);
        Map<String, OptimizerState> o1 = optimizers(1);
        new Checkpointer(run).save(m1, o1, state(1));
        Checkpointer failing = new Checkpointer(run, (point, path) -> {
            if (point.equals("wrote")) throw new IOException("No space left on device");
        });
        CheckpointException e = assertThrows(CheckpointException.class, () -> failing.save(model(2), optimizers(2), state(2)));
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
        assertTrue(e.getMessage().contains("previous checkpoint"), e.getMessage());
        assertEquals(List.of("checkpoint"), listing(run), "the temporary folder is removed");
        Checkpointer cp = new Checkpointer(run);
        assertHolds(cp, m1, o1, state(1));
        Map<String, Tensor> m3 = model(3);
        cp.save(m3, o1, state(3));
        assertHolds(cp, m3, o1, state(3));
    }

    @Test
    void failureAtEachLaterPointKeepsALoadableCheckpoint() throws IOException {
        Map<String, Tensor> m1 = model(1), m2 = model(2);
        Map<String, OptimizerState> o1 = optimizers(1);
        for (String[] at : new String[][] {{"wrote", "optimizer-fusion.safetensors"}, {"wrote", "state.json"}, {"moved-old", ""}}) {
            new Checkpointer(run).save(m1, o1, state(1));
            Checkpointer failing = new Checkpointer(run, (point, path) -> {
                if (point.equals(at[0]) && path.toString().endsWith(at[1])) throw new IOException("injected at " + at[0] + " " + at[1]);
            });
            CheckpointException e = assertThrows(CheckpointException.class, () -> failing.save(m2, o1, state(2)), at[0] + " " + at[1]);
            assertTrue(e.getMessage().contains(at[0].equals("wrote") ? at[1] : "checkpoint"), e.getMessage());
            assertEquals(List.of("checkpoint"), listing(run), at[0] + " " + at[1]);
            assertHolds(new Checkpointer(run), m1, o1, state(1));
        }
        // a failure after the new checkpoint is in place: the new one is there, complete
        Checkpointer late = new Checkpointer(run, (point, path) -> {
            if (point.equals("moved-new")) throw new IOException("injected after the swap");
        });
        assertThrows(CheckpointException.class, () -> late.save(m2, o1, state(2)));
        assertHolds(new Checkpointer(run), m2, o1, state(2));
    }

    @Test
    void aRealWriteErrorNamesTheTensorAndKeepsThePreviousCheckpoint() throws IOException {
        Map<String, Tensor> m1 = model(1);
        Checkpointer cp = new Checkpointer(run);
        cp.save(m1, Map.of(), state(1));
        Tensor closed = Creation.ones(DType.F32, 2);
        closed.close();
        Map<String, Tensor> bad = new LinkedHashMap<>(model(2));
        bad.put("ghost", closed);
        CheckpointException e = assertThrows(CheckpointException.class, () -> cp.save(bad, Map.of(), state(2)));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("'ghost'"), e.getMessage());
        assertHolds(cp, m1, Map.of(), state(1));
    }

    @Test
    void crashLeftoversAreRecoveredAndCleanedUp() throws IOException {
        Map<String, Tensor> m1 = model(1), m2 = model(2);
        Map<String, OptimizerState> o1 = optimizers(1);
        Checkpointer cp = new Checkpointer(run);
        cp.save(m1, o1, state(1));

        // a crash while writing: a partial temporary folder of a dead process
        Path tmp = Files.createDirectory(run.resolve("checkpoint.tmp-999999"));
        Files.write(tmp.resolve("model.safetensors"), new byte[] {1, 2, 3});
        assertHolds(cp, m1, o1, state(1));

        // a crash between the two renames: only checkpoint.old (and a complete temporary) remain
        copyTree(cp.dir(), run.resolve("checkpoint.tmp-999998"));
        Files.move(cp.dir(), run.resolve("checkpoint.old"));
        assertTrue(cp.exists());
        assertHolds(cp, m1, o1, state(1));
        assertTrue(Files.isDirectory(cp.dir()), "load put checkpoint.old back");

        // again, and this time the next save recovers it first
        Files.move(cp.dir(), run.resolve("checkpoint.old"));
        cp.save(m2, o1, state(2));
        assertEquals(List.of("checkpoint"), listing(run));
        assertHolds(cp, m2, o1, state(2));

        // a crash after the second rename: a stale checkpoint.old next to the new checkpoint
        copyTree(cp.dir(), run.resolve("checkpoint.old"));
        assertHolds(cp, m2, o1, state(2));
        cp.save(m1, o1, state(3));
        assertEquals(List.of("checkpoint"), listing(run));
        assertHolds(cp, m1, o1, state(3));
    }

    @Test
    void anIncompleteOldCheckpointIsNotRecovered() throws IOException {
        Checkpointer cp = new Checkpointer(run);
        cp.save(model(1), Map.of(), state(1));
        Files.move(cp.dir(), run.resolve("checkpoint.old"));
        Files.delete(run.resolve("checkpoint.old/model.safetensors"));
        assertFalse(cp.exists());
        CheckpointException e = assertThrows(CheckpointException.class, cp::load);
        assertEquals(cp.dir(), e.file());
        assertTrue(e.getMessage().contains("no checkpoint has been saved in " + run), e.getMessage());
    }

    @Test
    void badArgumentsAreRefusedBeforeAnythingIsWritten() {
        Checkpointer cp = new Checkpointer(run);
        JsonObject reserved = new JsonObject();
        reserved.add("checkpoint", new JsonObject());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cp.save(model(1), Map.of(), reserved));
        assertTrue(e.getMessage().contains("\"checkpoint\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> cp.save(model(1), Map.of("../x", optimizers(1).get("fusion")), new JsonObject()));
        assertTrue(e.getMessage().contains("'../x'"), e.getMessage());
        assertFalse(cp.exists());
        CheckpointException missing = assertThrows(CheckpointException.class, () -> new Checkpointer(run.resolve("nope")).save(model(1), Map.of(), null));
        assertTrue(missing.getMessage().contains("nope"), missing.getMessage());
    }

    @Test
    void loadErrorsNameTheFileAndKey() throws IOException {
        Checkpointer cp = new Checkpointer(run);
        cp.save(model(1), optimizers(1), state(1));
        Path stateFile = cp.dir().resolve("state.json");
        String good = Files.readString(stateFile);

        Files.writeString(stateFile, good.replaceFirst("\"fusion.w\": 2", "\"fusion.w\": -2"));
        CheckpointException e = assertThrows(CheckpointException.class, cp::load);
        assertEquals(stateFile, e.file());
        assertTrue(e.getMessage().contains("\"checkpoint.optimizers.fusion.param_steps.fusion.w\" must be >= 0"), e.getMessage());

        Files.writeString(stateFile, good.replaceFirst("\"format\": \"clipvil-checkpoint\"", "\"format\": \"other\""));
        e = assertThrows(CheckpointException.class, cp::load);
        assertTrue(e.getMessage().contains("\"checkpoint.format\""), e.getMessage());

        Files.writeString(stateFile, good.replaceFirst("\"fusion.w\": 2", "\"other.w\": 2"));
        e = assertThrows(CheckpointException.class, cp::load);
        assertEquals(cp.dir().resolve("optimizer-fusion.safetensors"), e.file());
        assertTrue(e.getMessage().contains("'fusion.w.exp_avg'") && e.getMessage().contains("checkpoint.optimizers.fusion.param_steps"), e.getMessage());

        Files.writeString(stateFile, "{\"step\": 1,");
        e = assertThrows(CheckpointException.class, cp::load);
        assertTrue(e.getMessage().startsWith(stateFile + ": is not valid JSON"), e.getMessage());

        Files.writeString(stateFile, good);
        Path modelFile = cp.dir().resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(modelFile);
        Files.write(modelFile, java.util.Arrays.copyOf(bytes, bytes.length - 4));
        e = assertThrows(CheckpointException.class, cp::load);
        assertEquals(modelFile, e.file());
        assertTrue(e.getMessage().contains("checkpoint.files.model.safetensors") && e.getMessage().contains("truncated"), e.getMessage());

        Files.delete(modelFile);
        e = assertThrows(CheckpointException.class, cp::load);
        assertTrue(e.getMessage().startsWith(modelFile + ": is missing"), e.getMessage());

        Files.delete(stateFile);
        e = assertThrows(CheckpointException.class, cp::load);
        assertTrue(e.getMessage().startsWith(stateFile + ": is missing"), e.getMessage());
    }

    @Test
    void trainStateErrorsNameTheStateFile() throws IOException {
        Checkpointer cp = new Checkpointer(run);
        JsonObject s = state(1);
        s.addProperty("epoch", "one");
        cp.save(model(1), Map.of(), s);
        try (Checkpoint c = cp.load()) {
            CheckpointException e = assertThrows(CheckpointException.class, c::trainState);
            assertEquals(c.stateFile(), e.file());
            assertTrue(e.getMessage().contains("key \"epoch\" must be an integer"), e.getMessage());
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectory(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
    }
}
