package dev.clipvil.io;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Storage;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A failed save keeps the previous file intact and leaves no temporary file behind. */
class SafeTensorsWriteFailureTest {
    @TempDir
    Path dir;

    private Path target;
    private byte[] previous;

    @BeforeEach
    void writePreviousFile() throws IOException {
        target = dir.resolve("model.safetensors");
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("old", Tensor.of(new float[] {1, 2, 3}, 3));
        SafeTensors.write(target, m, Map.of("v", "1"));
        m.get("old").close();
        previous = Files.readAllBytes(target);
    }

    private void assertPreviousFileIntact() throws IOException {
        assertArrayEquals(previous, Files.readAllBytes(target));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(target), files.toList(), "no temporary file left behind");
        }
    }

    /** A tensor on a device whose memory cannot be read back: fails in the middle of the write. */
    private static Tensor unreadable() {
        Storage s = new Storage(DType.F32, 4, Device.cuda(0)) {
            @Override
            public HostStorage host() { throw new IllegalStateException("device lost"); }

            @Override
            protected void free() {}
        };
        return Tensor.wrap(s, new int[] {4}, new int[] {1}, 0);
    }

    @Test
    void failureMidWriteKeepsTheOldFile() throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("big", Tensor.empty(DType.F32, 1 << 19)); // 2 MiB reach the temporary file before the failure
        m.put("bad", unreadable());
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.write(target, m, null));
        m.values().forEach(Tensor::close);
        assertTrue(e.getMessage().startsWith(target + ": writing failed, the previous file (if any) is kept"), e.getMessage());
        assertTrue(e.getMessage().contains("device lost"), e.getMessage());
        assertPreviousFileIntact();
    }

    @Test
    void closedTensorIsRefusedBeforeTouchingTheDisk() throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("ok", Tensor.of(new float[] {1}, 1));
        Tensor closed = Tensor.of(new float[] {2}, 1);
        closed.close();
        m.put("gone", closed);
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.write(target, m, null));
        m.get("ok").close();
        assertEquals(target + ": cannot write tensor 'gone': it is closed", e.getMessage());
        assertPreviousFileIntact();
    }

    @Test
    void nullsAndReservedNamesAreRefused() throws IOException {
        Map<String, Tensor> m = new HashMap<>();
        m.put("x", null);
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.write(target, m, null));
        assertTrue(e.getMessage().contains("tensor 'x': it is null"), e.getMessage());
        m.clear();
        try (Tensor t = Tensor.of(new float[] {1}, 1)) {
            m.put("__metadata__", t);
            e = assertThrows(SafeTensorsException.class, () -> SafeTensors.write(target, m, null));
            assertTrue(e.getMessage().contains("cannot write a tensor named __metadata__"), e.getMessage());
            Map<String, String> meta = new HashMap<>();
            meta.put("k", null);
            Map<String, Tensor> ok = Map.of("t", t);
            e = assertThrows(SafeTensorsException.class, () -> SafeTensors.write(target, ok, meta));
            assertTrue(e.getMessage().contains("null key or value"), e.getMessage());
        }
        assertPreviousFileIntact();
    }

    @Test
    void missingDirectoryIsReported() throws IOException {
        Path f = dir.resolve("no/such/dir/x.safetensors");
        try (Tensor t = Tensor.of(new float[] {1}, 1)) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.write(f, Map.of("t", t), null));
            assertEquals(f + ": cannot write: the directory " + f.getParent() + " does not exist", e.getMessage());
        }
        assertPreviousFileIntact();
    }
}
