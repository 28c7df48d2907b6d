package dev.clipvil.backend.cuda;

/** A CUDA call (runtime, driver, cuBLAS, NVRTC) or kernel launch failed; the message names the call. */
public class CudaException extends RuntimeException {
    public CudaException(String message) { super(message); }

    public CudaException(String message, Throwable cause) { super(message, cause); }
}
