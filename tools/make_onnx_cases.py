#!/usr/bin/env python3
"""ONNX import test cases (OnnxImportTest): src/test/resources/onnx/{torch,node}/<case>/.

torch/: nn.RNN/LSTM/GRU modules exported by torch.onnx.export in the configurations the importer
reads (1-3 layers, bidirectional, batch_first, with and without h0/c0, opsets 7 to 17: what
PyTorch 1.13 writes), each with model.onnx, input.safetensors (the graph's input names) and
expected.safetensors (PyTorch's outputs under the graph's output names).

node/: the ONNX backend node tests for the recurrent ops, generated from the onnx package's own
case scripts (onnx.backend.test.case.node.{lstm,gru,rnn}), with W, R, B and P moved from graph
inputs to initializers (the importer reads weights as constants); expected outputs are onnx's
numpy reference.

Run from the repository root with Debian's python3-torch and python3-onnx:
    /usr/bin/python3 tools/make_onnx_cases.py
"""
import io
import json
import pathlib
import shutil
import struct

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

OUT = pathlib.Path("src/test/resources/onnx")


def save_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        if a.dtype in (np.int32, np.int64):
            a, dtype = a.astype("<i8"), "I64"
        else:
            a, dtype = a.astype("<f4"), "F32"
        b = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def torch_cases():
    torch.manual_seed(7)
    cells = [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"})]
    opsets = [7, 9, 10, 11, 12, 13, 14, 15, 16, 17]
    n = 0
    for ci, (cell, kw) in enumerate(cells):
        for v in range(6):
            layers = 1 + (ci + v) % 3
            bidir = v % 2 == 1
            batch_first = v in (2, 3, 5)
            with_state = v in (1, 3, 4)
            opset = opsets[(ci * 6 + v) % len(opsets)]
            m = getattr(torch.nn, cell)(5, 6, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **kw).eval()
            T, N = 4, 3
            x = torch.randn(N, T, 5) if batch_first else torch.randn(T, N, 5)
            dirs = 2 if bidir else 1
            names_in, args, feed = ["input"], [x], {"input": x}
            if with_state:
                h0 = torch.randn(layers * dirs, N, 6)
                feed["h0"] = h0
                if cell == "LSTM":
                    c0 = torch.randn(layers * dirs, N, 6)
                    feed["c0"] = c0
                    args.append((h0, c0))
                    names_in += ["h0", "c0"]
                else:
                    args.append(h0)
                    names_in.append("h0")
            names_out = ["output", "h_n"] + (["c_n"] if cell == "LSTM" else [])
            dyn = {"input": {0: "N", 1: "T"} if batch_first else {0: "T", 1: "N"}}
            f = io.BytesIO()
            try:
                torch.onnx.export(m, tuple(args), f, input_names=names_in, output_names=names_out, opset_version=opset,
                                  dynamic_axes=dyn)
            except Exception as e:  # an opset this PyTorch cannot write for the module
                print(f"skipped {cell} opset {opset}: {type(e).__name__}: {e}".splitlines()[0])
                continue
            with torch.no_grad():
                out = m(*args)
            outs = {"output": out[0]}
            if cell == "LSTM":
                outs["h_n"], outs["c_n"] = out[1]
            else:
                outs["h_n"] = out[1]
            name = f"{n:02d}_{cell.lower()}{kw.get('nonlinearity', '')}_l{layers}{'_bi' if bidir else ''}" \
                   f"{'_bf' if batch_first else ''}{'_h0' if with_state else ''}_op{opset}"
            d = OUT / "torch" / name
            d.mkdir(parents=True)
            (d / "model.onnx").write_bytes(f.getvalue())
            save_safetensors(d / "input.safetensors", {k: t.numpy() for k, t in feed.items()})
            save_safetensors(d / "expected.safetensors", {k: t.detach().numpy() for k, t in outs.items()})
            n += 1
    print(f"{n} torch.onnx.export cases")


WEIGHTS = {"W", "R", "B", "P"}


def node_cases():
    from onnx.backend.test.case.node import gru, lstm, rnn
    count = [0]

    def expect(node, inputs, outputs, name):
        graph_inputs, inits, feed = [], [], {}
        for i, (iname, value) in enumerate(zip(node.input, inputs)):
            if not iname:
                continue
            if iname in WEIGHTS:
                inits.append(numpy_helper.from_array(value, iname))
            else:
                graph_inputs.append(helper.make_tensor_value_info(iname, helper.np_dtype_to_tensor_dtype(value.dtype)
                                                                  if hasattr(helper, "np_dtype_to_tensor_dtype")
                                                                  else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[value.dtype],
                                                                  value.shape))
                feed[iname] = value
        names = [o for o in node.output if o]
        graph_outputs = [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, v.shape) for o, v in zip(names, outputs)]
        g = helper.make_graph([node], name, graph_inputs, graph_outputs, inits)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
        d = OUT / "node" / name
        d.mkdir(parents=True)
        (d / "model.onnx").write_bytes(model.SerializeToString())
        save_safetensors(d / "input.safetensors", feed)
        save_safetensors(d / "expected.safetensors", dict(zip(names, outputs)))
        count[0] += 1

    np.random.seed(3)
    for module in (lstm, gru, rnn):
        module.expect = expect
        for cls in module.Base.__subclasses__() if hasattr(module, "Base") else []:
            pass
    for module, cls_name in ((lstm, "LSTM"), (gru, "GRU"), (rnn, "RNN")):
        cls = getattr(module, cls_name)
        for attr in sorted(dir(cls)):
            if attr.startswith("export"):
                getattr(cls, attr)()
    print(f"{count[0]} ONNX node test cases")


