package dev.clipvil.io;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsRoundTripTest {
    @TempDir
    Path dir;

    private static Tensor halves(DType dtype, short[] words, int... shape) {
        Tensor t = Tensor.empty(dtype, shape);
        System.arraycopy(words, 0, t.hostStorage().halves(), 0, words.length);
        return t;
    }

    private static void closeAll(Map<String, Tensor> m) {
        m.values().forEach(Tensor::close);
    }

    @Test
    void everyDTypeRoundTripsBitForBit() throws IOException {
        short[] all16 = new short[65536];
        for (int i = 0; i < all16.length; i++) all16[i] = (short) i;
        float nanPayload = Float.intBitsToFloat(0x7fa00001);
        double dNanPayload = Double.longBitsToDouble(0x7ff0000000000123L);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("f32", Tensor.of(new float[] {0f, -0f, 1.5f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY, nanPayload, -3.25e-20f}, 2, 4));
        in.put("f64", Tensor.of(new double[] {0, -0.0, Math.PI, Double.MIN_VALUE, Double.NEGATIVE_INFINITY, dNanPayload}, 3, 2));
        in.put("bf16", halves(DType.BF16, all16, 256, 256));
        in.put("f16", halves(DType.F16, all16, 65536));
        in.put("i32", Tensor.ofInts(new int[] {Integer.MIN_VALUE, -1, 0, 1, Integer.MAX_VALUE}, 5));
        in.put("i64", Tensor.ofLongs(new long[] {Long.MIN_VALUE, -1, 0, 1L << 40, Long.MAX_VALUE, 7}, 2, 3));
        in.put("bool", Tensor.ofBools(new boolean[] {true, false, false, true, true}, 5));
        Path f = dir.resolve("all.safetensors");
        SafeTensors.write(f, in, null);
        Map<String, Tensor> out = SafeTensors.readAll(f);
        try {
            assertEquals(List.copyOf(in.keySet()), List.copyOf(out.keySet()));
            for (String k : in.keySet()) {
                Tensor a = in.get(k), b = out.get(k);
                assertEquals(a.dtype(), b.dtype(), k);
                assertArrayEquals(a.shape(), b.shape(), k);
            }
            assertArrayEquals(bits(in.get("f32")), bits(out.get("f32")));
            assertArrayEquals(bits64(in.get("f64")), bits64(out.get("f64")));
            assertArrayEquals(all16, out.get("bf16").hostStorage().halves());
            assertArrayEquals(all16, out.get("f16").hostStorage().halves());
            assertArrayEquals(in.get("i32").hostStorage().i32(), out.get("i32").hostStorage().i32());
            assertArrayEquals(in.get("i64").hostStorage().i64(), out.get("i64").hostStorage().i64());
            assertArrayEquals(in.get("bool").hostStorage().bool(), out.get("bool").hostStorage().bool());
        } finally {
            closeAll(in);
            closeAll(out);
        }
    }

    private static int[] bits(Tensor t) {
        float[] a = t.hostStorage().f32();
        int[] b = new int[t.numel()];
        for (int i = 0; i < b.length; i++) b[i] = Float.floatToRawIntBits(a[t.offset() + i]);
        return b;
    }

    private static long[] bits64(Tensor t) {
        double[] a = t.hostStorage().f64();
        long[] b = new long[t.numel()];
        for (int i = 0; i < b.length; i++) b[i] = Double.doubleToRawLongBits(a[t.offset() + i]);
        return b;
    }

    @Test
    void fileLayoutFollowsTheFormat() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("z", Tensor.of(new float[] {1, 2, 3}, 3));
        in.put("a", Tensor.ofInts(new int[] {0x01020304}, 1));
        Path f = dir.resolve("layout.safetensors");
        SafeTensors.write(f, in, Map.of("format", "pt"));
        closeAll(in);
        byte[] b = Files.readAllBytes(f);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long n = bb.getLong(0);
        assertEquals(0, (8 + n) % 8, "data section starts 8-byte aligned");
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"z\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                + "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[12,16]}}", header.stripTrailing());
        assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '), "padding is spaces");
        assertEquals(8 + n + 16, b.length);
        assertEquals(1.0f, bb.getFloat((int) (8 + n)));
        assertEquals(0x04, b[(int) (8 + n + 12)], "little-endian");
    }

    @Test
    void headerOrderIsTheMapsOrder() throws IOException {
        Map<String, Tensor> sorted = new TreeMap<>();
        sorted.put("b", Tensor.of(new float[] {1}, 1));
        sorted.put("a", Tensor.of(new float[] {2}, 1));
        sorted.put("c", Tensor.of(new float[] {3}, 1));
        Path f = dir.resolve("order.safetensors");
        SafeTensors.write(f, sorted);
        closeAll(sorted);
        try (SafeTensorsFile sf = SafeTensors.open(f)) {
            assertEquals(List.of("a", "b", "c"), sf.names());
            assertEquals(0, sf.info("a").begin());
            assertEquals(new TensorInfo("c", "F32", new long[] {1}, 8, 12), sf.info("c"));
        }
    }

    @Test
    void scalarsAndEmptyTensors() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("scalar", Tensor.scalar(DType.F32, 2.5));
        in.put("empty", Tensor.empty(DType.F32, 0, 3));
        in.put("emptyBool", Tensor.empty(DType.BOOL, 0));
        in.put("scalarI64", Tensor.scalar(DType.I64, -9));
        Path f = dir.resolve("edge.safetensors");
        SafeTensors.write(f, in);
        closeAll(in);
        Map<String, Tensor> out = SafeTensors.readAll(f);
        try (SafeTensorsFile sf = SafeTensors.open(f)) {
            assertEquals(0, sf.info("empty").byteLength());
            assertEquals(0, sf.info("scalar").rank());
            assertEquals(Map.of(), sf.metadata());
        }
        try {
            assertEquals(0, out.get("scalar").dim());
            assertEquals(2.5, out.get("scalar").item());
            assertArrayEquals(new int[] {0, 3}, out.get("empty").shape());
            assertArrayEquals(new int[] {0}, out.get("emptyBool").shape());
            assertEquals(-9, out.get("scalarI64").toLongArray()[0]);
        } finally {
            closeAll(out);
        }
    }

    @Test
    void onlyEmptyTensorsAndNoTensorsAtAll() throws IOException {
        Path f = dir.resolve("none.safetensors");
        SafeTensors.write(f, Map.of(), Map.of("k", "v"));
        try (SafeTensorsFile sf = SafeTensors.open(f)) {
            assertTrue(sf.names().isEmpty());
            assertEquals(Map.of("k", "v"), sf.metadata());
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("e", Tensor.empty(DType.I32, 4, 0));
        SafeTensors.write(f, in);
        closeAll(in);
        Map<String, Tensor> out = SafeTensors.readAll(f);
        assertArrayEquals(new int[] {4, 0}, out.get("e").shape());
        closeAll(out);
    }

    @Test
    void nonContiguousInputsAreWrittenInLogicalOrder() throws IOException {
        float[] base = new float[24];
        for (int i = 0; i < base.length; i++) base[i] = i;
        Tensor m = Tensor.of(base, 4, 6);
        short[] words = new short[12];
        for (int i = 0; i < words.length; i++) words[i] = (short) (0x8000 + i * 0x111);
        Tensor h = halves(DType.BF16, words, 3, 4);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("transposed", m.asStrided(new int[] {6, 4}, new int[] {1, 6}, 0));
        in.put("narrowed", m.asStrided(new int[] {2, 3}, new int[] {6, 2}, 7)); // rows 1..2, columns 1,3,5
        in.put("expanded", m.asStrided(new int[] {3, 2}, new int[] {0, 1}, 4));  // a row repeated
        in.put("bf16T", h.asStrided(new int[] {4, 3}, new int[] {1, 4}, 0));
        in.put("rank3", m.asStrided(new int[] {2, 2, 3}, new int[] {12, 1, 2}, 0));
        Path f = dir.resolve("strided.safetensors");
        SafeTensors.write(f, in, Map.of());
        Map<String, Tensor> out = SafeTensors.readAll(f);
        try {
            for (String k : List.of("transposed", "narrowed", "expanded", "rank3")) {
                assertArrayEquals(in.get(k).toFloatArray(), out.get(k).toFloatArray(), k);
                assertArrayEquals(in.get(k).shape(), out.get(k).shape(), k);
            }
            assertArrayEquals(new float[] {7, 9, 11, 13, 15, 17}, out.get("narrowed").toFloatArray());
            short[] expect = new short[12];
            for (int r = 0; r < 4; r++) for (int c = 0; c < 3; c++) expect[r * 3 + c] = words[c * 4 + r];
            assertArrayEquals(expect, out.get("bf16T").hostStorage().halves());
        } finally {
            closeAll(in);
            closeAll(out);
            m.close();
            h.close();
        }
    }

    @Test
    void metadataRoundTrips() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "quotes \" backslash \\ newline \n unicode é 日本 \u2028");
        meta.put("", "empty key");
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("名前 with spaces", Tensor.of(new float[] {1}, 1));
        Path f = dir.resolve("meta.safetensors");
        SafeTensors.write(f, in, meta);
        closeAll(in);
        try (SafeTensorsFile sf = SafeTensors.open(f)) {
            assertEquals(meta, sf.metadata());
            assertEquals(List.of("名前 with spaces"), sf.names());
            try (Tensor t = sf.tensor("名前 with spaces")) {
                assertEquals(1.0, t.item());
            }
        }
    }

    @Test
    void smallWindowsReadTheSameElements() throws IOException {
        double[] d = new double[101];
        for (int i = 0; i < d.length; i++) d[i] = Math.sin(i);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("odd", Tensor.ofBools(new boolean[] {true, false, true}, 3)); // puts the next tensor off 8-byte alignment
        in.put("d", Tensor.of(d, 101));
        Path f = dir.resolve("windows.safetensors");
        SafeTensors.write(f, in);
        closeAll(in);
        try (SafeTensorsFile sf = SafeTensors.open(f)) {
            for (long w : new long[] {1, 8, 24, 100, 1 << 20}) {
                try (Tensor t = sf.tensor("d", w)) {
                    assertArrayEquals(d, t.toDoubleArray(), "window " + w);
                }
            }
        }
    }

    @Test
    void overwritingReplacesTheFile() throws IOException {
        Path f = dir.resolve("over.safetensors");
        Map<String, Tensor> a = new LinkedHashMap<>();
        a.put("x", Tensor.of(new float[] {1, 2}, 2));
        SafeTensors.write(f, a);
        a.get("x").hostStorage().f32()[0] = 5;
        SafeTensors.write(f, a);
        closeAll(a);
        Map<String, Tensor> out = SafeTensors.readAll(f);
        assertArrayEquals(new float[] {5, 2}, out.get("x").toFloatArray());
        closeAll(out);
        try (var files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary left behind");
        }
    }

    @Test
    void readAllReturnsFileOrderAndTheFileIsReadable() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (String k : new String[] {"q", "b", "x", "a"}) in.put(k, Tensor.of(new float[] {k.charAt(0)}, 1));
        Path f = dir.resolve("o.safetensors");
        SafeTensors.write(f, in);
        closeAll(in);
        Map<String, Tensor> out = SafeTensors.readAll(f);
        assertEquals(List.of("q", "b", "x", "a"), List.copyOf(out.keySet()));
        assertFalse(out.get("a").isClosed());
        assertEquals((double) 'a', out.get("a").item());
        closeAll(out);
        assertTrue(Arrays.stream(new String[] {"q"}).allMatch(out::containsKey));
    }
}
