package dev.clipvil.io;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Every malformed file fails with a SafeTensorsException naming the file and the fault. */
class SafeTensorsCorruptionTest {
    @TempDir
    Path dir;

    private int count;

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    /** Writes {@code bytes}, opens and reads everything, and returns the failure's message. */
    private String failure(byte[] bytes, String... expectedFragments) throws IOException {
        Path f = RawSafeTensors.write(dir.resolve("bad" + (count++) + ".safetensors"), bytes);
        long before = HostMemory.get().inUseBytes();
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.readAll(f).values().forEach(Tensor::close));
        assertEquals(before, HostMemory.get().inUseBytes(), "a failed load frees what it allocated");
        String msg = e.getMessage();
        assertTrue(msg.startsWith(f.toString() + ": "), "names the file: " + msg);
        assertEquals(f, e.file());
        for (String frag : expectedFragments) assertTrue(msg.contains(frag), "'" + frag + "' in: " + msg);
        return msg;
    }

    private String failure(String header, byte[] data, String... expectedFragments) throws IOException {
        return failure(RawSafeTensors.bytes(header, data), expectedFragments);
    }

    @Test
    void fileShorterThanEightBytes() throws IOException {
        failure(new byte[] {1, 0, 0}, "3 bytes", "shorter than the 8-byte header length");
        failure(new byte[0], "0 bytes");
    }

    @Test
    void headerLengthLargerThanTheFile() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        failure(RawSafeTensors.bytes(50, h, new byte[0]), "header length 50 is larger than the file (10 bytes)");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        failure(RawSafeTensors.bytes(200_000_000L, h, new byte[0]), "header length 200000000 is absurd");
        failure(RawSafeTensors.bytes(-1L, h, new byte[0]), "header length 18446744073709551615 is absurd");
    }

    @Test
    void headerNotUtf8() throws IOException {
        byte[] h = "{\"a\u00ff\":{}}".getBytes(StandardCharsets.ISO_8859_1); // a lone 0xFF byte
        failure(RawSafeTensors.bytes(h.length, h, new byte[0]), "not valid UTF-8");
    }

    @Test
    void headerNotJsonOrNotAnObject() throws IOException {
        assertEquals("header is not valid JSON: End of input at line 1 column 7",
                failure("{\"a\": ", new byte[0]).replaceFirst(".*?: ", ""));
        failure("{a:1}", new byte[0], "not valid JSON");
        failure("[1, 2]", new byte[0], "not a JSON object");
        failure("\"text\"", new byte[0], "not a JSON object");
        failure("{} {}", new byte[0], "not valid JSON: malformed JSON at line 1 column 5");
        failure("{}\n ]", new byte[0], "not valid JSON");
        failure("{\"x\": 5}", new byte[0], "tensor 'x': entry is not a JSON object");
        failure("{\"__metadata__\": {\"k\": 1}}", new byte[0], "__metadata__ value of 'k' is not a string");
        failure("{\"__metadata__\": [1]}", new byte[0], "__metadata__ is not a JSON object");
    }

    @Test
    void duplicateKeys() throws IOException {
        String e = entry("w", "F32", "[1]", 0, 4);
        failure("{" + e + "," + e + "}", new byte[4], "key 'w' twice");
    }

    @Test
    void missingFields() throws IOException {
        failure("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4], "tensor 'w': missing 'dtype'");
        failure("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", new byte[4], "tensor 'w': missing 'shape'");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4], "tensor 'w': missing 'data_offsets'");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", new byte[4], "must be [begin, end]");
        failure("{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4], "'dtype' is not a string");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4], "negative");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", new byte[4], "not a 64-bit integer");
        failure("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", new byte[4], "non-number");
        failure("{\"w\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4], "unknown dtype 'Q9'");
    }

    @Test
    void sizeDoesNotMatchShape() throws IOException {
        failure("{" + entry("w", "F32", "[2,2]", 0, 12) + "}", new byte[12], "tensor 'w'", "needs 16 bytes", "hold 12");
        failure("{" + entry("w", "F32", "[4611686018427387904,4]", 0, 16) + "}", new byte[16], "too large");
    }

    @Test
    void offsetsOutOfRangeOrTruncated() throws IOException {
        failure("{" + entry("w", "F32", "[4]", 0, 16) + "}", new byte[8], "tensor 'w'", "reach past the end of the data section (8 bytes)", "truncated");
    }

    @Test
    void offsetsDecreasing() throws IOException {
        failure("{" + entry("w", "F32", "[1]", 8, 4) + "}", new byte[8], "data_offsets [8, 4] decrease");
    }

    @Test
    void offsetsOverlapping() throws IOException {
        failure("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", new byte[12], "'a' [0, 8] and 'b' [4, 12] overlap");
    }

    @Test
    void offsetsWithAGap() throws IOException {
        failure("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", new byte[12], "data bytes [4, 8) belong to no tensor");
        failure("{" + entry("b", "F32", "[1]", 4, 8) + "}", new byte[8], "data bytes [0, 4) belong to no tensor");
    }

    @Test
    void trailingBytes() throws IOException {
        failure("{" + entry("a", "F32", "[1]", 0, 4) + "}", new byte[12], "12 bytes but the tensors cover only 4");
        failure("{}", new byte[3], "3 bytes but the tensors cover only 0");
    }

    @Test
    void unsupportedDTypeIsInspectableButNotLoadable() throws IOException {
        Path f = RawSafeTensors.write(dir.resolve("u8.safetensors"), "{" + entry("img", "U8", "[2,3]", 0, 6) + "," + entry("q", "F8_E4M3", "[2]", 6, 8) + "}", new byte[8]);
        try (SafeTensorsFile sf = SafeTensors.open(f)) {
            assertEquals(6, sf.info("img").byteLength());
            assertTrue(sf.info("img").engineDType().isEmpty());
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> sf.tensor("img"));
            assertTrue(e.getMessage().startsWith(f + ": tensor 'img' has dtype U8, which clipvil cannot load"), e.getMessage());
            e = assertThrows(SafeTensorsException.class, () -> sf.tensor("q"));
            assertTrue(e.getMessage().contains("'q' has dtype F8_E4M3"), e.getMessage());
            e = assertThrows(SafeTensorsException.class, () -> sf.tensor("nope"));
            assertTrue(e.getMessage().contains("no tensor named 'nope'"), e.getMessage());
        }
        failure(Files.readAllBytes(f), "'img' has dtype U8");
        // sub-byte dtypes must fill whole bytes
        failure("{" + entry("f4", "F4", "[3]", 0, 2) + "}", new byte[2], "not a whole number of bytes");
    }

    @Test
    void boolBytesMustBeZeroOrOne() throws IOException {
        failure("{" + entry("m", "BOOL", "[3]", 0, 3) + "}", new byte[] {0, 1, 2}, "BOOL tensor 'm' holds the byte 2 at element 2");
    }

    @Test
    void missingFileAndDirectory() throws IOException {
        Path missing = dir.resolve("missing.safetensors");
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(missing));
        assertEquals(missing + ": no such file", e.getMessage());
        e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(dir));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }

    @Test
    void readingAfterCloseFailsClearly() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("w", Tensor.of(new float[] {1}, 1));
        Path f = dir.resolve("closed.safetensors");
        SafeTensors.write(f, in);
        in.get("w").close();
        SafeTensorsFile sf = SafeTensors.open(f);
        sf.close();
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> sf.tensor("w"));
        assertTrue(e.getMessage().contains("file is closed"), e.getMessage());
    }

    /** Random byte damage to a valid file: either it still loads, or it fails with a SafeTensorsException. */
    @Test
    void randomDamageNeverCrashes() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("a", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        in.put("m", Tensor.ofBools(new boolean[] {true, false}, 2));
        in.put("i", Tensor.ofLongs(new long[] {7, 8}, 2));
        in.put("h", Tensor.scalar(DType.BF16, 1.5));
        Path good = dir.resolve("good.safetensors");
        SafeTensors.write(good, in, Map.of("format", "pt"));
        in.values().forEach(Tensor::close);
        byte[] original = Files.readAllBytes(good);
        Random rnd = new Random(42);
        Path f = dir.resolve("damaged.safetensors");
        for (int trial = 0; trial < 400; trial++) {
            byte[] b = original.clone();
            int kind = trial % 3;
            if (kind == 0) {
                for (int k = 0; k < 1 + rnd.nextInt(3); k++) b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
            } else if (kind == 1) {
                b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            } else {
                b[8 + rnd.nextInt(b.length - 8)] = (byte) "{}[],:\"0123456789-. ".charAt(rnd.nextInt(20));
            }
            Files.write(f, b);
            try {
                SafeTensors.readAll(f).values().forEach(Tensor::close);
            } catch (SafeTensorsException e) {
                assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
            } catch (RuntimeException | IOException e) {
                fail("trial " + trial + " crashed with " + e, e);
            }
        }
    }
}
