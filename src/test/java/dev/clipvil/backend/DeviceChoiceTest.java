package dev.clipvil.backend;

import dev.clipvil.backend.cuda.CudaRuntime;
import dev.clipvil.tensor.Device;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeviceChoiceTest {
    private static final CudaRuntime.Availability NONE = new CudaRuntime.Availability(false, 0, "no NVIDIA driver found (no /dev/nvidiactl)", List.of());
    private static final CudaRuntime.Availability ONE = new CudaRuntime.Availability(true, 1, "", List.of());

    @BeforeEach
    void reset() { DeviceChoice.resetNotice(); }

    @Test
    void withoutAGpuTheDefaultIsTheCpuWithOneNotice() {
        List<String> notes = new ArrayList<>();
        assertEquals(Device.CPU, DeviceChoice.resolve(null, NONE, notes::add, false));
        assertEquals(Device.CPU, DeviceChoice.resolve("auto", NONE, notes::add, false));
        assertEquals(List.of("no GPU: running on the CPU (no NVIDIA driver found (no /dev/nvidiactl))"), notes);
        assertEquals(Device.CPU, DeviceChoice.resolve("cpu", NONE, notes::add, false));
    }

    @Test
    void askingForCudaWithoutAGpuSaysWhy() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.resolve("cuda", NONE, m -> {}, false));
        assertTrue(e.getMessage().startsWith("--device cuda: no usable GPU (no NVIDIA driver found"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DeviceChoice.resolve("gpu", NONE, m -> {}, false));
    }

    @Test
    void withAGpuTheDefaultIsCuda0() {
        List<String> notes = new ArrayList<>();
        assertEquals(Device.cuda(0), DeviceChoice.resolve(null, ONE, notes::add, false));
        assertEquals(Device.cuda(0), DeviceChoice.resolve("cuda:0", ONE, notes::add, false));
        assertEquals(Device.CPU, DeviceChoice.resolve("CPU", ONE, notes::add, false));
        assertTrue(notes.isEmpty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.resolve("cuda:1", ONE, m -> {}, false));
        assertEquals("--device cuda:1: no such GPU (1 CUDA device)", e.getMessage());
    }
}
