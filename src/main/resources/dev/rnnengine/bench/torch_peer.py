"""PyTorch CPU as a peer of `rnn bench` (ProcessPeer's line protocol on stdin/stdout).

Reads spec.txt and data.bin written by the harness, builds the same torch.nn module with the
same weights, and times forward calls under torch.inference_mode() at the asked thread count.
Needs Debian's python3-torch (PyTorch 1.13) or any PyTorch >= 1.13 with numpy.
With the argument `qint8` the module is torch.quantization.quantize_dynamic(..., dtype=qint8):
int8 weights (per tensor) and activations quantized at run time (LSTM and GRU only).
"""
import os
import sys
import time

import numpy as np
import torch


def load(d, threads):
    torch.set_num_threads(threads)
    cell, D, H, L, dirs, T, N = open(os.path.join(d, "spec.txt")).read().split()
    D, H, L, dirs, T, N = map(int, (D, H, L, dirs, T, N))
    data = np.fromfile(os.path.join(d, "data.bin"), dtype="<f4")
    at = 0

    def take(n):
        nonlocal at
        v = data[at:at + n]
        at += n
        return torch.from_numpy(v.copy())

    x = take(T * N * D).reshape(T, N, D)
    kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(cell)
    kwargs = dict(input_size=D, hidden_size=H, num_layers=L, bidirectional=dirs == 2)
    if kind is None:
        kind = torch.nn.RNN
        kwargs["nonlinearity"] = "relu" if cell == "rnn_relu" else "tanh"
    m = kind(**kwargs).eval()
    g = {"lstm": 4, "gru": 3}.get(cell, 1)
    with torch.no_grad():
        for l in range(L):
            for r in range(dirs):
                sfx = f"_l{l}" + ("_reverse" if r else "")
                inp = D if l == 0 else H * dirs
                getattr(m, "weight_ih" + sfx).copy_(take(g * H * inp).reshape(g * H, inp))
                getattr(m, "weight_hh" + sfx).copy_(take(g * H * H).reshape(g * H, H))
                getattr(m, "bias_ih" + sfx).copy_(take(g * H))
                getattr(m, "bias_hh" + sfx).copy_(take(g * H))
    if at != data.size:
        raise ValueError(f"data.bin has {data.size} floats, the spec needs {at}")
    if QUANTIZED:
        holder = torch.nn.Module()  # quantize_dynamic swaps children, not the module it is given
        holder.rnn = m
        q = torch.quantization.quantize_dynamic(holder, {torch.nn.LSTM, torch.nn.GRU}, dtype=torch.qint8).rnn
        if type(q) is type(m):
            raise RuntimeError("quantize_dynamic left the module in fp32")
        m = q
    return m, x, d


def blas():
    """The BLAS libraries this process mapped: Debian's torch calls the libblas.so.3 alternative."""
    try:
        with open("/proc/self/maps") as f:
            libs = {l.split()[-1] for l in f if "/" in l
                    and any(k in l.rsplit("/", 1)[-1] for k in ("blas", "mkl"))}
    except OSError:
        return "unknown"
    return ",".join(sorted(libs)) or "built-in"


QUANTIZED = len(sys.argv) > 1 and sys.argv[1] == "qint8"
OUT = "torch:int8_y.bin" if QUANTIZED else "torch_y.bin"


def main():
    state = None
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        try:
            if cmd[0] == "load":
                state = load(cmd[1], int(cmd[2]))
                print(f"ok blas={blas()}", flush=True)
            elif cmd[0] == "run":
                m, x, _ = state
                times = []
                with torch.inference_mode():
                    for _ in range(int(cmd[1])):
                        t0 = time.perf_counter()
                        m(x)
                        times.append((time.perf_counter() - t0) * 1e3)
                print(" ".join(f"{t:.6f}" for t in times), flush=True)
            elif cmd[0] == "check":
                m, x, d = state
                with torch.inference_mode():
                    y = m(x)[0]
                y.numpy().astype("<f4").tofile(os.path.join(d, OUT))
                print("ok", flush=True)
            elif cmd[0] == "quit":
                return
            else:
                print(f"error unknown command {cmd[0]}", flush=True)
        except Exception as e:  # the harness reports it and goes on without this peer
            print(f"error {type(e).__name__}: {e}".replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()
