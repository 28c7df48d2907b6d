package dev.clipvil.backend.cuda;

import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.GpuParity.*;

/** Copies, casts, fills and elementwise maps on the GPU against the CPU backend, on views and broadcasts. */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaElementwiseParityTest {
    @BeforeAll
    static void poison() { CudaMemory.setPoison(true); }

    private static Pair input(UnaryOp op, long seed, int... shape) {
        boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT;
        if (!positive) return randnT(seed, shape);
        Pair base = rand(seed, 0.1, 3.0, shape[1], shape[0]);
        Pair t = base.transposed();
        base.close();
        return t;
    }

    @Test
    void unaryAndItsGradientOnTransposedViews() {
        int[][] shapes = {{37, 5}, {1, 1}, {129, 65}};
        for (UnaryOp op : UnaryOp.values()) {
            for (int[] s : shapes) {
                try (Pair x = input(op, 11, s); Pair gy = randnNarrow(12, s)) {
                    Tensor g = gpu().unary(op, x.gpu()), c = cpu().unary(op, x.cpu());
                    assertClose(op + " " + java.util.Arrays.toString(s), g, c, F32);
                    Tensor gb = gpu().unaryBackward(op, x.gpu(), g, gy.gpu()), cb = cpu().unaryBackward(op, x.cpu(), c, gy.cpu());
                    assertClose(op + " backward", gb, cb, F32);
                    close(g, c, gb, cb);
                }
            }
        }
    }

    @Test
    void unaryInBf16() {
        for (UnaryOp op : new UnaryOp[]{UnaryOp.GELU, UnaryOp.QUICK_GELU, UnaryOp.EXP, UnaryOp.TANH}) {
            try (Pair x0 = randn(3, 33, 17); Pair x = bf16(x0)) {
                Tensor g = gpu().unary(op, x.gpu());
                Tensor c = cpu().unary(op, x.cpu());
                assertClose(op + " bf16", g, c, BF16);
                org.junit.jupiter.api.Assertions.assertEquals(DType.BF16, g.dtype(), "a BF16 op keeps BF16 storage");
                close(g, c);
            }
        }
    }

    @Test
    void binaryWithBroadcastingAndViews() {
        for (BinaryOp op : BinaryOp.values()) {
            boolean positive = op == BinaryOp.POW || op == BinaryOp.DIV || op == BinaryOp.RDIV;
            try (Pair a = positive ? rand(1, 0.5, 2, 4, 33, 7) : randnNarrow(1, 4, 33, 7);
                 Pair b = positive ? rand(2, 0.5, 2, 33, 1) : randn(2, 33, 1);
                 Pair row = positive ? rand(3, 0.5, 2, 7) : randn(3, 7)) {
                Tensor g = gpu().binary(op, a.gpu(), b.gpu()), c = cpu().binary(op, a.cpu(), b.cpu());
                assertClose(op + " [4,33,7] x [33,1]", g, c, F32);
                Tensor g2 = gpu().binary(op, row.gpu(), a.gpu()), c2 = cpu().binary(op, row.cpu(), a.cpu());
                assertClose(op + " [7] x [4,33,7]", g2, c2, F32);
                Tensor g3 = gpu().binaryScalar(op, a.gpu(), 1.7), c3 = cpu().binaryScalar(op, a.cpu(), 1.7);
                assertClose(op + " scalar", g3, c3, F32);
                close(g, c, g2, c2, g3, c3);
            }
        }
    }

    @Test
    void inPlaceOpsAndAxpbyWriteThroughViews() {
        for (BinaryOp op : new BinaryOp[]{BinaryOp.ADD, BinaryOp.MUL, BinaryOp.SUB}) {
            try (Pair base = randn(5, 9, 12); Pair dst = base.transposed(); Pair src = randn(6, 9)) {
                gpu().binaryInPlace(op, dst.gpu(), src.gpu());
                cpu().binaryInPlace(op, dst.cpu(), src.cpu());
                assertClose(op + "_ on a transposed view", base.gpu(), base.cpu(), F32);
            }
        }
        try (Pair d = randnNarrow(7, 17, 5); Pair s = randn(8, 5)) {
            gpu().axpby(d.gpu(), 0.9, s.gpu(), -0.1);
            cpu().axpby(d.cpu(), 0.9, s.cpu(), -0.1);
            assertClose("axpby", d.gpu(), d.cpu(), F32);
        }
    }

    @Test
    void compareAndWhere() {
        try (Pair a = randn(1, 6, 7); Pair b = randnT(2, 6, 7); Pair c1 = randn(3, 7)) {
            for (CompareOp op : CompareOp.values()) {
                Tensor g = gpu().compare(op, a.gpu(), b.gpu()), c = cpu().compare(op, a.cpu(), b.cpu());
                assertSame(op.toString(), g, c);
                Tensor gw = gpu().where(g, a.gpu(), c1.gpu()), cw = cpu().where(c, a.cpu(), c1.cpu());
                assertClose("where " + op, gw, cw, F32);
                close(g, c, gw, cw);
            }
            Tensor eq = gpu().compare(CompareOp.EQ, a.gpu(), a.gpu());
            assertSame("x == x", eq, cpu().compare(CompareOp.EQ, a.cpu(), a.cpu()));
            eq.close();
        }
    }

    @Test
    void fillCopyContiguousAndCasts() {
        try (Pair base = randn(1, 8, 10); Pair v = base.transposed()) {
            gpu().fill(v.gpu().asStrided(new int[]{10, 4}, v.gpu().strides(), 0), 2.5);
            cpu().fill(v.cpu().asStrided(new int[]{10, 4}, v.cpu().strides(), 0), 2.5);
            assertSame("fill of a strided view", base.gpu(), base.cpu());
            Tensor gc = gpu().contiguous(v.gpu()), cc = cpu().contiguous(v.cpu());
            assertSame("contiguous", gc, cc);
            for (DType to : new DType[]{DType.BF16, DType.F16, DType.I32, DType.I64, DType.BOOL, DType.F32}) {
                Tensor g = gpu().cast(v.gpu(), to), c = cpu().cast(v.cpu(), to);
                assertSame("cast F32 -> " + to, g, c);
                Tensor gb = gpu().cast(g, DType.F32), cb = cpu().cast(c, DType.F32);
                assertSame("cast " + to + " -> F32", gb, cb);
                close(g, c, gb, cb);
            }
            try (Pair row = randn(2, 10); Pair dst = randn(3, 3, 10)) {
                gpu().copy(row.gpu(), dst.gpu());
                cpu().copy(row.cpu(), dst.cpu());
                assertSame("broadcast copy", dst.gpu(), dst.cpu());
            }
            close(gc, cc);
        }
        long[] big = {1L << 40, -3, 0, Long.MAX_VALUE};
        try (Pair l = upload(Tensor.ofLongs(big, 4))) {
            Tensor g = gpu().contiguous(l.gpu());
            assertSame("I64 raw copy", g, l.cpu());
            g.close();
        }
    }

    @Test
    void copiesAcrossDevicesRoundTrip() {
        for (DType t : new DType[]{DType.F32, DType.BF16, DType.F16, DType.I32, DType.I64, DType.BOOL, DType.F64}) {
            try (Tensor f = Tensor.empty(DType.F32, 5, 3)) {
                cpu().fillUniform(f, -4, 4, 9);
                try (Tensor c = cpu().cast(f, t); Tensor d = dev.clipvil.ops.Creation.to(c, GPU); Tensor back = dev.clipvil.ops.Creation.to(d, dev.clipvil.tensor.Device.CPU)) {
                    assertSame("round trip " + t, back, c);
                }
            }
        }
    }
}
