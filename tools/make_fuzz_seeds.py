#!/usr/bin/env python3
"""Seeds the Jazzer corpus with valid files, so fuzzing starts past the header checks.

readerRefusesOrReads gets golden model and input files as they are; modelAndInputRunOrRefuse
gets [backend index][model length, 3 bytes big-endian][model][input] for each backend index.
Run from the repository root: tools/make_fuzz_seeds.py ../shared/golden/cases
"""
import pathlib
import sys

CASES = ["011_lstm", "009_rnn_tanh", "034_gru", "021_rnn_tanh", "000_rnn_relu", "037_lstm"]
BACKENDS = 4  # scalar, vector, openblas, onednn on a machine that has them all (TestSupport)

golden = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/golden/cases")
out = pathlib.Path("src/test/resources/dev/rnnengine/fuzz/SafetensorsFuzzTestInputs")
for case in CASES:
    model = (golden / case / "model.safetensors").read_bytes()
    inp = (golden / case / "input.safetensors").read_bytes()
    (out / "readerRefusesOrReads" / f"seed-{case}-model").write_bytes(model)
    (out / "readerRefusesOrReads" / f"seed-{case}-input").write_bytes(inp)
    for b in range(BACKENDS):
        data = bytes([b]) + len(model).to_bytes(3, "big") + model + inp
        (out / "modelAndInputRunOrRefuse" / f"seed-{case}-backend{b}").write_bytes(data)
