package dev.clipvil.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.ClipPreprocess;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertEncoding;
import dev.clipvil.vil.BertTokenizer;
import dev.clipvil.vil.ClipVil;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A trained run loaded for answering questions: the model with its last checkpoint's weights (eval
 * mode), the tokenizer and answer list the run saved, and its input size.
 */
public final class TrainedVqa implements AutoCloseable {
    private final ClipVil model;
    private final BertTokenizer tokenizer;
    private final List<String> answers;
    private final int imageSize, maxTextLength;
    private final long step;

    private TrainedVqa(ClipVil model, BertTokenizer tokenizer, List<String> answers, int imageSize, int maxTextLength, long step) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.answers = answers;
        this.imageSize = imageSize;
        this.maxTextLength = maxTextLength;
        this.step = step;
    }

    /** The run in {@code dir} (it must have a checkpoint), on the CPU. */
    public static TrainedVqa load(Path dir) throws IOException { return load(dir, Device.CPU); }

    /** The run in {@code dir} (it must have a checkpoint) with the model on {@code device}. */
    public static TrainedVqa load(Path dir, Device device) throws IOException {
        RunDir run = RunDir.open(dir);
        JsonObject rj = run.config();
        if (!rj.has("kind") || !rj.get("kind").getAsString().equals("clipvil-vqa")) {
            throw new IllegalArgumentException(run.configFile() + " is not a clipvil train run (no \"kind\": \"clipvil-vqa\")");
        }
        if (!run.checkpointer().exists()) throw new IllegalArgumentException(run.dir() + " has no checkpoint yet (the run saves one after each epoch and on Ctrl-C)");
        VqaTrainConfig c = VqaTrainConfig.fromJson(rj.getAsJsonObject("config"));
        if (c.gridDir() != null) {
            throw new IllegalArgumentException(run.dir() + " was trained on precomputed grid features (--grid " + c.gridDir()
                    + "): it has no image tower to read a picture with");
        }
        List<String> answers = new ArrayList<>();
        for (JsonElement e : rj.getAsJsonArray("answers")) answers.add(e.getAsString());
        VqaTrainer.Built b = VqaTrainer.rebuild(rj, c, run);
        long step;
        try (Checkpoint ck = run.checkpointer().load()) {
            b.model().loadStateDict(ck.model());
            step = ck.trainState().step();
            if (!device.equals(Device.CPU)) b.model().to(device);
        } catch (IOException | RuntimeException e) {
            b.model().close();
            throw e;
        }
        b.model().eval();
        return new TrainedVqa(b.model(), BertTokenizer.load(run.file(VqaTrainer.VOCAB), true), List.copyOf(answers), b.imageSize(),
                c.maxTextLength(), step);
    }

    /**
     * The {@code k} most likely answers to {@code question} about the picture in {@code image}: the
     * inputs go to the model's device, the logits come back in one read. The caller's autocast policy
     * applies to the forward pass.
     */
    public List<VqaPredict.Scored> ask(Path image, String question, int k) throws IOException {
        Device d = device();
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor pixels = Creation.onDevice(ClipPreprocess.loadResizedBatch(List.of(image), imageSize, imageSize), d);
            BertEncoding e = tokenizer.encodeBatch(List.of(question), maxTextLength);
            Tensor logits = model.forwardImages(Creation.onDevice(e.inputIdsTensor(), d), Creation.onDevice(e.tokenTypeIdsTensor(), d),
                    Creation.onDevice(e.attentionMaskTensor(), d), pixels, null);
            return VqaPredict.top(logits, answers, k);
        }
    }

    public List<String> answers() { return answers; }

    /** Where the model is. */
    public Device device() { return model.bert().embeddings().wordEmbeddings().weight().device(); }

    /** The optimizer step of the loaded checkpoint. */
    public long step() { return step; }

    @Override
    public void close() { model.close(); }
}
