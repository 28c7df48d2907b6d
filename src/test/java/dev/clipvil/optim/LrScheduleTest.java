package dev.clipvil.optim;

import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LrScheduleTest {
    @Test
    void warmupLinear() {
        LrSchedule s = LrSchedule.warmupLinear(10, 110);
        assertEquals(0.0, s.factor(0), 0);
        assertEquals(0.5, s.factor(5), 1e-15);
        assertEquals(1.0, s.factor(10), 1e-15);
        assertEquals(0.5, s.factor(60), 1e-15);
        assertEquals(0.01, s.factor(109), 1e-15);
        assertEquals(0.0, s.factor(110), 0);
        assertEquals(0.0, s.factor(500), 0);
    }

    @Test
    void warmupCosine() {
        LrSchedule s = LrSchedule.warmupCosine(4, 104);
        assertEquals(0.25, s.factor(1), 1e-15);
        assertEquals(1.0, s.factor(4), 1e-15);
        assertEquals(0.5, s.factor(54), 1e-15);
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 0.25)), s.factor(29), 1e-15);
        assertEquals(0.0, s.factor(104), 1e-15);
        assertEquals(0.0, s.factor(1000), 1e-15);
        LrSchedule floor = LrSchedule.warmupCosine(0, 100, 0.1);
        assertEquals(1.0, floor.factor(0), 1e-15);
        assertEquals(0.55, floor.factor(50), 1e-15);
        assertEquals(0.1, floor.factor(100), 1e-15);
        assertEquals(0.1, floor.factor(150), 1e-15);
    }

    @Test
    void stepDecayAndConstant() {
        LrSchedule s = LrSchedule.stepDecay(30, 0.1);
        assertEquals(1.0, s.factor(0), 0);
        assertEquals(1.0, s.factor(29), 0);
        assertEquals(0.1, s.factor(30), 1e-15);
        assertEquals(0.01, s.factor(60), 1e-15);
        assertEquals(0.01, s.factor(89), 1e-15);
        assertEquals(1.0, LrSchedule.constant().factor(12345), 0);
        LrSchedule wc = LrSchedule.warmupConstant(4);
        assertEquals(0.75, wc.factor(3), 0);
        assertEquals(1.0, wc.factor(400), 0);
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupLinear(10, 5));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.stepDecay(0, 0.5));
    }

    @Test
    void schedulerScalesEachGroupsBaseRate() {
        Tensor a = Creation.zeros(DType.F32, 2), b = Creation.zeros(DType.F32, 2);
        ParamGroup ga = new ParamGroup("a", Map.of("a", a), 1e-3, 0.01), gb = new ParamGroup("b", Map.of("b", b), 1e-1, 0);
        try (AdamW opt = new AdamW(List.of(ga, gb), 0.9, 0.999, 1e-8)) {
            LrScheduler sched = new LrScheduler(opt, LrSchedule.warmupLinear(2, 10));
            assertEquals(0.0, ga.lr(), 0);
            sched.step();
            assertEquals(0.5e-3, ga.lr(), 1e-18);
            assertEquals(0.05, gb.lr(), 1e-15);
            sched.step();
            assertEquals(1e-3, ga.lr(), 1e-18);
            sched.setStep(6);
            assertEquals(0.05 * 1e-1 * 10, gb.lr(), 1e-15);
            assertEquals(6, sched.stepCount());
            assertEquals(1e-3, ga.baseLr(), 0);
        }
    }
}
