"""The engine's text normalisation and tokenizers, in Python, for training scripts.

Training must turn text into tokens exactly as the engine does (dev.rnnengine.text.Tokenizer
and SentenceClassifier.tokens): lower-case first if the classifier file says lowercase=true,
then split. The classifier file records both (metadata 'tokenizer' and 'lowercase'), so a
model is always served with the tokenization it was trained with. TokenizerParityTest runs
this file against the Java tokenizers on the same strings.
"""
import unicodedata


def _is_space(ch):
    return ch.isspace()


def _is_letter_or_number(ch):
    return unicodedata.category(ch)[0] in "LN"


def _is_word_part(ch):
    return unicodedata.category(ch)[0] in "LMN"


def tokenize_word(text):
    """A letter or number, then letters, marks and numbers, then apostrophe-joined runs of
    letters and numbers; any other non-space character is a token of its own."""
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if _is_space(ch):
            i += 1
        elif _is_letter_or_number(ch):
            start = i
            i += 1
            while i < n and _is_word_part(text[i]):
                i += 1
            while i + 1 < n and text[i] == "'" and _is_letter_or_number(text[i + 1]):
                i += 1
                while i < n and _is_letter_or_number(text[i]):
                    i += 1
            out.append(text[start:i])
        else:
            out.append(ch)
            i += 1
    return out


def tokenize_char(text):
    """Every code point is a token."""
    return list(text)


def tokens(text, tokenizer, lowercase):
    """What SentenceClassifier.tokens gives for this text and these file settings."""
    if lowercase:
        text = text.lower()
    return tokenize_word(text) if tokenizer == "word" else tokenize_char(text)


if __name__ == "__main__":
    # One JSON list per line on stdin -> the tokens, for TokenizerParityTest.
    import json
    import sys
    for line in sys.stdin:
        text, tokenizer, lowercase = json.loads(line)
        print(json.dumps(tokens(text, tokenizer, lowercase), ensure_ascii=True))
