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