def newer_opsets():
    """Opsets 18 to 22, which PyTorch 1.13 cannot write: opset-17 exports with the opset import
    raised (the operators these graphs use changed only in the types they accept since 17)."""
    src = sorted((OUT / "torch").glob("*_op17"))[0]
    for opset in (18, 19, 20, 21, 22):
        m = onnx.load(str(src / "model.onnx"))
        for o in m.opset_import:
            if o.domain in ("", "ai.onnx"):
                o.version = opset
        d = OUT / "torch" / (src.name.replace("_op17", f"_op{opset}"))
        d.mkdir(parents=True)
        (d / "model.onnx").write_bytes(m.SerializeToString())
        shutil.copy(src / "input.safetensors", d / "input.safetensors")
        shutil.copy(src / "expected.safetensors", d / "expected.safetensors")
    print("5 cases at opsets 18-22")


def sequence_lens_cases():
    """sequence_lens as a graph input (torch.onnx.export never writes one): an ONNX LSTM and GRU
    node holding a PyTorch module's weights, expected outputs from PyTorch's packed sequences."""
    torch.manual_seed(11)
    for cell, order in (("LSTM", [0, 3, 1, 2]), ("GRU", [1, 0, 2])):  # ONNX gate k is PyTorch gate order[k]
        m = getattr(torch.nn, cell)(3, 4, bidirectional=True).eval()
        g = 4 if cell == "LSTM" else 3
        T, N, H = 5, 3, 4
        lengths = [5, 2, 4]
        x = torch.randn(T, N, 3)
        for t in range(T):
            for i in range(N):
                if t >= lengths[i]:
                    x[t, i] = 0
        with torch.no_grad():
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
            y, hn = m(packed)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, total_length=T)
        hn = hn[0] if cell == "LSTM" else hn

        def onnx_order(w):
            blocks = w.reshape(g, H, *w.shape[1:])
            return np.concatenate([blocks[k] for k in order], axis=0)

        W = np.stack([onnx_order(getattr(m, "weight_ih_l0" + s).detach().numpy()) for s in ("", "_reverse")])
        R = np.stack([onnx_order(getattr(m, "weight_hh_l0" + s).detach().numpy()) for s in ("", "_reverse")])
        B = np.stack([np.concatenate([onnx_order(getattr(m, "bias_ih_l0" + s).detach().numpy()),
                                      onnx_order(getattr(m, "bias_hh_l0" + s).detach().numpy())]) for s in ("", "_reverse")])
        attrs = {"hidden_size": H, "direction": "bidirectional"}
        if cell == "GRU":
            attrs["linear_before_reset"] = 1
        node = helper.make_node(cell, ["X", "W", "R", "B", "seq_lens"], ["Y", "Y_h"], **attrs)
        graph = helper.make_graph(
            [node], f"{cell.lower()}_sequence_lens",
            [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [T, N, 3]),
             helper.make_tensor_value_info("seq_lens", onnx.TensorProto.INT32, [N])],
            [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, [T, 2, N, H]),
             helper.make_tensor_value_info("Y_h", onnx.TensorProto.FLOAT, [2, N, H])],
            [numpy_helper.from_array(W.astype(np.float32), "W"), numpy_helper.from_array(R.astype(np.float32), "R"),
             numpy_helper.from_array(B.astype(np.float32), "B")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
        d = OUT / "node" / f"x_{cell.lower()}_sequence_lens"
        d.mkdir(parents=True)
        (d / "model.onnx").write_bytes(model.SerializeToString())
        save_safetensors(d / "input.safetensors", {"X": x.numpy(), "seq_lens": np.array(lengths, np.int32)})
        Y = y.numpy().reshape(T, N, 2, H).transpose(0, 2, 1, 3)
        save_safetensors(d / "expected.safetensors", {"Y": Y, "Y_h": hn.numpy()})
    print("2 sequence_lens cases")


def bad_cases():
    """Malformed or unsupported graphs the importer must refuse with one clear line."""
    d = OUT / "bad"
    d.mkdir(parents=True)
    W = numpy_helper.from_array(np.ones((1, 8, 3), np.float32), "W")
    R = numpy_helper.from_array(np.ones((1, 8, 2), np.float32), "R")
    X = helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [4, 1, 3])
    Y = helper.make_tensor_value_info("Y_h", onnx.TensorProto.FLOAT, [1, 1, 2])
    op = [helper.make_opsetid("", 14)]

    def save(name, nodes, inits, inputs=(X,), outputs=(Y,)):
        g = helper.make_graph(nodes, name, list(inputs), list(outputs), inits)
        (d / f"{name}.onnx").write_bytes(helper.make_model(g, opset_imports=op).SerializeToString())

    lstm = helper.make_node("LSTM", ["X", "W", "R"], ["", "Y_h"], hidden_size=2)
    save("missing_initializer", [lstm], [W])
    a = helper.make_node("Identity", ["B2"], ["B1"])
    b = helper.make_node("Identity", ["B1"], ["B2"])
    save("cycle", [a, b, helper.make_node("LSTM", ["X", "W", "R", "B1"], ["", "Y_h"], hidden_size=2)], [W, R])
    ext = numpy_helper.from_array(np.ones((1, 8, 2), np.float32), "R")
    ext.ClearField("raw_data")
    ext.data_location = onnx.TensorProto.EXTERNAL
    e = ext.external_data.add()
    e.key, e.value = "location", "../../etc/passwd"
    save("external_data", [lstm], [W, ext])
    save("unsupported_op", [helper.make_node("Relu", ["X"], ["X2"]),
                            helper.make_node("LSTM", ["X2", "W", "R"], ["", "Y_h"], hidden_size=2)], [W, R])
    save("clip", [helper.make_node("LSTM", ["X", "W", "R"], ["", "Y_h"], hidden_size=2, clip=3.0)], [W, R])
    save("input_forget", [helper.make_node("LSTM", ["X", "W", "R"], ["", "Y_h"], hidden_size=2, input_forget=1)], [W, R])
    save("activations", [helper.make_node("LSTM", ["X", "W", "R"], ["", "Y_h"], hidden_size=2,
                                          activations=["Sigmoid", "Relu", "Tanh"])], [W, R])
    save("reverse", [helper.make_node("LSTM", ["X", "W", "R"], ["", "Y_h"], hidden_size=2, direction="reverse")], [W, R])
    save("weights_as_inputs", [lstm], [], inputs=(X, helper.make_tensor_value_info("W", onnx.TensorProto.FLOAT, [1, 8, 3]),
                                                  helper.make_tensor_value_info("R", onnx.TensorProto.FLOAT, [1, 8, 2])))
    save("wrong_weight_shape", [lstm], [W, numpy_helper.from_array(np.ones((1, 8, 3), np.float32), "R")])
    # Found in review: a tiny file whose folded constants would take gigabytes.
    a = numpy_helper.from_array(np.zeros(1, np.int64), "a")
    bomb = [helper.make_node("Concat", ["a"] * 2000, ["c1"], axis=0),
            helper.make_node("Concat", ["c1"] * 1000, ["c2"], axis=0),
            helper.make_node("Concat", ["c2"] * 1000, ["c3"], axis=0), lstm]
    save("concat_bomb", bomb, [a, W, R])
    # A constant of a type the importer does not read, used as if it were one.
    flag = helper.make_tensor("flag", onnx.TensorProto.BOOL, [2], [True, False])
    save("bool_constant", [helper.make_node("Cast", ["flag"], ["f"], to=1), lstm], [flag, W, R])
    # Dimensions whose product wraps around 2^64 to 2.
    wrap = onnx.TensorProto()  # by hand: onnx's helper checks the count
    wrap.name, wrap.data_type = "wrap", onnx.TensorProto.FLOAT
    wrap.dims.extend([3, 6148914691236517206])
    wrap.float_data.extend([1.0, 2.0])
    save("dims_overflow", [lstm], [wrap, W, R])
    # A layer's initial state from rows [-1, 2) of h: not a layer's rows.
    H = helper.make_tensor_value_info("h", onnx.TensorProto.FLOAT, [2, 1, 2])
    W1 = numpy_helper.from_array(np.ones((1, 2, 3), np.float32), "W")
    R1 = numpy_helper.from_array(np.ones((1, 2, 2), np.float32), "R")
    W2 = numpy_helper.from_array(np.ones((1, 2, 2), np.float32), "W2")
    s0, e0, ax = (numpy_helper.from_array(np.array([v], np.int64), n) for v, n in ((-1, "s0"), (2, "e0"), (0, "ax")))
    s1, e1 = (numpy_helper.from_array(np.array([v], np.int64), n) for v, n in ((1, "s1"), (2, "e1")))
    nodes = [helper.make_node("Slice", ["h", "s0", "e0", "ax"], ["h_0"]),
             helper.make_node("Slice", ["h", "s1", "e1", "ax"], ["h_1"]),
             helper.make_node("RNN", ["X", "W", "R", "", "", "h_0"], ["Y0", "Yh0"], hidden_size=2),
             helper.make_node("Squeeze", ["Y0", "ax"], ["X1"]),
             helper.make_node("RNN", ["X1", "W2", "R", "", "", "h_1"], ["Y1", "Y_h"], hidden_size=2)]
    save("negative_state_rows", nodes, [W1, R1, W2, s0, e0, ax, s1, e1], inputs=(X, H))
    print("14 bad cases")


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    torch_cases()
    newer_opsets()
    node_cases()
    sequence_lens_cases()
    bad_cases()
