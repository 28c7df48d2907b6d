package dev.clipvil.data;

/** One entry of a VQA v2 questions file. */
public record VqaQuestion(long questionId, long imageId, String question) {}
