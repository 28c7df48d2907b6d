package dev.clipvil.optim;

import java.util.List;

/**
 * Updates parameters from their gradients. Parameters whose gradient is null (frozen, or unused in
 * this step) are skipped and their state does not advance, as in PyTorch. An optimizer owns its state
 * tensors (made outside every memory scope) and frees them on {@link #close()}.
 */
public interface Optimizer extends AutoCloseable {
    /** One update of every parameter that has a gradient. */
    void step();

    /** Frees the gradients of every parameter of every group. */
    void zeroGrad();

    /** The parameter groups, in order (their learning rates may be changed between steps). */
    List<ParamGroup> groups();

    /** The per-parameter state, by parameter name (live tensors: read, do not close). */
    OptimizerState state();

    /**
     * What is wrong with {@code s} for this optimizer (unknown parameter names, unknown slots,
     * mis-shaped tensors), each by name; empty when {@link #loadState} would accept it.
     */
    List<String> stateProblems(OptimizerState s);

    /**
     * Replaces the state of the parameters named in {@code s} with copies of its values (other
     * parameters keep theirs). Throws {@link IllegalArgumentException} listing every problem, before
     * changing anything, unless {@link #stateProblems} is empty.
     */
    void loadState(OptimizerState s);

    /** Frees the state tensors (not the parameters). */
    @Override
    void close();
}
