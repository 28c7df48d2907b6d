package dev.clipvil.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Normalisation cases worked out by hand from the rules of the official vqaEval.py. */
class VqaAnswersTest {
    @Test
    void punctuationIsDeletedNextToSpacesOrReplacedBySpace() {
        assertEquals("red blue", VqaAnswers.punctuation("red/blue"));
        assertEquals("yes it is", VqaAnswers.punctuation("yes, it is"));
        assertEquals("red blue", VqaAnswers.punctuation("red ;blue"), "';' after a space is deleted");
        assertEquals("don t", VqaAnswers.punctuation("don't"));
        assertEquals("what ", VqaAnswers.punctuation("what?"), "'?' with no space either side becomes a space");
        assertEquals("what", VqaAnswers.normalize("what?"), "the word split drops it");
    }

    @Test
    void aCommaBetweenDigitsDeletesEveryMark() {
        assertEquals("1000", VqaAnswers.punctuation("1,000"));
        assertEquals("15 approx", VqaAnswers.punctuation("1,5 (approx)"));
        assertEquals("1000", VqaAnswers.normalize("1,000"));
    }

    @Test
    void periodsGoUnlessBeforeADigitAndAtMost32() {
        assertEquals("hello world", VqaAnswers.punctuation("hello. world."));
        assertEquals("3.5", VqaAnswers.punctuation("3.5"));
        assertEquals("x.", VqaAnswers.punctuation("x" + ".".repeat(33)));
        assertEquals("x", VqaAnswers.punctuation("x" + ".".repeat(32)));
    }

    @Test
    void numberWordsArticlesAndCase() {
        assertEquals("2", VqaAnswers.normalize("Two"));
        assertEquals("0", VqaAnswers.normalize("none"));
        assertEquals("10 dogs", VqaAnswers.normalize("ten dogs"));
        assertEquals("eleven", VqaAnswers.normalize("eleven"));
        assertEquals("red car", VqaAnswers.normalize("  A red car.\n"));
        assertEquals("dog", VqaAnswers.normalize("the\tdog"));
        assertEquals("", VqaAnswers.normalize("an"));
    }

    @Test
    void contractionsAsTheScriptHasThem() {
        assertEquals("don\u2019t", VqaAnswers.normalize("dont"));
        assertEquals("isn\u2019t", VqaAnswers.normalize("isnt"));
        assertEquals("can't", VqaAnswers.normalize("cant"));
        assertEquals("we've", VqaAnswers.normalize("weve"));
        assertEquals("\u2019twas", VqaAnswers.normalize("twas"));
        assertEquals("im", VqaAnswers.normalize("Im"), "the script's key 'Im' is capitalised and never matches lower-cased text");
        assertEquals("don t", VqaAnswers.normalize("don't"));
        assertEquals(120, VqaContractions.MAP.size());
    }
}
