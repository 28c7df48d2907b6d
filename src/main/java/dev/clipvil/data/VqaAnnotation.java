package dev.clipvil.data;

import java.util.List;

/** One entry of a VQA v2 annotations file: the types and the (usually 10) raw human answers. */
public record VqaAnnotation(long questionId, long imageId, String questionType, String answerType,
                            List<String> answers, String multipleChoiceAnswer) {
    public VqaAnnotation {
        answers = List.copyOf(answers);
    }
}
