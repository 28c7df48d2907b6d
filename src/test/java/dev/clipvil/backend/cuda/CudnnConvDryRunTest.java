package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * conv2d through the {@code --conv cudnn} switch on the dry-run device (no GPU, no cuDNN loaded): the
 * CudaBackend dispatches to {@link CudnnConv}, which issues one counted, shape-checked cuDNN call per
 * primitive and launches none of our conv kernels; F32 reads NCHW, BF16 reads channels-last views in
 * place and transposes other layouts. The switch is put back when its scope closes.
 */
class CudnnConvDryRunTest {
    static CudaContext ctx;
    static Backend gpu;
    static final Backend CPU = CpuBackend.get();

    @BeforeAll
    static void install() {
        ctx = CudaContext.installDryRun(63);
        gpu = new CudaBackend(ctx);
    }

    private static Tensor dev(DType dtype, int... shape) {
        Tensor c = Tensor.empty(DType.F32, shape);
        CPU.fill(c, 0.25);
        Tensor d = CudaTransfer.toDevice(c, ctx.device());
        return dtype == DType.F32 ? d : gpu.cast(d, dtype);
    }

    private static Map<String, Integer> delta(Map<String, Integer> before, Map<String, Integer> after) {
        Map<String, Integer> d = new HashMap<>();
        after.forEach((k, v) -> {
            int n = v - before.getOrDefault(k, 0);
            if (n != 0) d.put(k, n);
        });
        return d;
    }

    private static int ourConvLaunches() {
        int n = 0;
        for (Map.Entry<String, Integer> e : DryRun.launches().entrySet()) if (e.getKey().contains("clipvil_conv2d_")) n += e.getValue();
        return n;
    }

    private static int transposes() {
        int n = 0;
        for (Map.Entry<String, Integer> e : DryRun.launches().entrySet()) if (e.getKey().contains("clipvil_transpose_batched")) n += e.getValue();
        return n;
    }

    /** Forward with bias and both gradients; returns the cuDNN calls they issued. */
    private static Map<String, Integer> fwdBwd(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        Map<String, Integer> before = DryRun.cudnnCalls();
        int[] xs = x.shape(), ws = w.shape();
        Tensor y = gpu.conv2d(x, w, bias, p);
        int[] want = {xs[0], ws[0], p.outH(xs[2], ws[2]), p.outW(xs[3], ws[3])};
        assertArrayEquals(want, y.shape());
        assertEquals(x.dtype(), y.dtype());
        assertTrue(y.isContiguous(), "NCHW output is contiguous");
        Tensor gx = gpu.conv2dBackwardInput(y, w, xs, p);
        assertArrayEquals(xs, gx.shape());
        assertEquals(x.dtype(), gx.dtype());
        assertTrue(gx.isContiguous());
        Tensor gw = gpu.conv2dBackwardWeight(y, x, ws, p);
        assertArrayEquals(ws, gw.shape());
        assertEquals(x.dtype(), gw.dtype());
        assertTrue(gw.isContiguous());
        return delta(before, DryRun.cudnnCalls());
    }

    @Test
    void cudnnSwitchIssuesCudnnCallsAndNoneOfOurConvKernels() {
        ConvImpl outer = ConvImpl.current();
        try (MemoryScope scope = MemoryScope.open()) {
            int ours = ourConvLaunches();
            try (ConvImpl.Scope s = ConvImpl.scoped(ConvImpl.CUDNN)) {
                assertSame(ConvImpl.CUDNN, CudaBackend.conv());
                Conv2dParams p = new Conv2dParams(2, 1, 1, 2, 1, 2, 2);
                Map<String, Integer> f32 = fwdBwd(dev(DType.F32, 2, 4, 9, 11), dev(DType.F32, 6, 2, 3, 3), dev(DType.F32, 6), p);
                assertEquals(Map.of("cudnnConvolutionForward F32 NCHW", 1, "cudnnConvolutionBackwardData F32 NCHW", 1,
                        "cudnnConvolutionBackwardFilter F32 NCHW", 1), f32);

                // BF16 on contiguous NCHW tensors: transposed to NHWC for cuDNN and back
                int t0 = transposes();
                Map<String, Integer> bf16 = fwdBwd(dev(DType.BF16, 2, 8, 7, 7), dev(DType.BF16, 16, 8, 3, 3), dev(DType.F32, 16), Conv2dParams.of(1, 1));
                assertEquals(Map.of("cudnnConvolutionForward BF16 NHWC", 1, "cudnnConvolutionBackwardData BF16 NHWC", 1,
                        "cudnnConvolutionBackwardFilter BF16 NHWC", 1), bf16);
                // fwd: x, w, y back; data: dy, w, dx back; filter: dy, x, dw back
                assertEquals(9, transposes() - t0);

                // BF16 channels-last views (PyTorch's channels_last) are read in place: only the results are transposed
                Tensor xl = Views.permute(dev(DType.BF16, 2, 7, 7, 8), 0, 3, 1, 2);
                Tensor wl = Views.permute(dev(DType.BF16, 16, 3, 3, 8), 0, 3, 1, 2);
                int t1 = transposes();
                Tensor y = gpu.conv2d(xl, wl, null, Conv2dParams.of(1, 1));
                assertEquals(1, transposes() - t1, "only the output is transposed");
                assertArrayEquals(new int[]{2, 16, 7, 7}, y.shape());

                // depthwise BF16 (groups = channels), 1x1 F32
                fwdBwd(dev(DType.BF16, 1, 8, 5, 6), dev(DType.BF16, 8, 1, 3, 3), null, new Conv2dParams(1, 1, 1, 1, 1, 1, 8));
                fwdBwd(dev(DType.F32, 3, 5, 4, 4), dev(DType.F32, 7, 5, 1, 1), null, Conv2dParams.of(1, 0));
            }
            assertSame(outer, ConvImpl.current(), "the switch is put back when its scope closes");
            assertEquals(ours, ourConvLaunches(), "no conv.cu kernel ran under --conv cudnn");

            // with our kernels chosen, no cuDNN call
            try (ConvImpl.Scope s = ConvImpl.scoped(ConvImpl.CLIPVIL)) {
                Map<String, Integer> before = DryRun.cudnnCalls();
                gpu.conv2d(dev(DType.F32, 1, 3, 6, 6), dev(DType.F32, 4, 3, 3, 3), null, Conv2dParams.of(1, 1));
                assertEquals(Map.of(), delta(before, DryRun.cudnnCalls()));
                assertTrue(ourConvLaunches() > ours);
            }
            assertSame(outer, ConvImpl.current());
        }
    }

