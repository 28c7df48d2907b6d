package dev.clipvil.nn;

import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Naming, state dicts, modes and ownership of the Module tree. */
class ModuleTest {
    /** A block shaped like CLIP's residual attention block minus attention: ln-free MLP plus a buffer. */
    static final class Block extends Module {
        final Sequential mlp;

        Block(Init init) {
            mlp = registerModule("mlp", new Sequential()
                    .add("c_fc", new Linear(4, 8, true, init))
                    .add("gelu", new QuickGELU())
                    .add("c_proj", new Linear(8, 4, true, init)));
            registerParameter("scale", Creation.ones(DType.F32, 4));
            registerBuffer("counter", Creation.zeros(DType.F32, 1));
            registerBuffer("cache", Creation.zeros(DType.F32, 2), false);
        }
    }

    static final class Net extends Module {
        Net(Init init) {
            registerParameter("positional_embedding", Creation.zeros(DType.F32, 3, 4));
            ModuleList<Block> blocks = registerModule("blocks", new ModuleList<>());
            blocks.add(new Block(init));
            blocks.add(new Block(init));
            registerModule("head", new Linear(4, 2, false, init));
        }
    }

    @Test
    void sequentialOfLinearGivesIndexKeys() {
        Sequential s = new Sequential(new Linear(3, 4), new ReLU(), new Linear(4, 2));
        assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(s.stateDict().keySet()));
        assertArrayEquals(new int[]{4, 3}, s.namedParameters().get("0.weight").shape());
        s.close();
    }

    @Test
    void nestedNamesFollowPyTorchStateDictOrder() {
        Net net = new Net(new Init(1));
        List<String> expected = List.of("positional_embedding",
                "blocks.0.scale", "blocks.0.counter",
                "blocks.0.mlp.c_fc.weight", "blocks.0.mlp.c_fc.bias", "blocks.0.mlp.c_proj.weight", "blocks.0.mlp.c_proj.bias",
                "blocks.1.scale", "blocks.1.counter",
                "blocks.1.mlp.c_fc.weight", "blocks.1.mlp.c_fc.bias", "blocks.1.mlp.c_proj.weight", "blocks.1.mlp.c_proj.bias",
                "head.weight");
        assertEquals(expected, List.copyOf(net.stateDict().keySet()));
        assertEquals(List.of("blocks.0.counter", "blocks.0.cache", "blocks.1.counter", "blocks.1.cache"), List.copyOf(net.namedBuffers().keySet()));
        assertEquals(12, net.namedParameters().size());
        assertEquals(12 + 2 * (4 + 32 + 8 + 32 + 4) + 8, net.parameterCount());
        for (Tensor p : net.parameters()) assertTrue(p.requiresGrad());
        for (Tensor b : net.namedBuffers().values()) assertFalse(b.requiresGrad());
        assertEquals(List.of("", "blocks", "blocks.0", "blocks.0.mlp", "blocks.0.mlp.c_fc", "blocks.0.mlp.gelu", "blocks.0.mlp.c_proj",
                "blocks.1", "blocks.1.mlp", "blocks.1.mlp.c_fc", "blocks.1.mlp.gelu", "blocks.1.mlp.c_proj", "head"), List.copyOf(net.namedModules().keySet()));
        net.close();
    }

    @Test
    void stateDictRoundTripCopiesValuesAndConvertsDtype() {
        Net a = new Net(new Init(1)), b = new Net(new Init(2));
        assertFalse(java.util.Arrays.equals(a.stateDict().get("head.weight").toFloatArray(), b.stateDict().get("head.weight").toFloatArray()));
        // a F64 copy of a's state, as a checkpoint reader might produce
        Map<String, Tensor> sd = new LinkedHashMap<>();
        for (var e : a.stateDict().entrySet()) sd.put(e.getKey(), Tensor.of(e.getValue().toDoubleArray(), e.getValue().shape()));
        Tensor headBefore = b.stateDict().get("head.weight");
        LoadReport r = b.loadStateDict(sd);
        assertTrue(r.isClean(), r.toString());
        assertSame(headBefore, b.stateDict().get("head.weight"), "loading copies in place");
        assertEquals(DType.F32, headBefore.dtype());
        for (var e : a.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), b.stateDict().get(e.getKey()).toFloatArray(), e.getKey());
        }
        for (Tensor t : sd.values()) t.close();
        a.close();
        b.close();
    }

    @Test
    void strictLoadNamesEveryBadKeyAndCopiesNothing() {
        Net net = new Net(new Init(1));
        Map<String, float[]> before = new LinkedHashMap<>();
        for (var e : net.stateDict().entrySet()) before.put(e.getKey(), e.getValue().toFloatArray());
        Map<String, Tensor> sd = new LinkedHashMap<>();
        for (var e : net.stateDict().entrySet()) sd.put(e.getKey(), Creation.full(dev.clipvil.tensor.Device.CPU, DType.F32, 7, e.getValue().shape()));
        sd.remove("blocks.1.mlp.c_fc.bias");
        sd.put("head.weight", Creation.zeros(DType.F32, 3, 4));
        sd.put("logit_scale", Creation.zeros(DType.F32));
        StateDictException ex = assertThrows(StateDictException.class, () -> net.loadStateDict(sd));
        assertEquals(List.of("blocks.1.mlp.c_fc.bias"), ex.report().missing());
        assertEquals(List.of("logit_scale"), ex.report().unexpected());
        assertEquals(List.of("head.weight: expected [2, 4] got [3, 4]"), ex.report().mismatched());
        assertTrue(ex.getMessage().contains("blocks.1.mlp.c_fc.bias") && ex.getMessage().contains("logit_scale")
                && ex.getMessage().contains("head.weight: expected [2, 4] got [3, 4]"), ex.getMessage());
        for (var e : net.stateDict().entrySet()) assertArrayEquals(before.get(e.getKey()), e.getValue().toFloatArray(), "untouched: " + e.getKey());

        LoadReport lenient = net.loadStateDict(sd, false);
        assertEquals(ex.report(), lenient);
        assertEquals(7f, net.stateDict().get("blocks.0.mlp.c_fc.weight").toFloatArray()[0]);
        assertArrayEquals(before.get("head.weight"), net.stateDict().get("head.weight").toFloatArray(), "mis-shaped key skipped");
        net.close();
    }

    @Test
    void modesFreezingAndGradients() {
        Net net = new Net(new Init(3));
        assertTrue(net.isTraining());
        net.eval();
        for (Module m : net.namedModules().values()) assertFalse(m.isTraining());
        net.train();
        assertTrue(net.child("blocks").child("1").child("mlp").isTraining());

        net.child("blocks").child("0").freeze();
        assertFalse(net.namedParameters().get("blocks.0.mlp.c_fc.weight").requiresGrad());
        assertTrue(net.namedParameters().get("blocks.1.mlp.c_fc.weight").requiresGrad());
        assertEquals(12 - 5, net.trainableParameters().size());

        Tensor w = net.namedParameters().get("head.weight");
        w.setGrad(Creation.ones(DType.F32, 2, 4));
        net.zeroGrad();
        assertNull(w.grad());
        net.close();
        assertTrue(w.isClosed());
    }

    @Test
    void parametersMadeInsideAScopeSurviveIt() {
        Linear l;
        try (MemoryScope s = MemoryScope.open()) {
            l = new Linear(3, 2);
        }
        assertFalse(l.weight().isClosed());
        assertEquals(2, l.bias().numel());
        l.close();
        assertTrue(l.weight().isClosed());
    }

    @Test
    void tiedParametersAppearOnceInParametersButUnderEveryStateKey() {
        final class Tied extends Module {
            Tied() {
                Linear a = registerModule("a", new Linear(2, 2, false));
                Linear b = registerModule("b", new Linear(2, 2, false));
                b.tieParameter("weight", a.weight());
            }
        }
        Tied t = new Tied();
        assertEquals(List.of("a.weight"), List.copyOf(t.namedParameters().keySet()));
        assertEquals(List.of("a.weight", "b.weight"), List.copyOf(t.stateDict().keySet()));
        t.close();
    }

    @Test
    void toDtypeConvertsParametersAndBuffers() {
        Net net = new Net(new Init(4));
        float[] w = net.stateDict().get("head.weight").toFloatArray();
        net.to(DType.F64);
        Tensor w64 = net.stateDict().get("head.weight");
        assertEquals(DType.F64, w64.dtype());
        assertTrue(w64.requiresGrad());
        assertEquals(DType.F64, net.namedBuffers().get("blocks.0.counter").dtype());
        double[] d = w64.toDoubleArray();
        for (int i = 0; i < w.length; i++) assertEquals(w[i], d[i], 0);
        try (MemoryScope s = MemoryScope.open()) {
            Linear head = (Linear) net.child("head");
            assertEquals(DType.F64, head.forward(Creation.ones(DType.F64, 1, 4)).dtype());
        }
        net.close();
    }

    @Test
    void duplicateOrDottedNamesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerParameter("w", Creation.zeros(2)); registerBuffer("w", Creation.zeros(2)); }
        });
        assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerParameter("a.b", Creation.zeros(2)); }
        });
    }
}
