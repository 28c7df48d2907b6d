package dev.clipvil.backend.cuda;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Losses;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.LinkedHashMap;
import java.util.Map;

import static dev.clipvil.backend.cuda.GpuParity.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 500 training steps of a small MLP on the GPU: device bytes in use are the same after step 10 and step 500. */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaLeakTest {
    private static Tensor param(long seed, int... shape) {
        try (Tensor c = Tensor.empty(DType.F32, shape)) {
            cpu().fillNormal(c, 0, 0.1, seed);
            return MemoryScope.detach(Creation.to(c, GPU)).requiresGrad(true);
        }
    }

    @Test
    void trainingStepsDoNotLeakDeviceMemory() {
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("w1", param(1, 64, 32));
        params.put("b1", param(2, 64));
        params.put("w2", param(3, 10, 64));
        params.put("b2", param(4, 10));
        AdamW opt = new AdamW(params, 1e-2);
        Tensor x, y;
        try (Tensor xc = Tensor.empty(DType.F32, 16, 32)) {
            cpu().fillNormal(xc, 0, 1, 5);
            x = MemoryScope.detach(Creation.to(xc, GPU));
        }
        long[] labels = new long[16];
        for (int i = 0; i < 16; i++) labels[i] = i % 10;
        try (Tensor yc = Tensor.ofLongs(labels, 16)) {
            y = MemoryScope.detach(Creation.to(yc, GPU));
        }
        long at10 = 0;
        double first = 0, last = 0;
        for (int step = 1; step <= 500; step++) {
            try (MemoryScope scope = MemoryScope.open()) {
                Tensor h = Elementwise.relu(Linear.linear(x, params.get("w1"), params.get("b1")));
                Tensor logits = Linear.linear(h, params.get("w2"), params.get("b2"));
                Tensor loss = Losses.crossEntropy(logits, y);
                if (step == 1) first = loss.item();
                last = loss.item();
                Autograd.backward(loss);
                opt.step();
                opt.zeroGrad();
            }
            if (step == 10) at10 = gpu().memoryStats().inUseBytes();
        }
        long at500 = gpu().memoryStats().inUseBytes();
        System.out.printf("leak test: in use %d bytes after step 10, %d after step 500; loss %.4f -> %.4f; %s%n", at10, at500, first, last,
                gpu().memoryStats());
        assertEquals(at10, at500, "device bytes in use grew between step 10 and step 500");
        assertTrue(last < first, "the MLP should learn: " + first + " -> " + last);
        close(x, y);
        for (Tensor p : params.values()) p.close();
        assertEquals(Device.cuda(0), GPU);
    }
}
