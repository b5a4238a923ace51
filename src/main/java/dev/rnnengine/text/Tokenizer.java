package dev.rnnengine.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Text to tokens, as the classifier file's {@code tokenizer} names it. Tokenizers do not
 * normalise: lower-casing is the classifier file's {@code lowercase} setting, applied before
 * tokenizing, the same way in training ({@code tools/text_ref.py}) and here.
 */
public enum Tokenizer {
    /** Every Unicode code point is a token (as Python's {@code list(s)}). */
    CHAR {
        @Override
        public List<String> tokenize(String text) {
            List<String> out = new ArrayList<>();
            text.codePoints().forEach(c -> out.add(new String(Character.toChars(c))));
            return out;
        }
    },
    /**
     * Words: a letter or number, then letters, marks and numbers, then any number of
     * apostrophe-joined runs of letters and numbers ({@code don't}, {@code o'clock}); every
     * other character that is not white space is a token of its own. One pass over the text,
     * no regular expression (a backtracking one overflowed the stack on long apostrophe chains).
     */
    WORD {
        @Override
        public List<String> tokenize(String text) {
            List<String> out = new ArrayList<>();
            int n = text.length();
            int i = 0;
            while (i < n) {
                int cp = text.codePointAt(i);
                if (isSpace(cp)) {
                    i += Character.charCount(cp);
                } else if (isLetterOrNumber(cp)) {
                    int start = i;
                    i += Character.charCount(cp);
                    while (i < n && isWordPart(text.codePointAt(i))) {
                        i += Character.charCount(text.codePointAt(i));
                    }
                    while (i + 1 < n && text.charAt(i) == '\'' && isLetterOrNumber(text.codePointAt(i + 1))) {
                        i++;
                        while (i < n && isLetterOrNumber(text.codePointAt(i))) {
                            i += Character.charCount(text.codePointAt(i));
                        }
                    }
                    out.add(text.substring(start, i));
                } else {
                    out.add(new String(Character.toChars(cp)));
                    i += Character.charCount(cp);
                }
            }
            return out;
        }
    };

    /** The tokens of a text, as it is. */
    public abstract List<String> tokenize(String text);

    /**
     * The tokens of a text after the classifier file's normalisation: lower-cased first
     * ({@link #lowercase}, as Python's {@code str.lower}) when {@code lowercase} is set.
     */
    public List<String> tokenize(String text, boolean lowercase) {
        return tokenize(lowercase ? lowercase(text) : text);
    }

    private static final int CAPITAL_SIGMA = 0x03A3;

    /**
     * Lower-cases as Python's {@code str.lower()} does, so training and serving agree: each code
     * point by Unicode's default mapping, and capital sigma by the Final_Sigma rule (ς after a
     * cased letter when no cased letter follows, else σ). Java's {@code toLowerCase} decides
     * final sigma differently (a sigma before a digit), which {@code TokenizerParityTest} found.
     */
    public static String lowercase(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            if (cp < 0x80) { // ASCII: the same mapping, without a String per character
                b.append((char) (cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp));
            } else if (cp == CAPITAL_SIGMA) {
                b.append(finalSigma(text, i) ? 'ς' : 'σ');
            } else {
                b.append(new String(Character.toChars(cp)).toLowerCase(java.util.Locale.ROOT));
            }
            i += Character.charCount(cp);
        }
        return b.toString();
    }

    /** Unicode's Final_Sigma condition for the sigma at {@code at} (as CPython's handle_capital_sigma). */
    private static boolean finalSigma(String s, int at) {
        int j = at;
        int before = -1;
        while (j > 0) {
            int c = s.codePointBefore(j);
            j -= Character.charCount(c);
            if (!caseIgnorable(c)) {
                before = c;
                break;
            }
        }
        if (before < 0 || !cased(before)) {
            return false;
        }
        for (int k = at + 1; k < s.length(); ) {
            int c = s.codePointAt(k);
            if (!caseIgnorable(c)) {
                return !cased(c);
            }
            k += Character.charCount(c);
        }
        return true;
    }

    /** Unicode's Cased: Lowercase, Uppercase or titlecase letters. */
    private static boolean cased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
    }

    /** Unicode's Case_Ignorable: marks, format characters, modifiers, and the word-internal punctuation. */
    private static boolean caseIgnorable(int cp) {
        switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT, Character.MODIFIER_LETTER,
                 Character.MODIFIER_SYMBOL:
                return true;
            default:
                // Word_Break MidLetter, MidNumLet, Single_Quote
                return switch (cp) {
                    case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52,
                         0xFE55, 0xFF07, 0xFF0E, 0xFF1A -> true;
                    default -> false;
                };
        }
    }

    /** Unicode white space (Python's {@code str.isspace}): separators, never tokens. */
    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x1C || cp == 0x1D || cp == 0x1E
            || cp == 0x1F || cp == 0x85;
    }

    /** Unicode categories L* and N*. */
    static boolean isLetterOrNumber(int cp) {
        return Character.isLetter(cp) || isNumber(cp);
    }

    private static boolean isNumber(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /** Unicode categories L*, M* and N*. */
    private static boolean isWordPart(int cp) {
        int t = Character.getType(cp);
        return isLetterOrNumber(cp) || t == Character.NON_SPACING_MARK || t == Character.COMBINING_SPACING_MARK
            || t == Character.ENCLOSING_MARK;
    }

    /**
     * The tokenizer of a name ({@code char} or {@code word}).
     *
     * @throws IllegalArgumentException for any other name
     */
    public static Tokenizer of(String name) {
        return switch (name) {
            case "char" -> CHAR;
            case "word" -> WORD;
            default -> throw new IllegalArgumentException("unknown tokenizer '" + name + "': use char or word");
        };
    }
}
