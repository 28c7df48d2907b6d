package dev.clipvil.backend.cuda;

/**
 * Work that cannot be part of a CUDA graph was issued while one was captured (a host synchronisation,
 * a copy through pageable host memory, a CPU fallback, ...), or a graph was used wrongly. The message
 * names the operation; the capture is abandoned.
 */
public final class CudaGraphException extends CudaException {
    public CudaGraphException(String message) { super(message); }

    public CudaGraphException(String message, Throwable cause) { super(message, cause); }
}
