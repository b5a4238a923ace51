#!/usr/bin/python3
"""Saves a torch.nn.RNN/LSTM/GRU as an rnn-engine model file (safetensors + metadata).

Needs only torch and numpy. As a library:   from export_rnn import save_rnn; save_rnn(lstm, "lstm.safetensors")
As a demo:  /usr/bin/python3 tools/export_rnn.py OUT.safetensors   (saves a seeded 2-layer LSTM)
"""
import json, struct, sys
import numpy as np
import torch

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64"}

def save_safetensors(path, tensors, metadata=None):
    """Writes numpy arrays (F32/I64) and string metadata in the safetensors layout."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def rnn_metadata(m):
    """The model file's metadata for a torch.nn.RNN/LSTM/GRU."""
    mode = m.mode if m.mode in ("LSTM", "GRU") else ("RNN_RELU" if m.nonlinearity == "relu" else "RNN_TANH")
    return dict(mode=mode, input_size=m.input_size, hidden_size=m.hidden_size, num_layers=m.num_layers,
                bias=str(m.bias).lower(), batch_first=str(m.batch_first).lower(),
                bidirectional=str(m.bidirectional).lower(), proj_size=getattr(m, "proj_size", 0),
                nonlinearity="relu" if mode == "RNN_RELU" else "tanh")

def save_rnn(m, path):
    """Saves the module's state_dict under PyTorch's names with its hyper-parameters."""
    tensors = {k: v.detach().float().cpu().numpy() for k, v in m.state_dict().items()}
    save_safetensors(path, tensors, rnn_metadata(m))

if __name__ == "__main__":
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(16, 32, num_layers=2, batch_first=True)
    save_rnn(lstm, sys.argv[1])
    print("wrote", sys.argv[1])
