package dev.clipvil.cli;

import java.lang.module.ModuleFinder;

/** Whether the Vector API incubator module is in this JVM, and what it offers. */
final class VectorModule {
    static final String NAME = "jdk.incubator.vector";

    private VectorModule() {}

    /** The module is resolved in the boot layer (the JVM was started with --add-modules). */
    static boolean loaded() { return ModuleLayer.boot().findModule(NAME).isPresent(); }

    /** The Java runtime ships the module at all (a jlinked runtime may not). */
    static boolean inRuntime() { return ModuleFinder.ofSystem().find(NAME).isPresent(); }

    /** Bits of the preferred FloatVector species; call only when {@link #loaded()}. */
    static int preferredFloatBits() { return Species.preferredFloatBits(); }

    /** Kept apart so that nothing links against the incubator classes unless the module is loaded. */
    private static final class Species {
        static int preferredFloatBits() { return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(); }
    }
}
