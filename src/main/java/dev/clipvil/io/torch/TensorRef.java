package dev.clipvil.io.torch;

import java.util.Arrays;

/**
 * A tensor as {@code torch._utils._rebuild_tensor_v2} describes it: a strided view of a storage
 * (offset, size and stride in elements). Nothing is read until {@link TensorRebuilder} builds it.
 */
record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
    TensorRef {
        size = size.clone();
        stride = stride.clone();
    }

    @Override
    public long[] size() { return size.clone(); }

    @Override
    public long[] stride() { return stride.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorRef t && storage.equals(t.storage) && offset == t.offset
                && Arrays.equals(size, t.size) && Arrays.equals(stride, t.stride);
    }

    @Override
    public int hashCode() { return storage.hashCode() * 31 + Arrays.hashCode(size); }

    @Override
    public String toString() {
        return "tensor " + Arrays.toString(size) + " stride " + Arrays.toString(stride) + " offset " + offset + " of " + storage;
    }
}
