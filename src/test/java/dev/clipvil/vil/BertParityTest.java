package dev.clipvil.vil;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Reductions;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BERT (plain and fused with visual tokens) against HF transformers' BertForPreTraining outputs and
 * the gradients of mean(h^2) + 0.1 * sum(pooled), in float32 and eval mode. Prints the worst errors.
 */
class BertParityTest {
    static final double FORWARD_TOL = 1e-4, GRAD_TOL = 1e-3;

    private static void check(Map<String, Double> worst, String what, double err, double tol) {
        worst.merge(what.startsWith("grad.") ? "grad.*" : what, err, Math::max);
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
    }

    private static double fwd(String k, Tensor ours, Map<String, Tensor> exp) {
        Tensor e = exp.get(k);
        assertNotNull(e, "fixture lacks " + k);
        return BertFixtures.relErr(k, ours, e, BertFixtures.maxAbs(e));
    }

    /** The largest reference gradient of {@code k}; a key bias (exactly zero gradient) is judged against the layer's q/k/v biases. */
    private static double gradScale(String k, Map<String, Tensor> exp) {
        if (!k.endsWith("attention.self.key.bias")) return BertFixtures.maxAbs(exp.get("grad." + k));
        double m = 0;
        for (String p : new String[]{"query", "key", "value"}) m = Math.max(m, BertFixtures.maxAbs(exp.get("grad." + k.replace(".key.", "." + p + "."))));
        return m;
    }

    @Test
    void hfBertSmallForwardAndGradients() throws IOException {
        Path dir = BertFixtures.dir("BertParityTest", "config.json", "model.safetensors", "expected.safetensors");
        Map<String, Tensor> exp = SafeTensors.readAll(dir.resolve("expected.safetensors"));
        Map<String, Double> worst = new LinkedHashMap<>();
        try (BertForPreTraining model = BertLoader.load(dir); MemoryScope scope = MemoryScope.open()) {
            BertModel bert = model.bert();
            Tensor ids = exp.get("input_ids"), types = exp.get("token_type_ids"), mask = exp.get("attention_mask");
            BertOutput text;
            try (var ng = dev.clipvil.autograd.GradMode.noGrad()) {
                text = bert.forward(ids, types, mask);
            }
            check(worst, "text_only_last_hidden_state", fwd("text_only_last_hidden_state", text.lastHiddenState(), exp), FORWARD_TOL);
            check(worst, "text_only_pooled", fwd("text_only_pooled", text.pooled(), exp), FORWARD_TOL);

            BertOutput fused = bert.forward(ids, types, mask, exp.get("visual_embeds"));
            check(worst, "fused_last_hidden_state", fwd("fused_last_hidden_state", fused.lastHiddenState(), exp), FORWARD_TOL);
            check(worst, "fused_pooled", fwd("fused_pooled", fused.pooled(), exp), FORWARD_TOL);
            Tensor h = fused.lastHiddenState();
            Tensor loss = Elementwise.add(Reductions.mean(Elementwise.mul(h, h)), Elementwise.mul(Reductions.sum(fused.pooled()), 0.1));
            check(worst, "fused_loss", Math.abs(loss.item() - exp.get("fused_loss").item()) / Math.abs(exp.get("fused_loss").item()), FORWARD_TOL);
            Autograd.backward(loss);

            TreeSet<String> want = new TreeSet<>();
            for (String k : exp.keySet()) if (k.startsWith("grad.")) want.add(k.substring(5));
            TreeSet<String> have = new TreeSet<>();
            model.namedParameters().forEach((k, p) -> { if (p.grad() != null) have.add(k); });
            assertEquals(want, have, "parameters with gradients");
            Map<String, Tensor> params = model.namedParameters();
            for (String k : want) {
                check(worst, "grad." + k, BertFixtures.relErr("grad." + k, params.get(k).grad(), exp.get("grad." + k), gradScale(k, exp)), GRAD_TOL);
            }
        } finally {
            exp.values().forEach(Tensor::close);
        }
        StringBuilder sb = new StringBuilder("hf_bert_small worst max|a-b|/max|b|:");
        worst.forEach((k, v) -> sb.append(String.format(" %s %.2e;", k, v)));
        System.out.println(sb);
    }
}
