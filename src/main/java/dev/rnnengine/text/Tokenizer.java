package dev.rnnengine.text;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Text to tokens, as the classifier file's {@code tokenizer} names it. */
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
     * Lower-cased words: runs of letters, digits, marks and inner apostrophes; every other
     * non-space character is a token of its own; white space separates.
     */
    WORD {
        @Override
        public List<String> tokenize(String text) {
            List<String> out = new ArrayList<>();
            Matcher m = WORD_PATTERN.matcher(text.toLowerCase(Locale.ROOT));
            while (m.find()) {
                out.add(m.group());
            }
            return out;
        }
    };

    private static final Pattern WORD_PATTERN =
        Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{M}\\p{N}]*(?:'[\\p{L}\\p{N}]+)*|[^\\s\\p{L}\\p{N}]");

    /** The tokens of a text. */
    public abstract List<String> tokenize(String text);

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
