package dev.clipvil.tensor;

/** An op was given a dtype it does not accept, or dtypes that do not match; the message names the op. */
public class DTypeException extends IllegalArgumentException {
    public DTypeException(String message) { super(message); }
}
