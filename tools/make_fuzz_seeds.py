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


def quantized(model: bytes, precision: str) -> bytes:
    """The model file as rnn quantize writes it: I8 codes plus an F32 scale per row, or F16."""
    import json
    import struct
    n = int.from_bytes(model[:8], "little")
    header = json.loads(model[8:8 + n])
    data = model[8 + n:]
    meta = dict(header.pop("__metadata__", {}), precision=precision)
    out, blobs, at = {}, [], 0
    for name in sorted(header):
        info = header[name]
        a, b = info["data_offsets"]
        vals = struct.unpack(f"<{(b - a) // 4}f", data[a:b])
        entries = [(name, info["dtype"], info["shape"], data[a:b])]
        if name.startswith("weight_") and len(info["shape"]) == 2:
            rows, cols = info["shape"]
            if precision == "fp16":
                entries = [(name, "F16", [rows, cols], struct.pack(f"<{len(vals)}e", *vals))]
            else:
                codes, scales = [], []
                for r in range(rows):
                    row = vals[r * cols:(r + 1) * cols]
                    s = max(abs(v) for v in row) / 127
                    scales.append(s)
                    codes += [max(-127, min(127, round(v / s))) if s > 0 else 0 for v in row]
                entries = [(name, "I8", [rows, cols], struct.pack(f"<{len(codes)}b", *codes)),
                           (name + ".scale", "F32", [rows], struct.pack(f"<{rows}f", *scales))]
        for e_name, dtype, shape, blob in entries:
            out[e_name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(blob)]}
            blobs.append(blob)
            at += len(blob)
    out["__metadata__"] = meta
    h = json.dumps(out).encode()
    h += b" " * (-len(h) % 8)
    return len(h).to_bytes(8, "little") + h + b"".join(blobs)


# Quantized files (rnn quantize): the same cases in int8 and fp16, on the backends that run them.
for case in CASES[:3]:
    inp = (golden / case / "input.safetensors").read_bytes()
    for precision in ("int8", "fp16"):
        model = quantized((golden / case / "model.safetensors").read_bytes(), precision)
        (out / "readerRefusesOrReads" / f"seed-{case}-{precision}-model").write_bytes(model)
        for b in (0, 1):  # scalar and vector
            data = bytes([b]) + len(model).to_bytes(3, "big") + model + inp
            (out / "modelAndInputRunOrRefuse" / f"seed-{case}-{precision}-backend{b}").write_bytes(data)

# The text readers (TextFuzzTest): word vectors in each format, and each golden classifier with texts.
text = pathlib.Path("src/test/resources/dev/rnnengine/fuzz/TextFuzzTestInputs")
(text / "wordVectorsRefuseOrRead").mkdir(parents=True, exist_ok=True)
(text / "classifierRefusesOrClassifies").mkdir(parents=True, exist_ok=True)
import struct
binary = b"2 3\n" + b"cat " + struct.pack("<3f", 1, -2, 0.5) + b"\n" + "naïve ".encode() + struct.pack("<3f", 3, 4, -0.25)
(text / "wordVectorsRefuseOrRead" / "seed-word2vec-binary").write_bytes(b"\x00" + binary)
(text / "wordVectorsRefuseOrRead" / "seed-word2vec-text").write_bytes(b"\x01" + "2 3\ncat 1 -2 0.5\nnaïve 3 4 -0.25\n".encode())
(text / "wordVectorsRefuseOrRead" / "seed-glove").write_bytes(b"\x02" + b"the 0.1 0.2\nnew york 1.5 -1\n. 0 3\n")
classifiers = pathlib.Path("src/test/resources/golden/classifier")
for i, case in enumerate(sorted(p for p in classifiers.iterdir() if p.is_dir())):
    model = (case / "model.safetensors").read_bytes()
    texts = "a b c\nd e f g\n\nHello, World! don't\nx\n".encode()
    data = bytes([i % BACKENDS]) + len(model).to_bytes(3, "big") + model + texts
    (text / "classifierRefusesOrClassifies" / f"seed-{case.name}").write_bytes(data)
