package dev.clipvil.clip;

import dev.clipvil.nn.BatchNorm2d;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Structure, names, sizes and BatchNorm handling of CLIP's ResNet tower (values: ClipResNetFixtureTest). */
class ModifiedResNetTest {
    private static ModifiedResNet tiny() { return new ModifiedResNet(new int[]{1, 2, 1, 1}, 6, 2, 64, 4, new Init(3)); }

    @Test
    void stateDictNamesAndShapesFollowOpenAi() {
        try (ModifiedResNet rn = tiny()) {
            Map<String, Tensor> sd = rn.stateDict();
            List<String> keys = List.copyOf(sd.keySet());
            assertEquals(List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                    "conv2.weight"), keys.subList(0, 7));
            assertEquals(List.of("layer1.0.conv1.weight", "layer1.0.bn1.weight"), keys.subList(keys.indexOf("layer1.0.conv1.weight"), keys.indexOf("layer1.0.conv1.weight") + 2));
            assertArrayEquals(new int[]{2, 3, 3, 3}, sd.get("conv1.weight").shape());
            assertArrayEquals(new int[]{4, 2, 3, 3}, sd.get("conv3.weight").shape());
            // layer1: 4 -> 16 channels at stride 1: a downsample branch (1x1 conv "0", BN "1")
            assertArrayEquals(new int[]{16, 4, 1, 1}, sd.get("layer1.0.downsample.0.weight").shape());
            assertArrayEquals(new int[]{16}, sd.get("layer1.0.downsample.1.running_var").shape());
            // layer2: first block strided with a downsample, the second one plain
            assertTrue(sd.containsKey("layer2.0.downsample.0.weight"));
            assertFalse(keys.stream().anyMatch(k -> k.startsWith("layer2.1.downsample")));
            assertArrayEquals(new int[]{8, 32, 1, 1}, sd.get("layer2.1.conv1.weight").shape());
            assertArrayEquals(new int[]{128, 32, 1, 1}, sd.get("layer4.0.conv3.weight").shape());
            assertArrayEquals(new int[]{5, 128}, sd.get("attnpool.positional_embedding").shape());
            assertArrayEquals(new int[]{6, 128}, sd.get("attnpool.c_proj.weight").shape());
            assertEquals("attnpool.c_proj.bias", keys.get(keys.size() - 1));
            // CLIP's initialisation: each block starts as its shortcut
            for (String k : keys) {
                if (k.matches("layer\\d\\.\\d+\\.bn3\\.weight")) for (double v : sd.get(k).toDoubleArray()) assertEquals(0, v);
            }
            assertNotEquals(0, sd.get("bn3.weight").toDoubleArray()[0]);
            assertEquals(128, rn.gridChannels());
        }
    }

    @Test
    void gridSizesOfTheClipVilInputs() {
        assertEquals(7, ModifiedResNet.gridSize(224));
        assertEquals(14, ModifiedResNet.gridSize(448));
        assertEquals(12, ModifiedResNet.gridSize(384));
        assertEquals(20, ModifiedResNet.gridSize(640));
        assertEquals(18, ModifiedResNet.gridSize(600));
        assertEquals(31, ModifiedResNet.gridSize(1000));
        assertEquals(9, ModifiedResNet.gridSize(288));
        assertEquals(1, ModifiedResNet.gridSize(31));
        assertEquals(0, ModifiedResNet.gridSize(30));
    }

    @Test
    void theConvStackRunsAtAnySize() {
        try (ModifiedResNet rn = tiny(); MemoryScope s = MemoryScope.open()) {
            rn.eval();
            for (int[] hw : new int[][]{{64, 64}, {96, 160}, {75, 125}}) {
                Tensor px = Creation.randn(hw[0] + hw[1], DType.F32, 1, 3, hw[0], hw[1]);
                int gh = ModifiedResNet.gridSize(hw[0]), gw = ModifiedResNet.gridSize(hw[1]);
                assertArrayEquals(new int[]{1, 128, gh, gw}, rn.forwardGrid(px).shape());
                assertArrayEquals(new int[]{1, 6}, rn.forward(px).shape());
            }
            assertThrows(ShapeException.class, () -> rn.forward(Creation.zeros(1, 3, 30, 64)));
            assertThrows(ShapeException.class, () -> rn.forward(Creation.zeros(1, 1, 64, 64)));
        }
    }

    @Test
    void clipVilVqaInputGivesAnEighteenByThirtyOneGrid() {
        try (ModifiedResNet rn = new ModifiedResNet(new int[]{1, 1, 1, 1}, 4, 1, 64, 2, new Init(4)); MemoryScope s = MemoryScope.open()) {
            rn.eval();
            assertArrayEquals(new int[]{1, 64, 18, 31}, rn.forwardGrid(Creation.randn(1, DType.F32, 1, 3, 600, 1000)).shape());
            assertArrayEquals(new int[]{1, 64, 12, 20}, rn.forwardGrid(Creation.randn(2, DType.F32, 1, 3, 384, 640)).shape());
            assertArrayEquals(new int[]{1, 64, 14, 14}, rn.forwardGrid(Creation.randn(3, DType.F32, 1, 3, 448, 448)).shape());
        }
    }

    @Test
    void batchNormStatisticsAreFrozenUnlessReleased() {
        try (ModifiedResNet rn = tiny(); MemoryScope s = MemoryScope.open()) {
            rn.train();
            Tensor px = Creation.randn(9, DType.F32, 2, 3, 64, 64);
            double[] trainOut = rn.forward(px).toDoubleArray();
            BatchNorm2d bn1 = (BatchNorm2d) rn.child("bn1");
            assertEquals(0, bn1.numBatchesTracked());
            assertArrayEquals(new double[]{0, 0}, bn1.runningMean().toDoubleArray());
            rn.eval();
            assertArrayEquals(rn.forward(px).toDoubleArray(), trainOut, 0);
            int bns = 0;
            for (Module m : rn.namedModules().values()) if (m instanceof BatchNorm2d b) { assertTrue(b.isFrozen()); bns++; }
            assertEquals(3 + 3 * 5 + 4, bns);
            rn.setBatchNormFrozen(false).train();
            rn.forward(px);
            assertEquals(1, bn1.numBatchesTracked());
            assertNotEquals(0, bn1.runningMean().toDoubleArray()[0]);
        }
    }
}
