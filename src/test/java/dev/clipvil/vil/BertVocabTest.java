package dev.clipvil.vil;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BertVocabTest {
    @Test
    void wholeWordsAfterBasicTokenization() {
        List<String> v = BertVocab.fromTexts(List.of("What color is the Circle?", "what shape is the red object?", "Café?"), 1);
        assertEquals(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "?", "cafe", "circle", "color", "is", "object",
                "red", "shape", "the", "what"), v);
        BertTokenizer tok = new BertTokenizer(v, true);
        assertEquals(List.of("what", "color", "is", "the", "circle", "?"), tok.tokenize("What color is the CIRCLE?"));
        assertEquals(List.of("[UNK]"), tok.tokenize("triangle"));
        assertEquals(0, tok.id("[PAD]"));
    }

    @Test
    void minCountDropsRareWords() {
        List<String> v = BertVocab.fromTexts(List.of("a b", "a c", "a b"), 2);
        assertEquals(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"), v);
        assertThrows(IllegalArgumentException.class, () -> BertVocab.fromTexts(List.of("a"), 0));
    }
}
