package dev.clipvil.io.torch;

import dev.clipvil.io.CheckpointFormat;
import dev.clipvil.io.Checkpoints;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HalfFloats;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PyTorch files of {@code fixtures/openai_pt_small} (torch.save zip, float16 torch.save zip,
 * traced TorchScript archive) against the same state dict in {@code model.safetensors}: same names,
 * and every tensor equal (bit for bit; the float16 file after rounding the reference to float16).
 * Skipped with a message when ../shared is absent.
 */
class TorchCheckpointFixtureTest {
    static Path fixture() {
        Path dir = Path.of(System.getProperty("clipvil.shared", "../shared"), "fixtures", "openai_pt_small");
        for (String f : new String[] {"model.safetensors", "state_dict.pt", "state_dict_fp16.pt", "torchscript.pt"}) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                String reason = "no fixture " + dir.resolve(f).toAbsolutePath().normalize() + " (set -Dclipvil.shared)";
                System.out.println("SKIPPED TorchCheckpointFixtureTest: " + reason);
                Assumptions.abort(reason);
            }
        }
        return dir;
    }

    /** Reads {@code file} and checks it against the reference, rounding the reference to {@code half} when set. */
    private static void check(Path file, boolean half) throws IOException {
        Path dir = file.getParent();
        long before = HostMemory.get().inUseBytes();
        Map<String, Tensor> ref = SafeTensors.readAll(dir.resolve("model.safetensors"));
        Map<String, Tensor> got = TorchCheckpoint.readStateDict(file);
        try {
            assertEquals(ref.keySet(), got.keySet(), file + " key set");
            assertTrue(ref.size() > 100, "fixture has " + ref.size() + " tensors");
            for (Map.Entry<String, Tensor> e : ref.entrySet()) {
                String name = e.getKey();
                Tensor r = e.getValue(), g = got.get(name);
                assertArrayEquals(r.shape(), g.shape(), name);
                assertTrue(g.isContiguous(), name);
                if (!r.dtype().isFloating()) {
                    assertEquals(r.dtype(), g.dtype(), name);
                    assertArrayEquals(r.toLongArray(), g.toLongArray(), name);
                } else if (half) {
                    assertEquals(DType.F16, g.dtype(), name);
                    float[] rv = r.toFloatArray();
                    short[] gv = (short[]) g.hostStorage().raw();
                    short[] want = new short[rv.length];
                    for (int i = 0; i < rv.length; i++) want[i] = HalfFloats.floatToF16(rv[i]);
                    assertArrayEquals(want, java.util.Arrays.copyOfRange(gv, g.offset(), g.offset() + rv.length), name);
                } else {
                    assertEquals(DType.F32, g.dtype(), name);
                    assertArrayEquals(r.toFloatArray(), g.toFloatArray(), 0f, name); // delta 0: exact
                }
            }
        } finally {
            ref.values().forEach(Tensor::close);
            got.values().forEach(Tensor::close);
        }
        assertEquals(before, HostMemory.get().inUseBytes(), "every tensor and storage freed");
    }

    @Test
    void torchSaveZipEqualsSafetensors() throws IOException {
        check(fixture().resolve("state_dict.pt"), false);
    }

    @Test
    void float16TorchSaveZipEqualsRoundedSafetensors() throws IOException {
        check(fixture().resolve("state_dict_fp16.pt"), true);
    }

    @Test
    void torchScriptArchiveEqualsSafetensors() throws IOException {
        check(fixture().resolve("torchscript.pt"), false);
    }

    @Test
    void torchScriptNamesFollowStateDictOrder() throws IOException {
        Path dir = fixture();
        Map<String, Tensor> a = TorchCheckpoint.readStateDict(dir.resolve("state_dict.pt"));
        Map<String, Tensor> b = TorchCheckpoint.readStateDict(dir.resolve("torchscript.pt"));
        try {
            assertEquals(String.join(",", a.keySet()), String.join(",", b.keySet()), "torch.save order equals TorchScript state_dict() order");
        } finally {
            a.values().forEach(Tensor::close);
            b.values().forEach(Tensor::close);
        }
    }

    @Test
    void formatsAreDetectedFromContent() throws IOException {
        Path dir = fixture();
        assertEquals(CheckpointFormat.TORCH_SAVE, Checkpoints.detect(dir.resolve("state_dict.pt")));
        assertEquals(CheckpointFormat.TORCH_SAVE, Checkpoints.detect(dir.resolve("state_dict_fp16.pt")));
        assertEquals(CheckpointFormat.TORCHSCRIPT, Checkpoints.detect(dir.resolve("torchscript.pt")));
        assertEquals(CheckpointFormat.SAFETENSORS, Checkpoints.detect(dir.resolve("model.safetensors")));
        assertEquals(new Checkpoints.Source(dir.resolve("model.safetensors"), CheckpointFormat.SAFETENSORS), Checkpoints.locate(dir));
    }
}
