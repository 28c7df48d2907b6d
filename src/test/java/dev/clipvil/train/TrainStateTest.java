package dev.clipvil.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.optim.LrSchedule;
import dev.clipvil.optim.LrScheduler;
import dev.clipvil.optim.ParamGroup;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Train state to and from JSON, scheduler restore, and errors that name the key. */
class TrainStateTest {
    private static TrainState sample() {
        JsonObject extra = new JsonObject();
        extra.addProperty("best_epoch", 2);
        return TrainState.start(1234).at(250, 3, 17)
                .withCounts(Map.of("fusion", 250L, "backbone", 250L), Map.of("fusion", 250L, "backbone", 125L))
                .withRng(Map.of("dropout.seed", -7L, "dropout.counter", 9000L))
                .withProgress(71.25, 812.5, extra);
    }

    @Test
    void roundTripsThroughJsonText() {
        TrainState s = sample();
        JsonObject json = JsonParser.parseString(s.toJson().toString()).getAsJsonObject();
        assertEquals(s, TrainState.fromJson(json));
        assertEquals(3, json.get("epoch").getAsInt());
        assertEquals(17, json.get("batch").getAsLong());
        assertEquals(1234, json.get("data_seed").getAsLong());
        TrainState fresh = TrainState.start(5);
        assertFalse(fresh.hasBestAccuracy());
        assertTrue(fresh.toJson().get("best_accuracy").isJsonNull());
        assertEquals(fresh, TrainState.fromJson(JsonParser.parseString(fresh.toJson().toString()).getAsJsonObject()));
    }

    @Test
    void errorsNameTheKey() {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("step", "key \"step\" is missing");
        cases.put("epoch=\"two\"", "key \"epoch\" must be an integer, got \"two\"");
        cases.put("batch=-1", "key \"batch\" must be >= 0, got -1");
        cases.put("batch=1.5", "key \"batch\" must be an integer, got 1.5");
        cases.put("scheduler_steps={\"fusion\":-3}", "key \"scheduler_steps.fusion\" must be >= 0, got -3");
        cases.put("optimizer_steps=[1]", "key \"optimizer_steps\" must be a JSON object, got [1]");
        cases.put("rng={\"dropout.seed\":\"x\"}", "key \"rng.dropout.seed\" must be an integer, got \"x\"");
        cases.put("best_accuracy=\"high\"", "key \"best_accuracy\" must be a finite number, got \"high\"");
        cases.put("wall_seconds", "key \"wall_seconds\" is missing");
        for (var c : cases.entrySet()) {
            JsonObject json = sample().toJson();
            String[] kv = c.getKey().split("=", 2);
            json.remove(kv[0]);
            if (kv.length == 2) json.add(kv[0], JsonParser.parseString(kv[1]));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainState.fromJson(json), c.getKey());
            assertEquals(c.getValue(), e.getMessage(), c.getKey());
        }
    }

    @Test
    void schedulersAreRestoredByName() {
        ParamGroup g1 = new ParamGroup("fusion", Map.<String, Tensor>of(), 1.0, 0);
        ParamGroup g2 = new ParamGroup("backbone", Map.<String, Tensor>of(), 0.5, 0);
        LrSchedule linear = LrSchedule.warmupLinear(10, 100);
        Map<String, LrScheduler> schedulers = new LinkedHashMap<>();
        schedulers.put("fusion", new LrScheduler(List.of(g1), linear));
        schedulers.put("backbone", new LrScheduler(List.of(g2), linear));
        for (int i = 0; i < 30; i++) schedulers.get("fusion").step();
        for (int i = 0; i < 20; i++) schedulers.get("backbone").step();
        TrainState saved = TrainState.start(0).withCounts(TrainState.stepsOf(schedulers), Map.of());
        assertEquals(Map.of("fusion", 30L, "backbone", 20L), saved.schedulerSteps());

        ParamGroup h1 = new ParamGroup("fusion", Map.<String, Tensor>of(), 1.0, 0);
        ParamGroup h2 = new ParamGroup("backbone", Map.<String, Tensor>of(), 0.5, 0);
        Map<String, LrScheduler> resumed = new LinkedHashMap<>();
        resumed.put("fusion", new LrScheduler(List.of(h1), linear));
        resumed.put("backbone", new LrScheduler(List.of(h2), linear));
        TrainState.fromJson(saved.toJson()).restoreSchedulers(resumed);
        assertEquals(30, resumed.get("fusion").stepCount());
        assertEquals(g1.lr(), h1.lr(), 0);
        assertEquals(g2.lr(), h2.lr(), 0);

        Map<String, LrScheduler> more = new LinkedHashMap<>(resumed);
        more.put("head", new LrScheduler(List.of(new ParamGroup("head", Map.<String, Tensor>of(), 1.0, 0)), linear));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> saved.restoreSchedulers(more));
        assertEquals("key \"scheduler_steps.head\" is missing", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> saved.restoreSchedulers(Map.of("fusion", resumed.get("fusion"))));
        assertTrue(e.getMessage().startsWith("key \"scheduler_steps.backbone\" names no scheduler"), e.getMessage());
    }
}
