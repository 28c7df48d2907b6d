package dev.clipvil.backend;

/** Elementwise comparisons producing BOOL. */
public enum CompareOp { EQ, NE, LT, LE, GT, GE }
