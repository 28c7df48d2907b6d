package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Views;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLIP model's own logic on tiny random models: causal text, EOT pooling, logits, loss, gradients, keys. */
class ClipTest {
    static final int CTX = 7, VOCAB = 20, EOT = VOCAB - 1, TW = 8, EMBED = 6;

    /** ViT 8 px, patch 4, width 8, 1 layer; text width 8, 2 layers; 2 heads everywhere. */
    static ClipConfig tiny() { return ClipConfig.vit(EMBED, 8, 1, 8, 4, CTX, VOCAB, TW, 2, 2).withHeads(2, 2); }

    /** Rows of ids, each with EOT (the largest id) at {@code eot[r]} and padding 0 after it. */
    static Tensor ids(int[] eot, long seed) {
        java.util.Random r = new java.util.Random(seed);
        int[] a = new int[eot.length * CTX];
        for (int n = 0; n < eot.length; n++) {
            a[n * CTX] = 1;
            for (int s = 1; s < eot[n]; s++) a[n * CTX + s] = 2 + r.nextInt(VOCAB - 3);
            a[n * CTX + eot[n]] = EOT;
        }
        return Tensor.ofInts(a, eot.length, CTX);
    }

    @Test
    void textIsCausalAndPooledAtTheEotToken() {
        try (Clip clip = new Clip(tiny(), new Init(3)); MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor ids = ids(new int[]{3, 6}, 1);
            Tensor h = clip.textTokens(ids);
            assertArrayEquals(new int[]{2, CTX, TW}, h.shape());
            // tokens after position 3 of row 0 change: positions 0..3 must not see them
            int[] changed = toInts(ids);
            changed[4] = 5;
            changed[5] = 17;
            Tensor ids2 = Tensor.ofInts(changed, 2, CTX);
            Tensor h2 = clip.textTokens(ids2);
            for (int p = 0; p <= 3; p++) for (int c = 0; c < TW; c++) assertEquals(h.get(0, p, c), h2.get(0, p, c), 0, "position " + p);
            assertTrue(Math.abs(h.get(0, 4, 0) - h2.get(0, 4, 0)) > 1e-6, "position 4 sees its own token");
            // features = state at the EOT position @ text_projection
            Tensor f = clip.encodeText(ids), f2 = clip.encodeText(ids2);
            double[] proj = clip.stateDict().get("text_projection").toDoubleArray();
            int[] eot = {3, 6};
            for (int n = 0; n < 2; n++) {
                for (int e = 0; e < EMBED; e++) {
                    double want = 0;
                    for (int c = 0; c < TW; c++) want += h.get(n, eot[n], c) * proj[c * EMBED + e];
                    assertEquals(want, f.get(n, e), 1e-5);
                }
            }
            for (int e = 0; e < EMBED; e++) assertEquals(f.get(0, e), f2.get(0, e), 0, "row 0 pools at 3, before the change");
        }
    }

    private static int[] toInts(Tensor t) {
        long[] l = t.toLongArray();
        int[] a = new int[l.length];
        for (int i = 0; i < l.length; i++) a[i] = (int) l[i];
        return a;
    }

    @Test
    void fewerTokensThanTheContextUseTheFirstPositions() {
        try (Clip clip = new Clip(tiny(), new Init(4)); MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor ids = ids(new int[]{2, 4}, 2);
            Tensor full = clip.textTokens(ids);
            Tensor head = clip.textTokens(Views.contiguous(Views.narrow(ids, 1, 0, 5)));
            assertArrayEquals(new int[]{2, 5, TW}, head.shape());
            for (int n = 0; n < 2; n++) for (int p = 0; p < 5; p++) for (int c = 0; c < TW; c++) {
                assertEquals(full.get(n, p, c), head.get(n, p, c), 1e-6);
            }
            Tensor f = clip.encodeText(ids), fh = clip.encodeText(Views.contiguous(Views.narrow(ids, 1, 0, 5)));
            for (int n = 0; n < 2; n++) for (int e = 0; e < EMBED; e++) assertEquals(f.get(n, e), fh.get(n, e), 1e-6);
            // I64 ids give the same as I32
            long[] l = ids.toLongArray();
            Tensor f64 = clip.encodeText(Tensor.ofLongs(l, 2, CTX));
            for (int n = 0; n < 2; n++) for (int e = 0; e < EMBED; e++) assertEquals(f.get(n, e), f64.get(n, e), 0);
        }
    }

