package dev.clipvil.vil;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Views;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLIP-ViL pre-training model: names, MLM/ITM heads and losses, gradients, tying, a tiny overfit, loading BERT weights. */
class ClipVilPretrainingTest {
    static final BertConfig TINY = new BertConfig(12, 8, 1, 2, 16, 8, 2, 1e-12, 0.0, 0.0, 0.3, 0);
    static final int FEATURES = 3;

    private static ClipVilPretraining tiny(long seed) {
        ClipVilPretraining m = new ClipVilPretraining(TINY, FEATURES, new Init(seed));
        m.eval();
        return m;
    }

    private static Tensor ids() { return Tensor.ofInts(new int[]{2, 5, 7, 3, 2, 9, 3, 0}, 2, 4); }

    private static Tensor mask() { return Tensor.ofInts(new int[]{1, 1, 1, 1, 1, 1, 1, 0}, 2, 4); }

    @Test
    void namesShapesAndHeadsOverTheTextPositions() {
        try (ClipVilPretraining m = tiny(1); MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            Map<String, Tensor> p = m.namedParameters();
            for (String k : p.keySet()) {
                assertTrue(k.startsWith("bert.") || k.startsWith("visual_tokens.") || k.startsWith("cls.") || k.startsWith("itm_head."), k);
            }
            for (String k : new String[]{"cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.predictions.transform.LayerNorm.bias",
                    "cls.seq_relationship.weight", "itm_head.weight", "itm_head.bias", "visual_tokens.proj.weight"}) {
                assertTrue(p.containsKey(k), k);
            }
            assertArrayEquals(new int[]{2, 8}, p.get("itm_head.weight").shape());
            assertFalse(m.stateDict().keySet().stream().anyMatch(k -> k.startsWith("cls.predictions.decoder")), "the decoder is the word embedding table");
            Tensor grid = Creation.randn(3, DType.F32, 2, FEATURES, 2, 3);
            ClipVilPretraining.Output o = m.forward(ids(), null, mask(), grid);
            assertArrayEquals(new int[]{2, 4, 12}, o.mlmLogits().shape());
            assertArrayEquals(new int[]{2, 2}, o.itmLogits().shape());
            BertOutput h = m.bert().forward(ids(), null, mask(), m.visualTokens().forward(grid));
            assertArrayEquals(new int[]{2, 10, 8}, h.lastHiddenState().shape());
            assertArrayEquals(m.cls().mlmLogits(Views.narrow(h.lastHiddenState(), 1, 0, 4)).toFloatArray(), o.mlmLogits().toFloatArray(), 1e-6f);
            assertArrayEquals(m.itmHead().forward(h.pooled()).toFloatArray(), o.itmLogits().toFloatArray(), 1e-6f);
            assertThrows(ShapeException.class, () -> ClipVilPretraining.mlmLoss(o.mlmLogits(), Tensor.ofInts(new int[8], 2, 4, 1)));
            assertThrows(ShapeException.class, () -> ClipVilPretraining.itmLoss(o.itmLogits(), Tensor.ofInts(new int[3], 3)));
            assertThrows(IllegalArgumentException.class, () -> ClipVilPretraining.itmLoss(o.itmLogits(), Tensor.of(new float[2], 2)));
        }
    }

    @Test
    void lossesByHand() {
        try (MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            Tensor logits = Creation.randn(4, DType.F64, 2, 3, 5);
            int[] labels = {-100, 4, -100, 0, -100, 2};
            double[] x = logits.toDoubleArray();
            double sum = 0;
            int count = 0;
            for (int r = 0; r < 6; r++) {
                if (labels[r] == -100) continue;
                double lse = 0;
                for (int c = 0; c < 5; c++) lse += Math.exp(x[r * 5 + c]);
                sum += Math.log(lse) - x[r * 5 + labels[r]];
                count++;
            }
            assertEquals(sum / count, ClipVilPretraining.mlmLoss(logits, Tensor.ofInts(labels, 2, 3)).item(), 1e-12);
            int[] none = {-100, -100, -100, -100, -100, -100};
            assertEquals(0.0, ClipVilPretraining.mlmLoss(logits, Tensor.ofInts(none, 2, 3)).item(), "no masked token: 0, not NaN");
            Tensor itm = Tensor.of(new double[]{0.5, -1, 2, 0.25}, 2, 2);
            double e = (Math.log(Math.exp(0.5) + Math.exp(-1)) + 1 + Math.log(Math.exp(2) + Math.exp(0.25)) - 2) / 2;
            assertEquals(e, ClipVilPretraining.itmLoss(itm, Tensor.ofInts(new int[]{1, 0}, 2)).item(), 1e-12);
        }
    }

