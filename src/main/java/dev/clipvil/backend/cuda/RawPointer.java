package dev.clipvil.backend.cuda;

import org.bytedeco.javacpp.Pointer;

/** A JavaCPP pointer at a raw address (device memory, pinned memory), mutable so hot paths reuse one. */
final class RawPointer extends Pointer {
    RawPointer() {}

    RawPointer(long address) { this.address = address; }

    RawPointer at(long a) {
        this.address = a;
        this.position = 0;
        return this;
    }
}
