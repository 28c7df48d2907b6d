package dev.clipvil.tensor;

/** A shape, rank or broadcasting mismatch; the message names the op and the shapes involved. */
public class ShapeException extends IllegalArgumentException {
    public ShapeException(String message) { super(message); }
}
