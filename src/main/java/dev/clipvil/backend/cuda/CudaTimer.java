package dev.clipvil.backend.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;

/** Times work on a device's stream with a pair of CUDA events (GPU time, not host time). */
public final class CudaTimer implements AutoCloseable {
    private final CudaContext ctx;
    private final CUevent_st start = new CUevent_st();
    private final CUevent_st stop = new CUevent_st();
    private final float[] ms = new float[1];

    CudaTimer(CudaContext ctx) {
        this.ctx = ctx;
        ctx.makeCurrent();
        CudaCheck.rt(cudart.cudaEventCreate(start), "cudaEventCreate(start)");
        CudaCheck.rt(cudart.cudaEventCreate(stop), "cudaEventCreate(stop)");
    }

    public void start() {
        ctx.makeCurrent();
        CudaCheck.rt(cudart.cudaEventRecord(start, ctx.stream()), "cudaEventRecord(start)");
    }

    /** Records the stop event, waits for it and returns the milliseconds since {@link #start()}. */
    public float stopMillis() {
        ctx.makeCurrent();
        CudaCheck.rt(cudart.cudaEventRecord(stop, ctx.stream()), "cudaEventRecord(stop)");
        CudaCheck.rt(cudart.cudaEventSynchronize(stop), "cudaEventSynchronize(stop)");
        CudaCheck.rt(cudart.cudaEventElapsedTime(ms, start, stop), "cudaEventElapsedTime");
        return ms[0];
    }

    @Override
    public void close() {
        ctx.makeCurrent();
        CudaCheck.rt(cudart.cudaEventDestroy(start), "cudaEventDestroy(start)");
        CudaCheck.rt(cudart.cudaEventDestroy(stop), "cudaEventDestroy(stop)");
    }
}
