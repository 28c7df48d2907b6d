package dev.clipvil.io.torch;

import dev.clipvil.io.CheckpointException;
import dev.clipvil.io.CheckpointFormat;
import dev.clipvil.io.Checkpoints;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HalfFloats;
import dev.clipvil.tensor.HostMemory;
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
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** torch.save and TorchScript zips written by the test: views, byte order, wrappers, module trees and every fault. */
class TorchCheckpointTest {
    @TempDir
    Path dir;

    private static final float[] TWELVE = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

    private Path zip(String name, TorchZips z) throws IOException {
        return z.write(dir.resolve(name));
    }

    /** An OrderedDict state dict of the given (name, tensor pickle writer) entries. */
    private static PickleBytes stateDict() {
        return new PickleBytes().proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark();
    }

    private static Map<String, Tensor> read(Path f) throws IOException {
        return TorchCheckpoint.readStateDict(f);
    }

    private static void closeAll(Map<String, Tensor> m) {
        m.values().forEach(Tensor::close);
    }

    /** The failure's message, which must name the file and contain every fragment; memory is freed. */
    private static String failure(Path f, String... fragments) {
        long before = HostMemory.get().inUseBytes();
        CheckpointException e = assertThrows(CheckpointException.class, () -> closeAll(Checkpoints.readStateDict(f)));
        assertEquals(before, HostMemory.get().inUseBytes(), "a failed load frees what it allocated");
        assertTrue(e.getMessage().startsWith(f + ": "), "names the file: " + e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void viewsOfOneSharedStorageBecomeContiguousTensors() throws IOException {
        byte[] pkl = stateDict()
                .str("whole").tensor("FloatStorage", "0", 12, 0, new long[] {3, 4}, new long[] {4, 1})
                .str("transposed").tensor("FloatStorage", "0", 12, 0, new long[] {4, 3}, new long[] {1, 4})
                .str("rows").tensor("FloatStorage", "0", 12, 4, new long[] {2, 4}, new long[] {4, 1})
                .str("column").tensor("FloatStorage", "0", 12, 1, new long[] {3}, new long[] {4})
                .str("scalar").tensor("FloatStorage", "0", 12, 11, new long[] {}, new long[] {})
                .str("steps").tensor("LongStorage", "1", 2, 0, new long[] {2}, new long[] {1})
                .setItems().stop().bytes();
        Path f = zip("views.pt", new TorchZips("views", pkl).put("data/0", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, TWELVE))
                .put("data/1", TorchZips.longs(5, -1L << 40)));
        long before = HostMemory.get().inUseBytes();
        Map<String, Tensor> m = read(f);
        try {
            assertEquals(List.of("whole", "transposed", "rows", "column", "scalar", "steps"), List.copyOf(m.keySet()));
            assertArrayEquals(TWELVE, m.get("whole").toFloatArray());
            assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, m.get("transposed").toFloatArray());
            assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9, 10, 11}, m.get("rows").toFloatArray());
            assertArrayEquals(new float[] {1, 5, 9}, m.get("column").toFloatArray());
            assertEquals(11, m.get("scalar").item());
            assertEquals(0, m.get("scalar").dim());
            assertArrayEquals(new long[] {5, -1L << 40}, m.get("steps").toLongArray());
            assertEquals(DType.I64, m.get("steps").dtype());
            for (Map.Entry<String, Tensor> e : m.entrySet()) {
                Tensor t = e.getValue();
                assertTrue(t.isContiguous() && t.offset() == 0 && t.storage().numel() == t.numel(), e.getKey() + " owns a compact storage");
            }
        } finally {
            closeAll(m);
        }
        assertEquals(before, HostMemory.get().inUseBytes());
    }

    @Test
    void bigEndianArchivesAndHalfBoolIntStorages() throws IOException {
        short h = HalfFloats.floatToF16(-2.5f), bf = HalfFloats.floatToBf16(3.25f);
        byte[] pkl = stateDict()
                .str("f").tensor("FloatStorage", "0", 3, 0, new long[] {3}, new long[] {1})
                .str("h").tensor("HalfStorage", "1", 1, 0, new long[] {1}, new long[] {1})
                .str("bf").tensor("BFloat16Storage", "2", 1, 0, new long[] {1}, new long[] {1})
                .str("mask").tensor("BoolStorage", "3", 2, 0, new long[] {2}, new long[] {1})
                .str("ids").tensor("IntStorage", "4", 1, 0, new long[] {1}, new long[] {1})
                .str("d").tensor("DoubleStorage", "5", 1, 0, new long[] {1}, new long[] {1})
                .setItems().stop().bytes();
        Path f = zip("be.pt", new TorchZips("be", pkl).put("byteorder", "big".getBytes(StandardCharsets.US_ASCII))
                .put("data/0", TorchZips.floats(ByteOrder.BIG_ENDIAN, 1.5f, -2f, 1e-30f))
                .put("data/1", new byte[] {(byte) (h >> 8), (byte) h})
                .put("data/2", new byte[] {(byte) (bf >> 8), (byte) bf})
                .put("data/3", new byte[] {1, 0})
                .put("data/4", ByteBuffer.allocate(4).putInt(-7).array())
                .put("data/5", ByteBuffer.allocate(8).putDouble(Math.PI).array()));
        Map<String, Tensor> m = read(f);
        try {
            assertArrayEquals(new float[] {1.5f, -2f, 1e-30f}, m.get("f").toFloatArray());
            assertEquals(DType.F16, m.get("h").dtype());
            assertEquals(-2.5, m.get("h").item());
            assertEquals(DType.BF16, m.get("bf").dtype());
            assertEquals(3.25, m.get("bf").item());
            assertArrayEquals(new long[] {1, 0}, m.get("mask").toLongArray());
            assertEquals(DType.BOOL, m.get("mask").dtype());
            assertArrayEquals(new long[] {-7}, m.get("ids").toLongArray());
            assertEquals(Math.PI, m.get("d").item());
        } finally {
            closeAll(m);
        }
    }

    @Test
    void unwrapsStateDictAndModelWrappersAndSkipsNonTensors() throws IOException {
        // {'epoch': 3, 'model': {'state_dict': OrderedDict(w=..., note='x')}, 'optimizer': {}}
        byte[] pkl = new PickleBytes().proto(2).emptyDict().mark().str("epoch").integer(3)
                .str("model").emptyDict().mark().str("state_dict")
                .global("collections", "OrderedDict").emptyTuple().reduce().mark()
                .str("w").tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}).str("note").str("x").setItems()
                .setItems().str("optimizer").emptyDict().setItems().stop().bytes();
        Path f = zip("wrapped.pt", new TorchZips("wrapped", pkl).put("data/0", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 7, 8)));
        Map<String, Tensor> m = read(f);
        try {
            assertEquals(List.of("w"), List.copyOf(m.keySet()));
            assertArrayEquals(new float[] {7, 8}, m.get("w").toFloatArray());
        } finally {
            closeAll(m);
        }
        // a dict that wraps itself under "state_dict" (the memo allows cycles) must not loop
        byte[] cycle = new PickleBytes().proto(2).emptyDict().binPut(0).mark().str("state_dict").binGet(0).setItems().stop().bytes();
        failure(zip("cycle.pt", new TorchZips("cycle", cycle)), "holds no tensors");
        byte[] none = new PickleBytes().proto(2).emptyDict().mark().str("epoch").integer(3).setItems().stop().bytes();
        failure(zip("notensors.pt", new TorchZips("notensors", none)), "holds no tensors", "'epoch'");
    }

    /** A TorchScript module tree with class definitions: parameters, buffers, submodules, None and plain attributes. */
    @Test
    void torchScriptModuleTreeGivesStateDictNamesAndOrder() throws IOException {
        String code = "class Net(Module):\n"
                + "  __parameters__ = [\"weight\", \"bias\", ]\n  __buffers__ = [\"running\", ]\n"
                + "  weight : Tensor\n  bias : Optional[Tensor]\n  running : Tensor\n  training : bool\n  block : __torch__.model.Block\n"
                + "  def forward(self: __torch__.model.Net, x: Tensor) -> Tensor:\n    return x\n"
                + "class Block(Module):\n  __parameters__ = [\"scale\", ]\n  __buffers__ = []\n  scale : Tensor\n  cache : Tensor\n";
        PickleBytes p = new PickleBytes().proto(2).global("__torch__.model", "Net").emptyTuple().newObj().emptyDict().mark();
        p.str("block").global("__torch__.model", "Block").emptyTuple().newObj().emptyDict().mark()
                .str("scale").tensor("FloatStorage", "2", 1, 0, new long[] {1}, new long[] {1})
                .str("cache").tensor("FloatStorage", "3", 1, 0, new long[] {1}, new long[] {1})   // not a parameter or buffer
                .setItems().build();
        p.str("running").tensor("FloatStorage", "1", 2, 0, new long[] {2}, new long[] {1});
        p.str("weight").tensor("FloatStorage", "0", 4, 0, new long[] {2, 2}, new long[] {2, 1});
        p.str("bias").none().str("training").bool(false);
        p.setItems().build().stop();
        TorchZips z = new TorchZips("net", p.bytes()).put("code/__torch__/model.py", code.getBytes(StandardCharsets.UTF_8))
                .put("constants.pkl", new PickleBytes().proto(2).emptyTuple().stop().bytes())
                .put("data/0", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4))
                .put("data/1", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 5, 6))
                .put("data/2", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 7))
                .put("data/3", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 8));
        Path f = zip("net.pt", z);
        assertEquals(CheckpointFormat.TORCHSCRIPT, Checkpoints.detect(f));
        Map<String, Tensor> m = Checkpoints.readStateDict(f);
        try {
            assertEquals(List.of("weight", "running", "block.scale"), List.copyOf(m.keySet()), "parameters, buffers, then submodules");
            assertArrayEquals(new float[] {1, 2, 3, 4}, m.get("weight").toFloatArray());
            assertArrayEquals(new float[] {7}, m.get("block.scale").toFloatArray());
        } finally {
            closeAll(m);
        }
        // without the class definitions every tensor attribute counts, in pickle order
        Path bare = zip("bare.pt", z.remove("code/__torch__/model.py"));
        Map<String, Tensor> b = Checkpoints.readStateDict(bare);
        try {
            assertEquals(List.of("running", "weight", "block.scale", "block.cache"), List.copyOf(b.keySet()));
        } finally {
            closeAll(b);
        }
    }

    @Test
    void torchScriptModuleThatContainsItselfIsRefused() throws IOException {
        byte[] pkl = new PickleBytes().proto(2).global("__torch__.m", "Loop").emptyTuple().newObj().binPut(0)
                .emptyDict().mark().str("child").binGet(0).setItems().build().stop().bytes();
        failure(zip("loop.pt", new TorchZips("loop", pkl).put("constants.pkl", new byte[0])), "module 'child.' contains itself");
    }

    @Test
    void maliciousPickleInAZipIsRefusedNamingFileAndGlobal() throws IOException {
        Path marker = dir.resolve("pwned");
        byte[] pkl = new PickleBytes().proto(2).global("os", "system").str("touch " + marker).op(0x85).reduce().stop().bytes();
        Path f = zip("evil.pt", new TorchZips("evil", pkl));
        failure(f, "refusing to load global 'os.system' from evil/data.pkl", "only state-dict objects are allowed");
        assertFalse(Files.exists(marker));
        // a whole pickled nn.Module (torch.save(model)) is refused the same way
        byte[] module = new PickleBytes().proto(2).global("model", "CLIP").emptyTuple().newObj().stop().bytes();
        failure(zip("module.pt", new TorchZips("module", module)), "refusing to load global 'model.CLIP'");
    }

    @Test
    void structuralFaults() throws IOException {
        failure(Files.write(dir.resolve("random.pt"), "PK\u0003\u0004 this is no zip at all".getBytes(StandardCharsets.ISO_8859_1)),
                "not a readable zip archive");
        byte[] good = stateDict().str("w").tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1}).setItems().stop().bytes();
        Path ok = zip("ok.pt", new TorchZips("ok", good).put("data/0", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 4)));
        byte[] all = Files.readAllBytes(ok);
        failure(Files.write(dir.resolve("cut.pt"), Arrays.copyOf(all, all.length / 2)), "not a readable zip archive", "truncated");
        failure(zip("nopkl.pt", new TorchZips("nopkl", good).remove("data.pkl")), "no <archive>/data.pkl record");
        failure(zip("norecord.pt", new TorchZips("norecord", good)), "missing record 'norecord/data/0'");
        failure(zip("short.pt", new TorchZips("short", good).put("data/0", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 1, 2))),
                "record 'short/data/0' holds 8 bytes but", "needs 16", "truncated record");
        failure(zip("order.pt", new TorchZips("order", good).put("data/0", new byte[16]).put("byteorder", "middle".getBytes(StandardCharsets.US_ASCII))),
                "says 'middle'");
        // flip one stored data byte: the CRC-32 check catches it
        Path crc = zip("crc.pt", new TorchZips("crc", good).put("data/0", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 1, 2, 3, 12345.678f)));
        byte[] bytes = Files.readAllBytes(crc);
        byte[] needle = TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 12345.678f);
        int at = indexOf(bytes, needle);
        assertTrue(at > 0);
        bytes[at] ^= 1;
        failure(Files.write(crc, bytes), "record 'crc/data/0' is corrupt: CRC-32");
        // a pickle that is cut short or holds a bad opcode
        failure(zip("cutpkl.pt", new TorchZips("cutpkl", Arrays.copyOf(good, good.length - 5))), "cutpkl/data.pkl: truncated");
        failure(zip("badop.pt", new TorchZips("badop", new byte[] {(byte) 0x80, 2, (byte) 0xfe})), "badop/data.pkl: bad opcode 0xfe");
        failure(zip("list.pt", new TorchZips("list", new PickleBytes().proto(2).op(']').stop().bytes())), "holds a list, not a state dict");
    }

    @Test
    void tensorFaultsNameTheTensor() throws IOException {
        byte[] u8 = stateDict().str("ids").tensor("ByteStorage", "0", 4, 0, new long[] {4}, new long[] {1}).setItems().stop().bytes();
        failure(zip("u8.pt", new TorchZips("u8", u8).put("data/0", new byte[4])),
                "tensor 'ids' has storage type torch.ByteStorage (uint8), which clipvil cannot load");
        byte[] qt = stateDict().str("q").tensor("QFloatStorage", "0", 4, 0, new long[] {4}, new long[] {1}).setItems().stop().bytes();
        failure(zip("q.pt", new TorchZips("q", qt)), "refusing to load global 'torch.QFloatStorage'");
        byte[] outside = stateDict().str("w").tensor("FloatStorage", "0", 4, 2, new long[] {2, 2}, new long[] {2, 1}).setItems().stop().bytes();
        failure(zip("outside.pt", new TorchZips("outside", outside).put("data/0", new byte[16])),
                "tensor 'w': size [2, 2] stride [2, 1] offset 2 reaches outside its storage");
        byte[] twice = stateDict().str("a").tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
                .str("b").tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}).setItems().stop().bytes();
        failure(zip("twice.pt", new TorchZips("twice", twice).put("data/0", new byte[16])), "tensor 'b': storage '0' is named as");
        byte[] bools = stateDict().str("m").tensor("BoolStorage", "0", 2, 0, new long[] {2}, new long[] {1}).setItems().stop().bytes();
        failure(zip("bools.pt", new TorchZips("bools", bools).put("data/0", new byte[] {1, 7})), "holds the byte 7 at element 1");
    }

    @Test
    void facadeDetectsFormatsAndRefusesOthers() throws IOException {
        byte[] good = stateDict().str("w").tensor("FloatStorage", "0", 1, 0, new long[] {1}, new long[] {1}).setItems().stop().bytes();
        Path pt = zip("pytorch_model.bin", new TorchZips("archive", good).put("data/0", TorchZips.floats(ByteOrder.LITTLE_ENDIAN, 9)));
        assertEquals(CheckpointFormat.TORCH_SAVE, Checkpoints.detect(pt));
        assertEquals(new Checkpoints.Source(pt, CheckpointFormat.TORCH_SAVE), Checkpoints.locate(dir), "a folder with pytorch_model.bin");
        Map<String, Tensor> m = Checkpoints.readStateDict(dir);
        try {
            assertArrayEquals(new float[] {9}, m.get("w").toFloatArray());
        } finally {
            closeAll(m);
        }
        failure(Files.write(dir.resolve("legacy.pt"), new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10}), "legacy torch.save file");
        failure(Files.write(dir.resolve("text.txt"), "hello world".getBytes(StandardCharsets.US_ASCII)),
                "unsupported checkpoint format (starts with bytes 68 65 6c 6c 6f 20 77 6f)");
        failure(Files.write(dir.resolve("empty.bin"), new byte[0]), "unsupported checkpoint format (empty file)");
        failure(dir.resolve("missing.pt"), "no such file");
        Path emptyDir = Files.createDirectory(dir.resolve("empty"));
        failure(emptyDir, "folder holds no weights");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}
