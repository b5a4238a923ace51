#!/usr/bin/python3
"""Makes the project's extra reference cases (larger and more awkward than shared/golden's).

Uses shared/golden/make_cases.py's make_case, so the files follow the same contract.
Needs Debian's python3-torch (PyTorch 1.13). Usage:
  /usr/bin/python3 tools/make_extra_cases.py ../shared/golden src/test/resources/golden/extra
"""
import os, random, sys

golden, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.abspath(golden))
import make_cases  # noqa: E402

def spec(seed, mode, D, H, L, bias=True, bf=False, bidir=False, proj=0, N=1, T=1, h0=False,
         packed=False, unbatched=False):
    return dict(seed=seed, mode=mode, D=D, H=H, L=L, bias=bias, batch_first=bf, bidirectional=bidir,
                proj_size=proj, N=N, T=T, h0=h0, packed=packed, unbatched=unbatched)

SPECS = [
    spec(9001, "LSTM", 40, 513, 1, bf=True, N=2, T=12, h0=True, packed=True),
    spec(9002, "GRU", 16, 64, 3, bidir=True, N=3, T=300, h0=True, packed=True),
    spec(9003, "RNN_RELU", 5, 33, 3, bidir=True, T=300, h0=True, unbatched=True),
    spec(9004, "LSTM", 7, 65, 3, bf=True, bidir=True, proj=13, N=5, T=40, h0=True, packed=True),
    spec(9005, "RNN_TANH", 3, 129, 2, bias=False, bf=True, N=4, T=100, packed=True),
    spec(9006, "GRU", 77, 257, 1, bias=False, bidir=True, N=3, T=50, h0=True, packed=True),
    spec(9007, "LSTM", 1, 1, 3, N=1, T=300, packed=True),
    spec(9008, "LSTM", 9, 31, 2, bidir=True, proj=30, T=7, h0=True, unbatched=True),
    spec(9009, "GRU", 13, 127, 2, bf=True, N=8, T=3, packed=True),
    spec(9010, "RNN_TANH", 31, 7, 3, bidir=True, N=7, T=13, h0=True),
]

rng = random.Random(9000)
for s in SPECS:
    name = f"{s['seed']}_{s['mode'].lower()}"
    make_cases.make_case(os.path.join(out, name), rng, s)
print("wrote", len(SPECS), "cases to", out)
