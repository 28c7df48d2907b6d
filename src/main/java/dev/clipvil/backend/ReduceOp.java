package dev.clipvil.backend;

/** Reductions along dimensions. */
public enum ReduceOp { SUM, MEAN, MAX, MIN }
