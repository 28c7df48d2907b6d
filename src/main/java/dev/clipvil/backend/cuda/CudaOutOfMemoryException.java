package dev.clipvil.backend.cuda;

/** Device memory ran out even after the allocator's cache was released; says what was asked and what is held. */
public final class CudaOutOfMemoryException extends CudaException {
    public CudaOutOfMemoryException(String message) { super(message); }
}