    @Test
    void logitsAndLossAgainstAComputationInDoubles() {
        try (Clip clip = new Clip(tiny(), new Init(5)); MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor pixels = Creation.randn(6, DType.F32, 3, 3, 8, 8);
            Tensor ids = ids(new int[]{1, 4, 6}, 3);
            ClipOutput out = clip.forward(pixels, ids);
            double[] img = out.imageFeatures().toDoubleArray(), txt = out.textFeatures().toDoubleArray();
            double scale = Math.exp(clip.stateDict().get("logit_scale").item());
            assertEquals(1 / 0.07, scale, 1e-4);
            double[][] logits = new double[3][3];
            for (int i = 0; i < 3; i++) {
                for (int t = 0; t < 3; t++) {
                    double dot = 0, ni = 0, nt = 0;
                    for (int e = 0; e < EMBED; e++) {
                        dot += img[i * EMBED + e] * txt[t * EMBED + e];
                        ni += img[i * EMBED + e] * img[i * EMBED + e];
                        nt += txt[t * EMBED + e] * txt[t * EMBED + e];
                    }
                    logits[i][t] = scale * dot / Math.sqrt(ni * nt);
                    assertEquals(logits[i][t], out.logitsPerImage().get(i, t), 1e-4);
                    assertEquals(logits[i][t], out.logitsPerText().get(t, i), 1e-4);
                }
            }
            for (int i = 0; i < 3; i++) {
                double n = 0;
                for (int e = 0; e < EMBED; e++) n += Math.pow(out.imageEmbeds().get(i, e), 2);
                assertEquals(1, n, 1e-6);
            }
            double loss = 0;
            for (int i = 0; i < 3; i++) {
                double zr = 0, zc = 0;
                for (int j = 0; j < 3; j++) {
                    zr += Math.exp(logits[i][j]);
                    zc += Math.exp(logits[j][i]);
                }
                loss += (Math.log(zr) - logits[i][i] + Math.log(zc) - logits[i][i]) / 2 / 3;
            }
            assertEquals(loss, Clip.contrastiveLoss(out.logitsPerImage()).item(), 1e-5);
        }
    }

    @Test
    void lossGradientsMatchFiniteDifferences() {
        try (Clip clip = new Clip(tiny(), new Init(7))) {
            clip.to(DType.F64);
            Map<String, Tensor> p = clip.namedParameters();
            Tensor pixels = Creation.randn(8, DType.F64, 2, 3, 8, 8);
            Tensor ids = ids(new int[]{5, 2}, 4);
            Tensor[] checked = {p.get("text_projection"), p.get("logit_scale"), p.get("positional_embedding"), p.get("token_embedding.weight"),
                    p.get("transformer.resblocks.1.attn.in_proj_weight"), p.get("ln_final.weight"), p.get("visual.proj"), p.get("visual.class_embedding")};
            GradCheck.check("clip loss", in -> Clip.contrastiveLoss(clip.forward(pixels, ids).logitsPerImage()), checked);
            pixels.close();
            ids.close();
        }
    }

    @Test
    void stateDictHasOpenAiKeysOnly() {
        try (Clip clip = new Clip(tiny(), new Init(8))) {
            Map<String, Tensor> sd = clip.stateDict();
            for (String k : List.of("token_embedding.weight", "positional_embedding", "text_projection", "logit_scale", "ln_final.weight", "ln_final.bias",
                    "transformer.resblocks.1.attn.in_proj_weight", "transformer.resblocks.0.mlp.c_proj.bias", "visual.conv1.weight",
                    "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight", "visual.transformer.resblocks.0.ln_2.bias",
                    "visual.ln_post.bias", "visual.proj")) {
                assertTrue(sd.containsKey(k), k);
            }
            assertEquals(3 * 12 + 6 + 8, sd.size()); // three blocks of 12, six text-side and eight image-side tensors
            assertFalse(sd.containsKey("attn_mask") || sd.containsKey("token_positions"), "derived buffers are not saved");
            assertArrayEquals(new int[0], sd.get("logit_scale").shape());
            assertArrayEquals(new int[]{CTX, TW}, sd.get("positional_embedding").shape());
            assertArrayEquals(new int[]{TW, EMBED}, sd.get("text_projection").shape());
        }
    }