    @Test
    void shapeErrorsNameTheOpAndShapes() {
        try (MemoryScope scope = MemoryScope.open(); ConvImpl.Scope s = ConvImpl.scoped(ConvImpl.CUDNN)) {
            Tensor x = dev(DType.F32, 1, 4, 5, 5);
            ShapeException e = assertThrows(ShapeException.class, () -> gpu.conv2d(x, dev(DType.F32, 6, 3, 3, 3), null, Conv2dParams.of(1, 1)));
            assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[1, 4, 5, 5]"), e.getMessage());
            ShapeException b = assertThrows(ShapeException.class, () -> gpu.conv2d(x, dev(DType.F32, 6, 4, 3, 3), dev(DType.F32, 5), Conv2dParams.of(1, 1)));
            assertTrue(b.getMessage().contains("bias"), b.getMessage());
            ShapeException g = assertThrows(ShapeException.class,
                    () -> gpu.conv2dBackwardInput(dev(DType.F32, 1, 6, 4, 4), dev(DType.F32, 6, 4, 3, 3), new int[]{1, 4, 5, 5}, Conv2dParams.of(1, 1)));
            assertTrue(g.getMessage().contains("conv2d_backward_input"), g.getMessage());
        }
    }

    @Test
    void packedRecognisesNchwNhwcAndChannelsLastViews() {
        int[] d = {2, 3, 4, 5};
        assertTrue(CudnnConv.packed(d, new int[]{60, 20, 5, 1}, d, false));
        assertFalse(CudnnConv.packed(d, new int[]{60, 20, 5, 1}, d, true));
        assertTrue(CudnnConv.packed(d, new int[]{60, 1, 15, 3}, d, true), "channels-last view of NHWC memory");
        assertTrue(CudnnConv.packed(new int[]{2, 4, 5, 3}, new int[]{60, 15, 3, 1}, d, true), "contiguous [n, h, w, c]");
        assertFalse(CudnnConv.packed(new int[]{2, 4, 5, 3}, new int[]{60, 15, 3, 1}, d, false));
        assertFalse(CudnnConv.packed(d, new int[]{60, 1, 15, 4}, d, true));
        int[] one = {1, 3, 1, 1};
        assertTrue(CudnnConv.packed(one, new int[]{7, 1, 9, 9}, one, false), "strides of size-1 dims do not matter");
        assertTrue(CudnnConv.packed(one, new int[]{7, 1, 9, 9}, one, true));
    }

    @Test
    void convImplParsesAndIgnoresBadSettings() {
        assertSame(ConvImpl.CUDNN, ConvImpl.parse(" CuDNN "));
        assertSame(ConvImpl.CLIPVIL, ConvImpl.parse("clipvil"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvImpl.parse("torch"));
        assertTrue(e.getMessage().contains("clipvil or cudnn") && e.getMessage().contains("torch"), e.getMessage());
        assertSame(ConvImpl.CLIPVIL, ConvImpl.fromSettings(null, null));
        assertSame(ConvImpl.CUDNN, ConvImpl.fromSettings(null, "cudnn"));
        assertSame(ConvImpl.CLIPVIL, ConvImpl.fromSettings("clipvil", "cudnn"), "the system property wins");
        assertSame(ConvImpl.CLIPVIL, ConvImpl.fromSettings("bogus", null));
        assertEquals("cudnn", ConvImpl.CUDNN.label());
        assertEquals(null, ConvImpl.CLIPVIL.unavailableReason());
        assertEquals("9.14.0", CudaLibraries.versionString(91400));
    }
}
