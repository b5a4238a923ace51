#!/usr/bin/python3
"""Makes the classifier golden cases: PyTorch-built sentence classifiers (several cells,
pooling modes, directions, layouts) on padded batches, with logits computed in float64.

    /usr/bin/python3 tools/make_classifier_cases.py src/test/resources/golden/classifier

Each case directory holds model.safetensors (the classifier file contract), input.safetensors
(tokens I64 (N, T), lengths I64 (N)) and expected.safetensors (logits F64 (N, C)).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier_ref import SentenceClassifier  # noqa: E402
from export_classifier import save_classifier  # noqa: E402
from export_rnn import save_safetensors  # noqa: E402

CASES = [
    # name, cell, E, H, layers, bidirectional, proj, batch_first, bias, pooling, classes, tokenizer
    ("lstm_last", "LSTM", 8, 12, 1, False, 0, True, True, "last", 4, "char"),
    ("gru_bi_mean_2layers", "GRU", 6, 9, 2, True, 0, False, True, "mean", 3, "word"),
    ("rnn_tanh_max", "RNN_TANH", 5, 7, 1, False, 0, True, True, "max", 5, "char"),
    ("lstm_proj_bi_last_2layers", "LSTM", 7, 10, 2, True, 4, True, True, "last", 3, "word"),
    ("rnn_relu_bi_last_sigmoid", "RNN_RELU", 6, 8, 1, True, 0, True, True, "last", 1, "char"),
    ("gru_nobias_max", "GRU", 5, 11, 1, False, 0, True, False, "max", 2, "word"),
    ("lstm_bi_mean", "LSTM", 9, 6, 1, True, 0, False, True, "mean", 4, "char"),
]


def make(root, i, case):
    name, cell, e, h, layers, bi, proj, bf, bias, pooling, classes, tok = case
    torch.manual_seed(1000 + i)
    kw = dict(input_size=e, hidden_size=h, num_layers=layers, bidirectional=bi, batch_first=bf, bias=bias)
    if cell == "LSTM":
        rnn = torch.nn.LSTM(proj_size=proj, **kw)
    elif cell == "GRU":
        rnn = torch.nn.GRU(**kw)
    else:
        rnn = torch.nn.RNN(nonlinearity="tanh" if cell == "RNN_TANH" else "relu", **kw)
    vocab = ["<pad>", "<unk>"] + [chr(ord("a") + k) for k in range(20)]
    model = SentenceClassifier(len(vocab), e, rnn, classes, pooling, pad_index=0).eval()
    lengths = torch.tensor([9, 3, 1, 6, 9, 2])
    tokens = torch.randint(1, len(vocab), (len(lengths), 9))
    for n, l in enumerate(lengths):
        tokens[n, l:] = 0
    with torch.no_grad():
        logits = model.double()(tokens, lengths).numpy()
    model.float()
    d = os.path.join(root, f"{i:03d}_{name}")
    os.makedirs(d, exist_ok=True)
    labels = [f"class{k}" for k in range(classes)]
    save_classifier(os.path.join(d, "model.safetensors"), model.embedding, model.rnn, model.fc, pooling, tok,
                    labels, vocab, 1, 0)
    save_safetensors(os.path.join(d, "input.safetensors"), {"tokens": tokens.numpy(), "lengths": lengths.numpy()})
    save_safetensors(os.path.join(d, "expected.safetensors"), {"logits": logits.astype(np.float64)})
    print("wrote", d)


if __name__ == "__main__":
    for i, c in enumerate(CASES):
        make(sys.argv[1], i, c)
