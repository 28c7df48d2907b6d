package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostStorage;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A page-locked host buffer through which host arrays travel to and from the device in chunks
 * (pinned memory makes {@code cudaMemcpyAsync} a true DMA; Java arrays can be neither pinned nor
 * handed to CUDA directly). One per device, used under its lock; each chunk waits for its copy.
 */
final class PinnedStaging {
    static final int CHUNK = 16 << 20;

    private final CudaContext ctx;
    private final RawPointer pinned = new RawPointer();
    private final RawPointer dev = new RawPointer();
    private final ByteBuffer buf;

    PinnedStaging(CudaContext ctx) {
        this.ctx = ctx;
        CudaCheck.rt(cudart.cudaMallocHost(pinned, CHUNK), "cudaMallocHost(" + CHUNK + " bytes) for the staging buffer of " + ctx.device());
        buf = new BytePointer(pinned).capacity(CHUNK).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Copies all of {@code src}'s elements to device memory at {@code devPtr}. */
    synchronized void upload(HostStorage src, long devPtr) {
        ctx.makeCurrent();
        int es = src.dtype().byteSize();
        int perChunk = CHUNK / es;
        for (int start = 0; start < src.numel(); start += perChunk) {
            int n = Math.min(perChunk, src.numel() - start);
            buf.clear();
            put(src, start, n);
            CudaCheck.rt(cudart.cudaMemcpyAsync(dev.at(devPtr + (long) start * es), pinned, (long) n * es,
                    cudart.cudaMemcpyHostToDevice, ctx.stream()), "cudaMemcpyAsync host->device (" + (long) n * es + " bytes)");
            ctx.synchronize();
        }
    }

    /** Copies device memory at {@code devPtr} into all of {@code dst}'s elements. */
    synchronized void download(long devPtr, HostStorage dst) {
        ctx.makeCurrent();
        int es = dst.dtype().byteSize();
        int perChunk = CHUNK / es;
        for (int start = 0; start < dst.numel(); start += perChunk) {
            int n = Math.min(perChunk, dst.numel() - start);
            CudaCheck.rt(cudart.cudaMemcpyAsync(pinned, dev.at(devPtr + (long) start * es), (long) n * es,
                    cudart.cudaMemcpyDeviceToHost, ctx.stream()), "cudaMemcpyAsync device->host (" + (long) n * es + " bytes)");
            ctx.synchronize();
            buf.clear();
            get(dst, start, n);
        }
    }

    private void put(HostStorage s, int start, int n) {
        DType t = s.dtype();
        switch (t) {
            case F32: buf.asFloatBuffer().put(s.f32(), start, n); break;
            case F64: buf.asDoubleBuffer().put(s.f64(), start, n); break;
            case BF16: case F16: buf.asShortBuffer().put(s.halves(), start, n); break;
            case I32: buf.asIntBuffer().put(s.i32(), start, n); break;
            case I64: buf.asLongBuffer().put(s.i64(), start, n); break;
            case BOOL: buf.put(s.bool(), start, n); break;
            default: throw new AssertionError(t);
        }
    }

    private void get(HostStorage s, int start, int n) {
        DType t = s.dtype();
        switch (t) {
            case F32: buf.asFloatBuffer().get(s.f32(), start, n); break;
            case F64: buf.asDoubleBuffer().get(s.f64(), start, n); break;
            case BF16: case F16: buf.asShortBuffer().get(s.halves(), start, n); break;
            case I32: buf.asIntBuffer().get(s.i32(), start, n); break;
            case I64: buf.asLongBuffer().get(s.i64(), start, n); break;
            case BOOL: buf.get(s.bool(), start, n); break;
            default: throw new AssertionError(t);
        }
    }
}
