package dev.clipvil.data;

import java.util.Map;

/** VQA accuracies in percent rounded to 2 decimals (as the official script reports them), over {@code count} questions. */
public record VqaScore(double overall, Map<String, Double> perAnswerType, Map<String, Double> perQuestionType, int count) {}
