package dev.clipvil.backend;

/** Elementwise binary maps (with broadcasting). RSUB and RDIV swap the operands: s - a, s / a. */
public enum BinaryOp { ADD, SUB, MUL, DIV, POW, MAX, MIN, RSUB, RDIV }
