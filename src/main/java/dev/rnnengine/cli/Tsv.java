package dev.rnnengine.cli;

import java.io.PrintStream;

/**
 * The one writer of tab-separated rows: fields are escaped so that a tab, a newline or a
 * backslash inside a text can never split or shift a row ({@code \t}, {@code \n}, {@code \r},
 * {@code \\}, as PostgreSQL's text format and Python's {@code unicode_escape} read them).
 */
final class Tsv {
    private Tsv() { }

    /** The field with {@code \\}, tab, newline and carriage return escaped. */
    static String escape(String field) {
        StringBuilder b = null;
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            String e = switch (c) {
                case '\\' -> "\\\\";
                case '\t' -> "\\t";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                default -> null;
            };
            if (e != null && b == null) {
                b = new StringBuilder(field.length() + 8).append(field, 0, i);
            }
            if (b != null) {
                if (e != null) {
                    b.append(e);
                } else {
                    b.append(c);
                }
            }
        }
        return b == null ? field : b.toString();
    }

    /** Writes one row: the fields escaped, joined by tabs, then a newline. */
    static void row(PrintStream out, String... fields) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < fields.length; i++) {
            b.append(i == 0 ? "" : "\t").append(escape(fields[i]));
        }
        out.print(b.append('\n'));
    }
}
