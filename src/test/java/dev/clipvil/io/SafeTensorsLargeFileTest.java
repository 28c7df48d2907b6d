package dev.clipvil.io;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files over 2 GiB, without writing 2 GiB: a sparse file whose header describes a padding tensor of
 * more than 2 GiB, followed by a small tensor whose bytes sit past the 2 GiB mark.
 */
class SafeTensorsLargeFileTest {
    private static final long PAD = (1L << 31) + 8;

    @TempDir
    Path dir;

    @Test
    void tensorBeyondTwoGiBReadsCorrectly() throws IOException {
        String header = "{\"pad\":{\"dtype\":\"BOOL\",\"shape\":[" + PAD + "],\"data_offsets\":[0," + PAD + "]},"
                + "\"small\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + PAD + "," + (PAD + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        Path f = dir.resolve("big.safetensors");
        if (Files.getFileStore(dir).getUsableSpace() < (64L << 20)) skip("less than 64 MiB free in " + dir);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(dataStart + PAD + 16);
            ByteBuffer b = ByteBuffer.allocate((int) dataStart).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(h.length).put(h);
            raf.write(b.array());
            ByteBuffer s = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            s.putFloat(1.5f).putFloat(-2f).putFloat(Float.MAX_VALUE).putFloat(7e-30f);
            raf.seek(dataStart + PAD);
            raf.write(s.array());
        } catch (IOException e) {
            Files.deleteIfExists(f);
            skip("the filesystem refused a sparse file of " + (dataStart + PAD + 16) + " bytes: " + e);
        }
        long allocated = allocatedBytes(f);
        if (allocated > (64L << 20)) {
            Files.delete(f);
            skip("the filesystem of " + dir + " does not make sparse files (" + allocated + " bytes allocated)");
        }
        assertTrue(Files.size(f) > (1L << 31));
        try (SafeTensorsFile sf = SafeTensors.open(f)) {
            assertEquals(PAD, sf.info("pad").byteLength());
            assertTrue(sf.info("small").begin() > Integer.MAX_VALUE);
            float[] expect = {1.5f, -2f, Float.MAX_VALUE, 7e-30f};
            try (Tensor t = sf.tensor("small")) {
                assertArrayEquals(new int[] {2, 2}, t.shape());
                assertArrayEquals(expect, t.toFloatArray());
            }
            try (Tensor t = sf.tensor("small", 4)) {
                assertArrayEquals(expect, t.toFloatArray());
            }
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> sf.tensor("pad"));
            assertTrue(e.getMessage().contains("tensor 'pad' of shape [" + PAD + "] is too large to load"), e.getMessage());
        }
    }

    private static void skip(String reason) {
        System.out.println("SKIPPED SafeTensorsLargeFileTest: " + reason);
        Assumptions.abort(reason);
    }

    /** Bytes the file occupies on disk per stat(1), or -1 when that cannot be told. */
    private static long allocatedBytes(Path f) {
        try {
            Process p = new ProcessBuilder("stat", "-c", "%b %B", f.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) return -1;
            String[] parts = out.split("\\s+");
            return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
        } catch (IOException | NumberFormatException | ArrayIndexOutOfBoundsException e) {
            System.out.println("SafeTensorsLargeFileTest: cannot tell whether the file is sparse (" + e + "); going on");
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }
}