    @Test
    void gradCheckThroughTheHeadsAndLosses() {
        try (ClipVilPretraining m = tiny(2)) {
            m.to(DType.F64);
            Map<String, Tensor> p = m.namedParameters();
            Tensor grid = GradCheck.input(5, 2, FEATURES, 2, 2);
            // no pad id in the text: its embedding row deliberately gets no gradient (padding_idx), which finite differences would see
            Tensor ids = Tensor.ofInts(new int[]{2, 5, 7, 3, 2, 9, 3, 6}, 2, 4), mask = mask();
            Tensor labels = Tensor.ofInts(new int[]{-100, 5, -100, 11, -100, 4, -100, -100}, 2, 4);
            Tensor matched = Tensor.ofInts(new int[]{1, 0}, 2);
            Tensor[] mlmIn = {grid, p.get("bert.embeddings.word_embeddings.weight"), p.get("cls.predictions.transform.dense.weight"),
                    p.get("cls.predictions.transform.LayerNorm.weight"), p.get("cls.predictions.bias")};
            GradCheck.check("pretraining mlm logits", x -> m.forward(ids, null, mask, x[0]).mlmLogits(), mlmIn);
            GradCheck.check("pretraining mlm loss", x -> ClipVilPretraining.mlmLoss(m.forward(ids, null, mask, x[0]).mlmLogits(), labels), mlmIn);
            Tensor[] itmIn = {grid, p.get("itm_head.weight"), p.get("itm_head.bias"), p.get("bert.pooler.dense.weight"), p.get("visual_tokens.proj.weight")};
            GradCheck.check("pretraining itm logits", x -> m.forward(ids, null, mask, x[0]).itmLogits(), itmIn);
            GradCheck.check("pretraining itm loss", x -> ClipVilPretraining.itmLoss(m.forward(ids, null, mask, x[0]).itmLogits(), matched), itmIn);
            m.bert().setPoolerTanh(false);
            GradCheck.check("pretraining itm loss, linear pooler", x -> ClipVilPretraining.itmLoss(m.forward(ids, null, mask, x[0]).itmLogits(), matched), itmIn);
            // mismatched pairs: the swapped grid passes gradients back to the rows it used
            ItmPairs pairs = new ItmPairs(new int[]{1, 1}, new int[]{0, 1});
            GradCheck.check("pretraining itm loss, swapped images", x -> ClipVilPretraining.itmLoss(m.forward(ids, null, mask, pairs.apply(x[0])).itmLogits(),
                    pairs.matchedTensor()), grid);
        }
    }

    @Test
    void mlmGradientReachesTheTiedWordEmbeddings() {
        try (ClipVilPretraining m = tiny(3); MemoryScope s = MemoryScope.open()) {
            m.to(DType.F64);
            Tensor words = m.bert().embeddings().wordEmbeddings().weight();
            assertSame(words, m.namedParameters().get("bert.embeddings.word_embeddings.weight"));
            Tensor labels = Tensor.ofInts(new int[]{-100, 5, -100, -100, -100, 4, -100, -100}, 2, 4);
            Autograd.backward(ClipVilPretraining.mlmLoss(m.forward(ids(), null, mask(), Creation.randn(6, DType.F64, 2, FEATURES, 2, 2)).mlmLogits(), labels));
            // id 10 is not in the input: only the decoder (the tied table) can give its row a gradient
            double[] g = words.grad().toDoubleArray();
            double row10 = 0;
            for (int k = 0; k < 8; k++) row10 += Math.abs(g[10 * 8 + k]);
            assertTrue(row10 > 1e-6, "decoder gradient reaches word_embeddings row 10: " + row10);
            assertTrue(m.itmHead().weight().grad() == null, "MLM alone gives the ITM head no gradient");
        }
    }

