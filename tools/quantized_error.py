#!/usr/bin/python3
"""PyTorch's own dynamic quantization error on the reference cases, for comparison with the
engine's fp16/int8 weights (README, "Reduced precision").

    /usr/bin/python3 tools/quantized_error.py src/test/resources/golden/cases

For every LSTM and GRU case (torch.ao.quantization.quantize_dynamic does not cover nn.RNN),
runs the module with qint8 dynamic quantization (weights and activations quantized) and prints
the largest |output - PyTorch fp32 reference| over output and h_n. Needs python3-torch.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_golden import load  # noqa: E402


def tensor(entry):
    shape, arr = entry
    return torch.tensor(list(arr), dtype=torch.float32).reshape(shape)


def main(cases):
    worst = 0.0
    n = 0
    for name in sorted(os.listdir(cases)):
        d = os.path.join(cases, name)
        c = json.load(open(os.path.join(d, "case.json")))
        if c["mode"] not in ("LSTM", "GRU") or not c["bias"] or c.get("unbatched"):
            continue  # PyTorch's dynamic LSTM/GRU need biases and a batch dimension
        sd = {k: tensor(v) for k, v in load(os.path.join(d, "model.safetensors")).items()}
        inp = load(os.path.join(d, "input.safetensors"))
        exp = load(os.path.join(d, "expected.safetensors"))
        cls = torch.nn.LSTM if c["mode"] == "LSTM" else torch.nn.GRU
        kw = dict(num_layers=c["L"], bias=c["bias"], batch_first=c["batch_first"], bidirectional=c["bidirectional"])
        if c["mode"] == "LSTM" and c["proj_size"]:
            kw["proj_size"] = c["proj_size"]
        m = cls(c["D"], c["H"], **kw)
        m.load_state_dict(sd)
        holder = torch.nn.Module()  # quantize_dynamic swaps children, not the module it is given
        holder.rnn = m
        q = torch.ao.quantization.quantize_dynamic(holder, {torch.nn.LSTM, torch.nn.GRU}, dtype=torch.qint8).rnn
        assert type(q) is not type(m), "not quantized"
        x = tensor(inp["input"])
        h0 = tensor(inp["h0"]) if "h0" in inp else None
        state = None
        if h0 is not None:
            state = (h0, tensor(inp["c0"])) if c["mode"] == "LSTM" else h0
        lengths = inp.get("lengths")
        try:
            out, hn = run(q, x, state, lengths, c)
        except RuntimeError as e:  # Debian's build fails on some shapes ("could not create a descriptor")
            print(f"{name}: skipped, PyTorch failed: {str(e).splitlines()[0]}")
            continue
        h = hn[0] if c["mode"] == "LSTM" else hn
        err = max((out - tensor(exp["output"])).abs().max().item(), (h - tensor(exp["h_n"])).abs().max().item())
        worst = max(worst, err)
        n += 1
        print(f"{name}: {err:.3g}")
    print(f"largest |error| of quantize_dynamic(qint8) against fp32 over {n} LSTM/GRU cases with biases: {worst:.3g}")


def run(q, x, state, lengths, c):
    with torch.no_grad():
        if lengths is None:
            return q(x, state)
        ln = torch.tensor(list(lengths[1]), dtype=torch.int64)
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, ln, batch_first=c["batch_first"], enforce_sorted=False)
        out, hn = q(packed, state)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=c["batch_first"],
                                                        total_length=x.shape[1 if c["batch_first"] else 0])
        return out, hn


if __name__ == "__main__":
    main(sys.argv[1])
