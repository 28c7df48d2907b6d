package dev.clipvil.nn;

import dev.clipvil.backend.Backends;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Normalization;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Batch norm over [N, C, H, W], as {@code torch.nn.BatchNorm2d(C, eps, momentum)}: parameters "weight"
 * (ones) and "bias" (zeros); buffers "running_mean" (zeros), "running_var" (ones) and
 * "num_batches_tracked" (an I64 scalar). In training mode it normalises with the batch statistics and
 * updates the running ones; in eval mode, or when its statistics are frozen, it uses the running
 * statistics. Frozen statistics let a model train (dropout on, gradients through BN's affine) while
 * its pretrained BN layers keep their statistics, as when fine-tuning CLIP's ResNet.
 */
public class BatchNorm2d extends Layer {
    private final int channels;
    private final double eps, momentum;
    private boolean frozen;

    /** With PyTorch's defaults: eps 1e-5, momentum 0.1. */
    public BatchNorm2d(int channels) { this(channels, 1e-5, 0.1); }

    public BatchNorm2d(int channels, double eps, double momentum) {
        if (channels < 1) throw new IllegalArgumentException("BatchNorm2d: channels must be >= 1, got " + channels);
        if (!(eps > 0)) throw new IllegalArgumentException("BatchNorm2d: eps must be > 0, got " + eps);
        if (!(momentum >= 0 && momentum <= 1)) throw new IllegalArgumentException("BatchNorm2d: momentum must be in [0, 1], got " + momentum);
        this.channels = channels;
        this.eps = eps;
        this.momentum = momentum;
        Init.ones(registerParameter("weight", Init.empty(channels)));
        Init.zeros(registerParameter("bias", Init.empty(channels)));
        Init.zeros(registerBuffer("running_mean", Init.empty(channels)));
        Init.ones(registerBuffer("running_var", Init.empty(channels)));
        registerBuffer("num_batches_tracked", Creation.zeros(DType.I64));
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 4 || x.shape(1) != channels) {
            throw new ShapeException("BatchNorm2d(" + channels + "): expected input [N, " + channels + ", H, W], got " + Shapes.str(x.shape()));
        }
        boolean batchStats = usesBatchStatistics();
        Tensor out = Normalization.batchNorm(x, param("weight"), param("bias"), buffer("running_mean"), buffer("running_var"),
                batchStats, momentum, eps);
        if (batchStats) {
            Tensor n = buffer("num_batches_tracked");
            Backends.of(n).fill(n, (long) n.item() + 1);
        }
        return out;
    }

    /** True when the next forward normalises with batch statistics (training mode and not frozen). */
    public boolean usesBatchStatistics() { return isTraining() && !frozen; }

    /** Freezes (or unfreezes) the running statistics: while frozen the layer behaves as in eval mode. */
    public BatchNorm2d setFrozen(boolean frozen) {
        this.frozen = frozen;
        return this;
    }

    public boolean isFrozen() { return frozen; }

    /** Freezes the statistics of every BatchNorm2d in {@code root}'s subtree. Returns how many. */
    public static int freezeStatistics(Module root) {
        int n = 0;
        for (Module m : root.namedModules().values()) {
            if (m instanceof BatchNorm2d) {
                ((BatchNorm2d) m).setFrozen(true);
                n++;
            }
        }
        return n;
    }

    public Tensor runningMean() { return buffer("running_mean"); }

    public Tensor runningVar() { return buffer("running_var"); }

    /** How many batches have updated the running statistics. */
    public long numBatchesTracked() { return (long) buffer("num_batches_tracked").item(); }

    public int channels() { return channels; }
}