    @Test
    void tinyModelOverfitsMlmAndItm() {
        long t0 = System.nanoTime();
        try (ClipVilPretraining m = new ClipVilPretraining(TINY, FEATURES, new Init(12))) {
            m.train();
            m.visualTokens().setSampleTokens(0);
            // a fixed, dense masking so every example teaches something
            int[] in = {2, 1, 7, 3, 2, 9, 1, 3, 2, 1, 4, 3, 2, 6, 1, 3};
            int[] lab = {-100, 5, -100, -100, -100, -100, 6, -100, -100, 11, -100, -100, -100, -100, 8, -100};
            Tensor inT = Tensor.ofInts(in, 4, 4), labT = Tensor.ofInts(lab, 4, 4);
            Tensor grid = Creation.randn(13, DType.F32, 4, FEATURES, 2, 2);
            ItmPairs pairs = new ItmPairs(new int[]{0, 2, 2, 1}, new int[]{1, 0, 1, 0});
            double first = 0, last = 0;
            try (AdamW opt = new AdamW(m.namedParameters(), 2e-2, 0.9, 0.999, 1e-6, 0.0)) {
                for (int step = 0; step < 25; step++) {
                    try (MemoryScope s = MemoryScope.open()) {
                        opt.zeroGrad();
                        ClipVilPretraining.Output o = m.forward(inT, null, null, pairs.apply(grid));
                        Tensor loss = dev.clipvil.ops.Elementwise.add(ClipVilPretraining.mlmLoss(o.mlmLogits(), labT),
                                ClipVilPretraining.itmLoss(o.itmLogits(), pairs.matchedTensor()));
                        double v = loss.item();
                        if (step == 0) first = v;
                        last = v;
                        Autograd.backward(loss);
                        opt.step();
                    }
                }
            }
            grid.close();
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("ClipVilPretraining overfit: MLM+ITM %.3f -> %.3f in 25 AdamW steps, %.2f s%n", first, last, secs);
            assertTrue(last < first / 3, "loss " + first + " -> " + last);
        }
    }

    @Test
    void loadsBertAndClsKeysFromTheHfFolder() throws IOException {
        Path dir = BertFixtures.dir("ClipVilPretrainingTest", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        try (ClipVilPretraining m = ClipVilPretraining.fromBert(dir, 6, new Init(4)); BertForPreTraining ref = BertLoader.load(dir);
             MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            Map<String, Tensor> ours = m.stateDict(), theirs = ref.stateDict();
            int compared = 0;
            for (var e : theirs.entrySet()) {
                assertTrue(ours.containsKey(e.getKey()), e.getKey());
                assertArrayEquals(e.getValue().toFloatArray(), ours.get(e.getKey()).toFloatArray(), 0f, e.getKey());
                compared++;
            }
            assertEquals(theirs.size(), compared);
            m.eval();
            Tensor ids = exp.get("input_ids"), types = exp.get("token_type_ids"), mask = exp.get("attention_mask");
            ClipVilPretraining.Output o = m.forwardTokens(ids, types, mask, exp.get("visual_embeds"));
            BertOutput fused = m.bert().forward(ids, types, mask, exp.get("visual_embeds"));
            double err = BertFixtures.relErr("fused_last_hidden_state", fused.lastHiddenState(), exp.get("fused_last_hidden_state"),
                    BertFixtures.maxAbs(exp.get("fused_last_hidden_state")));
            assertTrue(err <= 1e-4, "fused hidden state error " + err);
            Tensor refMlm = ref.cls().mlmLogits(Views.narrow(ref.bert().forward(ids, types, mask, exp.get("visual_embeds")).lastHiddenState(), 1, 0, ids.shape(1)));
            assertArrayEquals(refMlm.toFloatArray(), o.mlmLogits().toFloatArray(), 0f);
            System.out.printf("ClipVilPretraining from hf_bert_small: %d bert/cls tensors equal; fused hidden state rel. error %.2e%n", compared, err);
            try (ClipVil vqa = new ClipVil(BertLoader.config(dir), 6, 4, new Init(9))) {
                m.copyTrunkInto(vqa);
                assertArrayEquals(ours.get("bert.pooler.dense.weight").toFloatArray(), vqa.stateDict().get("bert.pooler.dense.weight").toFloatArray(), 0f);
                assertArrayEquals(ours.get("visual_tokens.proj.weight").toFloatArray(), vqa.stateDict().get("visual_tokens.proj.weight").toFloatArray(), 0f);
            }
        } finally {
            exp.values().forEach(Tensor::close);
        }
    }
}
