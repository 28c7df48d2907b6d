package dev.clipvil.backend;

/** Elementwise unary maps. GELU is the exact (erf) form; QUICK_GELU is x * sigmoid(1.702 x), as CLIP uses. */
public enum UnaryOp { NEG, EXP, LOG, SQRT, RSQRT, TANH, SIGMOID, RELU, GELU, QUICK_GELU, ABS }
