package dev.clipvil.cli;

import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.tensor.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code clipvil bench-encode} on a CUDA device (the dry run: kernels checked, not run): throughput and the
 * per-primitive breakdown by CUDA events. (The CPU path, timed by a proxy, takes about 20 s for one pass of a
 * cold ViT-B/32 on two cores, too slow for CI; it is what README's CPU figures come from.)
 */
class BenchEncodeCommandTest {
    @Test
    void onACudaDeviceItTimesEveryPrimitiveWithEvents() {
        Device gpu = DryRunDevice.install();
        int launches = DryRunDevice.launches();
        CliFixtures.Run r = CliFixtures.runOn(gpu, "bench-encode", "--model", "ViT-B/32", "--batch-size", "2", "--iterations", "2", "--warmup", "1",
                "--precision", "bf16");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("bench-encode: cuda:" + DryRunDevice.INDEX + ", bf16"), r.err());
        assertTrue(r.out().contains("batch 2, cuda:" + DryRunDevice.INDEX + " (dry run (no GPU)), random weights, BF16 autocast: "), r.out());
        assertTrue(r.out().contains("where the GPU time goes (profiled passes; CUDA events around every primitive):"), r.out());
        // 12 blocks x 2 profiled passes: every block's attention is one timed call
        assertTrue(r.out().matches("(?s).*attention\\S*\\s+24 calls.*"), r.out());
        assertTrue(r.out().contains("the GPU was busy"), r.out());
        assertTrue(DryRunDevice.launches() > launches, "the passes ran on the device");
        CliFixtures.Run bad = CliFixtures.run("bench-encode", "--precision", "fp8");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--precision must be bf16, tf32, f32 or auto, got 'fp8'"), bad.err());
    }
}