    @Test
    void geluActivationReachesEveryBlockOfBothTowers() {
        ClipConfig c = tiny().withActivations(Activation.GELU, Activation.GELU);
        try (Clip clip = new Clip(c, new Init(9)); Clip quick = new Clip(tiny(), new Init(9));
             MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            int blocks = 0;
            for (var e : clip.namedModules().entrySet()) {
                if (e.getValue() instanceof Mlp m) {
                    assertEquals(Activation.GELU, m.activation(), e.getKey());
                    blocks++;
                }
            }
            assertEquals(3, blocks);
            // same weights, different non-linearity: different features
            Tensor pixels = Creation.randn(10, DType.F32, 1, 3, 8, 8);
            assertTrue(Math.abs(clip.encodeImage(pixels).get(0, 0) - quick.encodeImage(pixels).get(0, 0)) > 1e-7);
        }
        try (Mlp m = new Mlp(4, 16, Activation.GELU, new Init(1)); MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor x = Creation.randn(2, DType.F32, 3, 4);
            dev.clipvil.nn.Linear fc = (dev.clipvil.nn.Linear) m.child("c_fc"), proj = (dev.clipvil.nn.Linear) m.child("c_proj");
            Tensor want = proj.forward(dev.clipvil.ops.Elementwise.gelu(fc.forward(x)));
            Tensor got = m.forward(x);
            for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) assertEquals(want.get(i, j), got.get(i, j), 0);
        }
        assertEquals(Activation.GELU, Activation.fromHf("gelu"));
        assertEquals(Activation.QUICK_GELU, Activation.fromHf("quick_gelu"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Activation.fromHf("gelu_new"));
        assertTrue(e.getMessage().contains("gelu_new"), e.getMessage());
    }

    @Test
    void badInputsAreRefused() {
        try (Clip clip = new Clip(tiny(), new Init(11)); MemoryScope s = MemoryScope.open()) {
            assertThrows(DTypeException.class, () -> clip.encodeText(Creation.zeros(DType.F32, 1, CTX)));
            ShapeException e = assertThrows(ShapeException.class, () -> clip.encodeText(Creation.zeros(DType.I32, 1, CTX + 1)));
            assertTrue(e.getMessage().contains("[1, 8]"), e.getMessage());
            assertThrows(ShapeException.class, () -> clip.encodeText(Creation.zeros(DType.I32, CTX)));
            assertThrows(ShapeException.class, () -> clip.encodeImage(Creation.zeros(DType.F32, 1, 3, 2, 10)));
            assertThrows(ShapeException.class, () -> Clip.contrastiveLoss(Creation.zeros(DType.F32, 2, 3)));
        }
        VisionTransformer other = new VisionTransformer(8, 4, 8, 1, 2, EMBED + 1, new Init(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Clip(tiny(), new VitImageEncoder(other), new Init(1)));
        assertTrue(e.getMessage().contains("gives 7 features"), e.getMessage());
        other.close();
        try (Clip rn = new Clip(ClipConfig.resnet(8, 64, new int[]{1, 1, 1, 1}, 8, CTX, VOCAB, TW, 2, 1), new Init(1))) {
            assertTrue(rn.visual() instanceof ModifiedResNet);
        }
    }

    @Test
    void trainingStepsHoldConstantMemory() {
        try (Clip clip = new Clip(tiny(), new Init(12)); AdamW opt = new AdamW(clip.namedParameters(), 1e-3);
             MemoryScope data = MemoryScope.open()) {
            Tensor pixels = Creation.randn(13, DType.F32, 4, 3, 8, 8);
            Tensor ids = ids(new int[]{1, 3, 5, 6}, 5);
            long after2 = 0;
            double first = 0, last = 0;
            for (int step = 1; step <= 8; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor loss = Clip.contrastiveLoss(clip.forward(pixels, ids).logitsPerImage());
                    Autograd.backward(loss);
                    opt.step();
                    opt.zeroGrad();
                    if (step == 1) first = loss.item();
                    last = loss.item();
                }
                if (step == 2) after2 = HostMemory.get().inUseBytes();
            }
            assertEquals(after2, HostMemory.get().inUseBytes(), "bytes in use after step 2 vs after step 8");
            assertTrue(last < first, "the loss falls: " + first + " -> " + last);
        }
    }
}
