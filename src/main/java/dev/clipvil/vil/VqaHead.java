package dev.clipvil.vil;

import dev.clipvil.nn.GELU;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.nn.Sequential;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Losses;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * LXMERT / CLIP-ViL's VQA answer head over the pooled vector: Linear(H, 2H) -> exact GELU ->
 * LayerNorm(2H) -> Linear(2H, A), under LXMERT's names "logit_fc.0", "logit_fc.2", "logit_fc.3".
 * Linear weights N(0, initStd), biases zero (BERT init).
 */
public final class VqaHead extends Module {
    private final Sequential logitFc;
    private final int numAnswers;

    public VqaHead(int hidden, int numAnswers, double layerNormEps, double initStd, Init init) {
        if (hidden < 1 || numAnswers < 1) throw new IllegalArgumentException("VqaHead: invalid sizes hidden=" + hidden + " answers=" + numAnswers);
        this.numAnswers = numAnswers;
        Linear fc1 = new Linear(hidden, 2 * hidden, true, init), fc2 = new Linear(2 * hidden, numAnswers, true, init);
        for (Linear l : new Linear[]{fc1, fc2}) {
            init.normal(l.weight(), 0, initStd);
            Init.zeros(l.bias());
        }
        logitFc = registerModule("logit_fc", new Sequential(fc1, new GELU(), new LayerNorm(2 * hidden, layerNormEps), fc2));
    }

    /** {@code pooled} [N, H] -> logits [N, A]. */
    public Tensor forward(Tensor pooled) { return logitFc.forward(pooled); }

    /**
     * LXMERT's VQA loss: BCEWithLogitsLoss (mean over all N*A elements) multiplied by A, i.e. the
     * per-element BCE summed over answers and averaged over the batch. {@code targets} are the soft
     * answer scores, shape [N, A] like {@code logits}.
     */
    public static Tensor loss(Tensor logits, Tensor targets) {
        if (logits.dim() != 2 || !Arrays.equals(logits.shape(), targets.shape())) {
            throw new ShapeException("VqaHead.loss: logits " + Shapes.str(logits.shape()) + " and targets "
                    + Shapes.str(targets.shape()) + " must be the same [N, A]");
        }
        return Elementwise.mul(Losses.bceWithLogits(logits, targets), logits.shape(1));
    }

    public int numAnswers() { return numAnswers; }
}
