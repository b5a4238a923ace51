#!/usr/bin/python3
"""Trains the demo model: which language a word is in, from Debian's word lists.

Reproducible: Debian bookworm packages wamerican (2020.12.07-2), wngerman (20161207-11),
wfrench (1.2.7-2), wspanish (1.0.30), witalian (1.10), wportuguese (20220621-1), wdutch
(1:2.20.19-2) under /usr/share/dict; PyTorch 1.13 (python3-torch); fixed seeds; a seeded
90/10 train/test split of the words; words found in two lists are left out (no right answer).

    apt-get install python3-torch wamerican wngerman wfrench wspanish witalian wportuguese wdutch
    /usr/bin/python3 tools/train_langid.py src/main/resources/dev/rnnengine/demo/langid.safetensors

Model: character embedding (32) -> 1-layer bidirectional GRU (96) -> last states of both
directions -> linear (7). Prints the held-out accuracy.
"""
import collections
import json
import os
import random
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier_ref import SentenceClassifier  # noqa: E402
from export_classifier import save_classifier  # noqa: E402

LISTS = [("english", "american-english"), ("german", "ngerman"), ("french", "french"), ("spanish", "spanish"),
         ("italian", "italian"), ("portuguese", "portuguese"), ("dutch", "dutch")]
PER_LANGUAGE = 20000
SEED = 20261123
EPOCHS = 6


def main(out):
    random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    words = {}
    for lang, f in LISTS:
        ws = set()
        for line in open(os.path.join("/usr/share/dict", f), encoding="utf-8"):
            w = line.strip().lower()
            if 2 <= len(w) <= 24 and "'" not in w:
                ws.add(w)
        words[lang] = ws
    counts = collections.Counter(w for ws in words.values() for w in ws)
    labels = [lang for lang, _ in LISTS]
    data = []
    for i, lang in enumerate(labels):
        unique = sorted(w for w in words[lang] if counts[w] == 1)
        random.shuffle(unique)
        data += [(w, i) for w in unique[:PER_LANGUAGE]]
    random.shuffle(data)
    cut = len(data) * 9 // 10
    train, test = data[:cut], data[cut:]
    chars = collections.Counter(c for w, _ in train for c in w)
    vocab = ["<pad>", "<unk>"] + sorted(c for c, n in chars.items() if n >= 5)
    index = {c: i for i, c in enumerate(vocab)}
    print(f"{len(train)} training words, {len(test)} held out, {len(vocab)} characters", flush=True)

    def batch(items):
        n, t = len(items), max(len(w) for w, _ in items)
        tokens = torch.zeros(n, t, dtype=torch.long)
        for j, (w, _) in enumerate(items):
            tokens[j, :len(w)] = torch.tensor([index.get(c, 1) for c in w])
        lengths = torch.tensor([len(w) for w, _ in items])
        return tokens, lengths, torch.tensor([y for _, y in items])

    rnn = torch.nn.GRU(32, 96, batch_first=True, bidirectional=True)
    model = SentenceClassifier(len(vocab), 32, rnn, len(labels), "last", pad_index=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.time()
    for epoch in range(EPOCHS):
        model.train()
        random.shuffle(train)
        total = 0.0
        for k in range(0, len(train), 256):
            tokens, lengths, y = batch(train[k:k + 256])
            loss = torch.nn.functional.cross_entropy(model(tokens, lengths), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        print(f"epoch {epoch + 1}: train loss {total / len(train):.4f} ({time.time() - start:.0f} s)", flush=True)
    model.eval()
    right = 0
    with torch.no_grad():
        for k in range(0, len(test), 1024):
            tokens, lengths, y = batch(test[k:k + 1024])
            right += (model(tokens, lengths).argmax(1) == y).sum().item()
    acc = right / len(test)
    print(f"held-out accuracy: {acc:.4f} on {len(test)} words ({len(train)} trained on)")
    save_classifier(out, model.embedding, model.rnn, model.fc, "last", "char", labels, vocab, 1, 0, lowercase=True)
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1])
