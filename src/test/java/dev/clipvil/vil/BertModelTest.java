package dev.clipvil.vil;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Identity;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.StateDictException;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BERT's module tree, masking and fusion semantics, and loading, on a tiny random model. */
class BertModelTest {
    static final BertConfig TINY = new BertConfig(20, 8, 2, 2, 16, 12, 2, 1e-12, 0.1, 0.1, 0.02, 0);

    private static BertForPreTraining tiny() {
        BertForPreTraining m = new BertForPreTraining(TINY, new Init(7));
        m.eval();
        return m;
    }

    private static double[] rows(Tensor t, int batch, int from, int to) {
        int s = t.shape(1), h = t.shape(2);
        double[] all = t.toDoubleArray(), out = new double[(to - from) * h];
        System.arraycopy(all, (batch * s + from) * h, out, 0, out.length);
        return out;
    }

    private static void close(double[] a, double[] b) {
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-5, "element " + i);
    }

    @Test
    void stateDictFollowsHfBertForPreTrainingNames() {
        try (BertForPreTraining m = tiny()) {
            Map<String, Tensor> sd = m.stateDict();
            assertEquals(5 + 16 * 2 + 2 + 7, sd.size(), sd.keySet().toString());
            for (String k : new String[]{"bert.embeddings.word_embeddings.weight", "bert.embeddings.LayerNorm.bias",
                    "bert.encoder.layer.1.attention.self.key.bias", "bert.encoder.layer.0.attention.output.LayerNorm.weight",
                    "bert.encoder.layer.1.intermediate.dense.weight", "bert.encoder.layer.0.output.dense.weight",
                    "bert.pooler.dense.bias", "cls.predictions.bias", "cls.predictions.transform.dense.weight",
                    "cls.predictions.transform.LayerNorm.weight", "cls.seq_relationship.weight"}) {
                assertTrue(sd.containsKey(k), k);
            }
            assertArrayEquals(new int[]{16, 8}, sd.get("bert.encoder.layer.0.intermediate.dense.weight").shape());
            assertArrayEquals(new int[]{8, 16}, sd.get("bert.encoder.layer.0.output.dense.weight").shape());
        }
    }

    @Test
    void paddingIsInvisibleAndVisualTokensHaveNoPosition() {
        try (BertForPreTraining m = tiny(); MemoryScope scope = MemoryScope.open(); var ng = GradMode.noGrad()) {
            BertModel bert = m.bert();
            Tensor ids = Tensor.ofInts(new int[]{2, 7, 9, 3, 0, 0}, 1, 6), other = Tensor.ofInts(new int[]{2, 7, 9, 3, 11, 5}, 1, 6);
            Tensor types = Tensor.ofInts(new int[]{0, 0, 0, 0, 1, 1}, 1, 6), mask = Tensor.ofInts(new int[]{1, 1, 1, 1, 0, 0}, 1, 6);
            Tensor vis = Creation.randn(3, DType.F32, 1, 3, 8);
            BertOutput a = bert.forward(ids, types, mask, vis), b = bert.forward(other, types, mask, vis);
            assertArrayEquals(new int[]{1, 9, 8}, a.lastHiddenState().shape());
            close(rows(a.lastHiddenState(), 0, 0, 4), rows(b.lastHiddenState(), 0, 0, 4));
            close(rows(a.lastHiddenState(), 0, 6, 9), rows(b.lastHiddenState(), 0, 6, 9));
            close(a.pooled().toDoubleArray(), b.pooled().toDoubleArray());
            // the text alone, unpadded, equals the padded text without visual tokens
            BertOutput shortText = bert.forward(Tensor.ofInts(new int[]{2, 7, 9, 3}, 1, 4), null, null);
            BertOutput padded = bert.forward(ids, types, mask);
            close(rows(shortText.lastHiddenState(), 0, 0, 4), rows(padded.lastHiddenState(), 0, 0, 4));
            // swapping two visual tokens swaps their outputs and leaves the text unchanged
            double[] v = vis.toDoubleArray(), w = v.clone();
            System.arraycopy(v, 0, w, 16, 8);
            System.arraycopy(v, 16, w, 0, 8);
            float[] wf = new float[w.length];
            for (int i = 0; i < w.length; i++) wf[i] = (float) w[i];
            BertOutput c = bert.forward(ids, types, mask, Tensor.of(wf, 1, 3, 8));
            close(rows(a.lastHiddenState(), 0, 0, 4), rows(c.lastHiddenState(), 0, 0, 4));
            close(rows(a.lastHiddenState(), 0, 6, 7), rows(c.lastHiddenState(), 0, 8, 9));
            assertThrows(ShapeException.class, () -> bert.forward(ids, types, mask, Creation.zeros(1, 3, 7)));
            assertThrows(ShapeException.class, () -> bert.forward(Tensor.ofInts(new int[13], 1, 13), null, null));
        }
    }

    @Test
    void explicitAttentionMatchesTheFusedKernelAndHasGradients() {
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor q = Creation.randn(1, DType.F64, 2, 2, 4, 3), k = Creation.randn(2, DType.F64, 2, 2, 4, 3), v = Creation.randn(3, DType.F64, 2, 2, 4, 3);
            Tensor mask = Tensor.ofBools(new boolean[]{true, true, false, true, true, false, false, true}, 2, 1, 1, 4);
            Tensor fused = dev.clipvil.ops.Attention.scaledDotProduct(q, k, v, mask, false, Double.NaN);
            Tensor ex = BertSelfAttention.explicit(q, k, v, mask, new Identity());
            close(fused.toDoubleArray(), ex.toDoubleArray());
            q.requiresGrad(true);
            k.requiresGrad(true);
            v.requiresGrad(true);
            GradCheck.check("bert explicit attention", in -> BertSelfAttention.explicit(in[0], in[1], in[2], mask, new Identity()), q, k, v);
        }
    }

    @Test
    void trainingModeDropsAttentionAndHiddenUnits() {
        try (BertForPreTraining m = tiny(); MemoryScope scope = MemoryScope.open(); var ng = GradMode.noGrad()) {
            Tensor ids = Tensor.ofInts(new int[]{2, 7, 9, 3, 0}, 1, 5), mask = Tensor.ofInts(new int[]{1, 1, 1, 1, 0}, 1, 5);
            double[] e1 = m.bert().forward(ids, null, mask).pooled().toDoubleArray();
            close(e1, m.bert().forward(ids, null, mask).pooled().toDoubleArray());
            m.train();
            double[] t1 = m.bert().forward(ids, null, mask).pooled().toDoubleArray();
            double[] t2 = m.bert().forward(ids, null, mask).pooled().toDoubleArray();
            assertTrue(!java.util.Arrays.equals(t1, t2), "dropout masks differ between calls");
        }
    }

    @Test
    void pretrainingHeadsShareTheWordEmbeddings() {
        try (BertForPreTraining m = tiny(); MemoryScope scope = MemoryScope.open(); var ng = GradMode.noGrad()) {
            BertOutput o = m.bert().forward(Tensor.ofInts(new int[]{2, 5, 3}, 1, 3), null, null);
            assertArrayEquals(new int[]{1, 3, 20}, m.cls().mlmLogits(o.lastHiddenState()).shape());
            assertArrayEquals(new int[]{1, 2}, m.cls().nspLogits(o.pooled()).shape());
            assertSame(m.bert().embeddings().wordEmbeddings().weight(), m.namedParameters().get("bert.embeddings.word_embeddings.weight"));
        }
    }

    @Test
    void loadsBareBertModelCheckpointsWithOldKeyNames(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"vocab_size\":20,\"hidden_size\":8,\"num_hidden_layers\":2,"
                + "\"num_attention_heads\":2,\"intermediate_size\":16,\"max_position_embeddings\":12,\"hidden_act\":\"gelu\"}");
        try (BertForPreTraining src = tiny()) {
            LinkedHashMap<String, Tensor> sd = new LinkedHashMap<>();
            src.bert().stateDict().forEach((k, v) -> sd.put(k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"), v));
            sd.put("embeddings.position_ids", Tensor.ofInts(new int[12], 1, 12));
            SafeTensors.write(dir.resolve("model.safetensors"), sd);
            try (BertForPreTraining loaded = BertLoader.load(dir); MemoryScope scope = MemoryScope.open(); var ng = GradMode.noGrad()) {
                Tensor ids = Tensor.ofInts(new int[]{2, 5, 6, 3}, 1, 4);
                close(src.bert().forward(ids, null, null).pooled().toDoubleArray(), loaded.bert().forward(ids, null, null).pooled().toDoubleArray());
                assertTrue(!loaded.isTraining());
            }
            sd.put("pooler.extra", Tensor.ofInts(new int[1], 1));
            SafeTensors.write(dir.resolve("model.safetensors"), sd);
            assertThrows(StateDictException.class, () -> BertLoader.load(dir));
        }
        Files.writeString(dir.resolve("config.json"), "{\"vocab_size\":20,\"hidden_size\":8,\"num_hidden_layers\":2,"
                + "\"num_attention_heads\":2,\"intermediate_size\":16,\"hidden_act\":\"relu\"}");
        assertThrows(IllegalArgumentException.class, () -> BertLoader.load(dir));
    }
}
