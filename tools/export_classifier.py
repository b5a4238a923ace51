#!/usr/bin/python3
"""Saves a PyTorch sentence classifier (embedding -> RNN encoder -> pooling -> linear) as an
rnn-engine classifier file (README: classifier file contract).

    from export_classifier import save_classifier
    save_classifier(path, embedding, rnn, fc, pooling="last", tokenizer="char", lowercase=True,
                    labels=[...], vocab=[...], unk_index=1, pad_index=0)

embedding: nn.Embedding (V, E); rnn: nn.RNN/LSTM/GRU; fc: nn.Linear (C, F) where F is the
pooled width (dirs * H_out). tokenizer and lowercase must be what training used (tokens from
text_ref.tokens(text, tokenizer, lowercase)): the engine applies them to every text. Needs only
torch and numpy.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_rnn import rnn_metadata, save_safetensors  # noqa: E402


def save_classifier(path, embedding, rnn, fc, pooling, tokenizer, labels, vocab, unk_index, pad_index,
                    lowercase=False):
    tensors = {"embedding.weight": embedding.weight.detach().float().numpy(),
               "fc.weight": fc.weight.detach().float().numpy(),
               "fc.bias": fc.bias.detach().float().numpy()}
    for k, v in rnn.state_dict().items():
        tensors["rnn." + k] = v.detach().float().numpy()
    meta = {"rnn." + k: v for k, v in rnn_metadata(rnn).items()}
    meta.update(pooling=pooling, tokenizer=tokenizer, lowercase="true" if lowercase else "false", labels=json.dumps(labels, ensure_ascii=False),
                vocab=json.dumps(vocab, ensure_ascii=False), unk_index=unk_index, pad_index=pad_index)
    save_safetensors(path, tensors, meta)
