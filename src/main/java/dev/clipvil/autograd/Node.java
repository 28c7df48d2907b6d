package dev.clipvil.autograd;

import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** One recorded op in the graph: its inputs (edges), the tensors it saved, and its backward rule. */
public final class Node {
    final String name;
    final Tensor[] inputs;
    final int[] outShape;
    private Tensor[] saved;
    private final BackwardFn fn;
    private boolean released;

    Node(String name, Tensor[] inputs, Tensor[] saved, BackwardFn fn, int[] outShape) {
        this.name = name;
        this.inputs = inputs;
        this.saved = saved;
        this.fn = fn;
        this.outShape = outShape;
    }

    public String name() { return name; }

    /** True once backward has run through this node and dropped what it saved. */
    public boolean isReleased() { return released; }

    /** The saved tensors still held (empty once released). */
    public int savedCount() { return saved == null ? 0 : saved.length; }

    Tensor[] apply(Tensor grad) {
        if (released) {
            throw new IllegalStateException("backward through '" + name + "' a second time: its saved tensors were released after the first backward");
        }
        for (Tensor s : saved == null ? new Tensor[0] : saved) {
            if (s != null && s.isClosed()) {
                throw new IllegalStateException("backward through '" + name + "': a saved tensor " + s.describe()
                        + " was freed (its memory scope closed before backward ran)");
            }
        }
        Tensor[] g = fn.apply(grad, saved == null ? new Tensor[0] : saved);
        if (g.length != inputs.length) {
            throw new IllegalStateException("backward of '" + name + "' returned " + g.length + " gradients for " + inputs.length + " inputs");
        }
        for (int i = 0; i < g.length; i++) {
            if (g[i] != null && !java.util.Arrays.equals(g[i].shape(), inputs[i].shape())) {
                throw new IllegalStateException("backward of '" + name + "' returned a gradient of shape " + Shapes.str(g[i].shape())
                        + " for input " + i + " of shape " + Shapes.str(inputs[i].shape()));
            }
        }
        return g;
    }

    /** Drops the saved tensors (they are freed when their scope closes, or now if nothing else holds them). */
    void release() {
        saved = null;
        released = true;
    }

    @Override public String toString() { return name + "Backward"; }
}
