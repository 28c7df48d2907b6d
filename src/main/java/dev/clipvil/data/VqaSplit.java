package dev.clipvil.data;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One split of a VQA v2-format folder ({@code DIR/v2_OpenEnded_mscoco_<split>_questions.json},
 * {@code DIR/v2_mscoco_<split>_annotations.json}, images {@code IMAGES/COCO_<split>_<12-digit id>.jpg}
 * with IMAGES = {@code DIR/<split>} by default): its questions joined with their annotations, in the
 * questions file's order. Bad input (a missing folder or file, an unknown split, malformed JSON, a
 * question without an annotation) is an error naming the file or folder. Image files are not opened
 * here; {@link VqaImages} does that.
 */
public final class VqaSplit {
    private static final Pattern QUESTIONS = Pattern.compile("v2_OpenEnded_mscoco_(.+)_questions\\.json");

    private final String split;
    private final Path dataDir, imageDir;
    private final boolean annotated;
    private final List<VqaItem> items;
    private final List<VqaAnnotation> annotations;
    private final List<Long> imageIds;

    private VqaSplit(String split, Path dataDir, Path imageDir, boolean annotated, List<VqaItem> items, List<VqaAnnotation> annotations) {
        this.split = split;
        this.dataDir = dataDir;
        this.imageDir = imageDir;
        this.annotated = annotated;
        this.items = Collections.unmodifiableList(items);
        this.annotations = Collections.unmodifiableList(annotations);
        LinkedHashSet<Long> ids = new LinkedHashSet<>();
        for (VqaItem it : items) ids.add(it.imageId());
        this.imageIds = List.copyOf(ids);
    }

    /**
     * Loads {@code split} from {@code dataDir}; {@code imageDir} null means {@code dataDir/split}. Without an
     * annotations file the items carry no answers, unless {@code requireAnnotations}, when that is an error.
     */
    public static VqaSplit load(Path dataDir, String split, Path imageDir, boolean requireAnnotations) throws IOException {
        if (!Files.isDirectory(dataDir))
            throw new IllegalArgumentException("VQA data folder " + dataDir + (Files.exists(dataDir) ? " is not a folder" : " does not exist"));
        Path qFile = dataDir.resolve(SyntheticVqa.questionsFile(split));
        if (!Files.isRegularFile(qFile)) {
            List<String> known = splits(dataDir);
            throw new IllegalArgumentException("unknown split '" + split + "': there is no " + qFile + "; splits in " + dataDir + ": "
                    + (known.isEmpty() ? "none (no v2_OpenEnded_mscoco_<split>_questions.json files)" : String.join(", ", known)));
        }
        Path images = imageDir != null ? imageDir : dataDir.resolve(split);
        if (!Files.isDirectory(images))
            throw new IllegalArgumentException("image folder " + images + " of split '" + split + "' "
                    + (Files.exists(images) ? "is not a folder" : "does not exist"));
        Path aFile = dataDir.resolve(SyntheticVqa.annotationsFile(split));
        boolean annotated = Files.isRegularFile(aFile);
        if (!annotated && requireAnnotations)
            throw new IllegalArgumentException("split '" + split + "' has no annotations: " + aFile + " does not exist");
        List<VqaQuestion> questions = VqaJson.readQuestions(qFile);
        Map<Long, VqaAnnotation> byQuestion = new HashMap<>();
        if (annotated) {
            for (VqaAnnotation a : VqaJson.readAnnotations(aFile)) {
                if (byQuestion.put(a.questionId(), a) != null)
                    throw VqaJson.fault(aFile, "question_id " + a.questionId() + " is annotated twice");
            }
        }
        List<VqaItem> items = new ArrayList<>(questions.size());
        List<VqaAnnotation> anns = new ArrayList<>();
        Map<Long, Boolean> seen = new HashMap<>();
        for (VqaQuestion q : questions) {
            if (seen.put(q.questionId(), true) != null) throw VqaJson.fault(qFile, "question_id " + q.questionId() + " appears twice");
            Path image = images.resolve(imageName(split, q.imageId()));
            if (!annotated) {
                items.add(new VqaItem(q.questionId(), q.imageId(), q.question(), image, List.of(), List.of(), null, null));
                continue;
            }
            VqaAnnotation a = byQuestion.get(q.questionId());
            if (a == null)
                throw VqaJson.fault(aFile, "has no annotation for question_id " + q.questionId() + " (image_id " + q.imageId() + ") of " + qFile);
            if (a.imageId() != q.imageId())
                throw VqaJson.fault(aFile, "question_id " + q.questionId() + " is annotated with image_id " + a.imageId() + " but "
                        + qFile.getFileName() + " gives image_id " + q.imageId());
            List<String> norm = new ArrayList<>(a.answers().size());
            for (String s : a.answers()) norm.add(VqaAnswers.normalize(s));
            items.add(new VqaItem(q.questionId(), q.imageId(), q.question(), image, norm, a.answers(), a.multipleChoiceAnswer(), a.answerType()));
            anns.add(a);
        }
        return new VqaSplit(split, dataDir, images, annotated, items, anns);
    }

    /** The file name of an image of a split: {@code COCO_<split>_<12-digit id>.jpg}. */
    public static String imageName(String split, long imageId) {
        return "COCO_" + split + "_" + String.format("%012d", imageId) + ".jpg";
    }

    /** The splits a folder holds, from its {@code v2_OpenEnded_mscoco_<split>_questions.json} file names, sorted. */
    public static List<String> splits(Path dataDir) throws IOException {
        TreeSet<String> out = new TreeSet<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dataDir)) {
            for (Path p : ds) {
                Matcher m = QUESTIONS.matcher(p.getFileName().toString());
                if (m.matches() && Files.isRegularFile(p)) out.add(m.group(1));
            }
        }
        return new ArrayList<>(out);
    }

    public String split() { return split; }

    public Path dataDir() { return dataDir; }

    public Path imageDir() { return imageDir; }

    /** Whether the split has an annotations file (its items carry answers). */
    public boolean annotated() { return annotated; }

    /** Every question with its annotation and image, in the questions file's order. */
    public List<VqaItem> items() { return items; }

    /** The annotations in the questions' order (empty when the split has none), e.g. for {@link VqaAnswerVocab#fromAnnotations}. */
    public List<VqaAnnotation> annotations() { return annotations; }

    /** The distinct image ids, in order of first appearance. */
    public List<Long> imageIds() { return imageIds; }

    public int size() { return items.size(); }
}
