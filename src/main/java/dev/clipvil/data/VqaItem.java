package dev.clipvil.data;

import java.nio.file.Path;
import java.util.List;

/**
 * One question of a VQA split joined with its annotation and image file: the ids, the question text,
 * the image's path, the human answers normalised as the official evaluation does ({@link VqaAnswers#normalize})
 * and as given ({@code rawAnswers}, which {@link VqaAnswerVocab} scores), the multiple-choice answer and
 * the answer type. Without annotations (a test split) the answer lists are empty and the two strings null.
 */
public record VqaItem(long questionId, long imageId, String question, Path image, List<String> answers,
                      List<String> rawAnswers, String multipleChoiceAnswer, String answerType) {
    public VqaItem {
        answers = List.copyOf(answers);
        rawAnswers = List.copyOf(rawAnswers);
    }

    /** Whether the item carries human answers (it came from an annotated split). */
    public boolean annotated() { return !rawAnswers.isEmpty(); }
}
