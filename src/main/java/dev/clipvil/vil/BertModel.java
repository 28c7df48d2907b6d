package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * HF BertModel ("embeddings", "encoder", "pooler") that can also run as a single-stream
 * vision-and-language encoder: visual features [N, V, H] are appended after the text embeddings
 * (with no position or token-type embedding and no LayerNorm of their own) and are always attended.
 * Padding keys (attention_mask 0) are hidden from every query, equivalent to HF's additive
 * large-negative mask since every row keeps its [CLS] key.
 */
public final class BertModel extends Module {
    private final BertConfig config;
    private final BertEmbeddings embeddings;
    private final BertEncoder encoder;
    private final BertPooler pooler;

    public BertModel(BertConfig c) { this(c, Init.global()); }

    public BertModel(BertConfig c, Init init) {
        config = c;
        embeddings = registerModule("embeddings", new BertEmbeddings(c, init));
        encoder = registerModule("encoder", new BertEncoder(c, init));
        pooler = registerModule("pooler", new BertPooler(c, init));
    }

    /** Plain BERT on text. */
    public BertOutput forward(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
        return forward(inputIds, tokenTypeIds, attentionMask, null);
    }

    /**
     * {@code inputIds} [N, T]; {@code tokenTypeIds} [N, T] or null; {@code attentionMask} [N, T]
     * (1 = token, 0 = padding) or null (all tokens); {@code visualEmbeds} [N, V, H] or null. Returns
     * the hidden states [N, T+V, H] and the pooled [CLS] vector [N, H].
     */
    public BertOutput forward(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask, Tensor visualEmbeds) {
        Tensor x = embeddings.forward(inputIds, tokenTypeIds);
        int n = inputIds.shape(0), t = inputIds.shape(1), v = 0;
        if (visualEmbeds != null) {
            if (visualEmbeds.dim() != 3 || visualEmbeds.shape(0) != n || visualEmbeds.shape(2) != config.hiddenSize()) {
                throw new ShapeException("BertModel: visual_embeds must be [" + n + ", V, " + config.hiddenSize() + "], got " + Shapes.str(visualEmbeds.shape()));
            }
            v = visualEmbeds.shape(1);
            x = Indexing.cat(new Tensor[]{x, visualEmbeds}, 1);
        }
        Tensor mask = keyMask(attentionMask, n, t, v);
        if (mask != null) mask = Creation.onDevice(mask, x.device());
        Tensor h = encoder.forward(x, mask);
        return new BertOutput(h, pooler.forward(h));
    }

    /** BOOL [N, 1, 1, T+V], true where a key may be attended; null when nothing is masked. */
    private static Tensor keyMask(Tensor attentionMask, int n, int t, int v) {
        if (attentionMask == null) return null;
        if (attentionMask.dim() != 2 || attentionMask.shape(0) != n || attentionMask.shape(1) != t) {
            throw new ShapeException("BertModel: attention_mask must be [" + n + ", " + t + "], got " + Shapes.str(attentionMask.shape()));
        }
        if (attentionMask.device().kind() != Device.Kind.CPU) {
            // on a device the mask is made there (always, even when nothing is masked): reading it on the
            // host would wait for the device every step, and cannot be part of a captured CUDA graph
            Device d = attentionMask.device();
            Tensor keep = Elementwise.compare(CompareOp.NE, attentionMask, Creation.full(d, attentionMask.dtype(), 0));
            if (v > 0) keep = Indexing.cat(new Tensor[]{keep, Creation.full(d, DType.BOOL, 1, n, v)}, 1);
            return Views.reshape(keep, n, 1, 1, t + v);
        }
        double[] m = attentionMask.toDoubleArray();
        boolean[] keep = new boolean[n * (t + v)];
        boolean any = false;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < t + v; j++) {
                keep[i * (t + v) + j] = j >= t || m[i * t + j] != 0;
                any |= !keep[i * (t + v) + j];
            }
        }
        if (!any) return null;
        return Tensor.ofBools(keep, n, 1, 1, t + v);
    }

    /**
     * Chooses the pooler's activation: tanh (true, the default, as HF BERT) or none (false, as the
     * released CLIP-ViL code pools for VQA). Returns this.
     */
    public BertModel setPoolerTanh(boolean on) {
        pooler.setTanh(on);
        return this;
    }

    public boolean poolerTanh() { return pooler.tanh(); }

    public BertPooler pooler() { return pooler; }

    public BertConfig config() { return config; }

    public BertEmbeddings embeddings() { return embeddings; }

    public BertEncoder encoder() { return encoder; }
}
