package dev.clipvil.autograd;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode automatic differentiation. Ops call {@link #record} when any input needs a gradient;
 * {@link #backward} walks the graph from a scalar in reverse topological order, frees each node's
 * saved tensors and intermediate gradients as soon as they are used, and accumulates into the
 * {@code grad} of leaves (tensors with {@code requiresGrad} and no producing node).
 */
public final class Autograd {
    private Autograd() {}

    /** True when grad mode is on and any of {@code inputs} needs a gradient. */
    public static boolean needsGrad(Tensor... inputs) {
        if (!GradMode.isEnabled()) return false;
        for (Tensor t : inputs) if (t != null && needsGrad(t)) return true;
        return false;
    }

    private static boolean needsGrad(Tensor t) { return t.requiresGrad() || t.gradFn() != null; }

    /**
     * Records that {@code out} was computed from {@code inputs} by {@code name}. {@code saved} are the
     * tensors the backward rule reads; they are dropped after backward. Does nothing when no input
     * needs a gradient or grad mode is off. Returns {@code out}.
     */
    public static Tensor record(String name, Tensor out, Tensor[] inputs, Tensor[] saved, BackwardFn fn) {
        if (!needsGrad(inputs)) return out;
        out.setGradFn(new Node(name, inputs.clone(), saved, fn, out.shape()));
        return out;
    }

    /** True when {@code t} is part of a graph: backward can reach a leaf from it. */
    public static boolean isRecorded(Tensor t) { return needsGrad(t); }

    /** True when {@code t} was produced by a recorded op that backward has not run through yet. */
    public static boolean hasLiveGraph(Tensor t) { return t.gradFn() instanceof Node n && !n.isReleased(); }

    /** Backward from a one-element tensor (seed 1). */
    public static void backward(Tensor root) {
        if (root.numel() != 1) {
            throw new ShapeException("backward() needs a one-element tensor, got shape " + Shapes.str(root.shape()) + "; pass a gradient for others");
        }
        Backend be = Backends.of(root);
        Tensor seed = be.empty(root.dtype(), root.shape());
        be.fill(seed, 1.0);
        try {
            backward(root, seed);
        } finally {
            seed.close();
        }
    }

    /** Backward from {@code root} with the given gradient of the same shape. */
    public static void backward(Tensor root, Tensor grad) {
        if (!java.util.Arrays.equals(root.shape(), grad.shape())) {
            throw new ShapeException("backward: gradient shape " + Shapes.str(grad.shape()) + " differs from the tensor's " + Shapes.str(root.shape()));
        }
        if (!needsGrad(root)) {
            throw new IllegalStateException("backward: " + root.describe() + " does not require grad and has no grad_fn");
        }
        try (GradMode.Guard g = GradMode.noGrad()) {
            run(root, grad);
        }
    }

    private static void run(Tensor root, Tensor seed) {
        Node rootNode = (Node) root.gradFn();
        if (rootNode == null) {
            accumulateLeaf(root, seed, false); // the caller's tensor: copied, never taken
            return;
        }
        List<Node> order = topoOrder(rootNode);
        Map<Node, Tensor> grads = new IdentityHashMap<>();
        grads.put(rootNode, seed);
        for (Node node : order) {
            Tensor g = grads.remove(node);
            if (g == null) continue; // no gradient flowed here
            Tensor[] gin = node.apply(g);
            node.release();
            // Each gradient routed onward gets a handle of its own, so that freeing one never frees
            // another (a rule may pass g straight through, or return one tensor for two inputs); all
            // handles are made before any is consumed.
            Tensor[] owns = new Tensor[gin.length];
            Map<Tensor, Boolean> handed = new IdentityHashMap<>();
            for (int i = 0; i < gin.length; i++) {
                Tensor gi = gin[i];
                if (gi == null) continue;
                owns[i] = gi == g || handed.containsKey(gi) ? gi.asStrided(gi.shape(), gi.strides(), gi.offset()) : gi;
                handed.put(gi, Boolean.TRUE);
            }
            for (int i = 0; i < gin.length; i++) {
                Tensor gi = gin[i], own = owns[i];
                if (gi == null) continue;
                Tensor in = node.inputs[i];
                Node producer = (Node) in.gradFn();
                if (producer != null) {
                    Tensor prev = grads.get(producer);
                    if (prev == null) {
                        grads.put(producer, own);
                    } else {
                        Backend be = Backends.of(own);
                        grads.put(producer, be.binary(dev.clipvil.backend.BinaryOp.ADD, prev, own));
                        if (prev != seed) prev.close();
                        own.close();
                    }
                } else if (!(in.requiresGrad() && accumulateLeaf(in, own, own == gi))) {
                    own.close();
                }
            }
            if (g != seed) g.close();
        }
    }

    /**
     * Adds {@code g} into {@code leaf.grad()}. The first gradient of a leaf is taken over as its grad
     * when nothing else can see it (its storage has this one handle, it is dense and of the leaf's
     * shape and dtype) and {@code mayTake} (it is not the caller's tensor): no copy, as
     * PyTorch steals a gradient nobody else holds. Returns true when {@code g} became the grad (the
     * caller must not close it); otherwise the caller still owns it.
     */
    private static boolean accumulateLeaf(Tensor leaf, Tensor g, boolean mayTake) {
        Backend be = Backends.of(leaf);
        Tensor existing = leaf.grad();
        if (existing != null) {
            be.axpby(existing, 1.0, g, 1.0);
            return false;
        }
        if (mayTake && stealable(g, leaf)) {
            leaf.setGrad(MemoryScope.detach(g));
            return true;
        }
        Tensor copy = MemoryScope.detach(be.empty(leaf.dtype(), leaf.shape()));
        be.copy(g, copy);
        leaf.setGrad(copy);
        return false;
    }

    private static boolean stealable(Tensor g, Tensor leaf) {
        return g.dtype() == leaf.dtype() && g.device().equals(leaf.device()) && Arrays.equals(g.shape(), leaf.shape())
                && g.isContiguous() && g.offset() == 0 && g.numel() == g.storage().numel() && g.storage().hasOneHandle()
                && g.gradFn() == null && !g.requiresGrad();
    }

    /** Nodes reachable from {@code root}, each after every node that feeds gradient into it. */
    private static List<Node> topoOrder(Node root) {
        List<Node> post = new ArrayList<>();
        Map<Node, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[]{root, 0});
        seen.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Node n = (Node) top[0];
            int i = (Integer) top[1];
            if (i < n.inputs.length) {
                top[1] = i + 1;
                Object fn = n.inputs[i].gradFn();
                if (fn instanceof Node && !seen.containsKey(fn)) {
                    seen.put((Node) fn, Boolean.TRUE);
                    stack.push(new Object[]{fn, 0});
                }
            } else {
                stack.pop();
                post.add(n);
            }
        }
        java.util.Collections.reverse(post);
        return post;
    }
}
