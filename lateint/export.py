"""Export an encoder to ONNX, so that other runtimes (onnxruntime, onnxruntime-web in a
browser) compute the same token vectors without torch.

The exported graph is backbone, projection and normalization: ``input_ids`` and
``attention_mask`` (batch, length) in, ``vectors`` (batch, length, dim) out, one
L2-normalized vector per input position. Tokenizing (markers, ``[MASK]`` padding) and
the skiplist stay with the caller, as they do in ``Encoder.head_corpus``.

``quantize`` stores the large weights as int8 (a quarter of the bytes) and computes in
float32. ``int8_onnx`` does both and caches the result (``cache.py``), keyed by the
encoder and this module's source.

Needs ``onnx``, ``onnxscript`` and ``onnxruntime`` (``pip install lateint[book]``);
the rest of lateint does not.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import torch

from . import cache
from .encoder import Encoder


class _Vectors(torch.nn.Module):
    """What the graph computes: the encoder's token vectors for every position."""

    def __init__(self, encoder: Encoder):
        super().__init__()
        self.backbone = encoder.backbone
        self.projection = encoder.projection
        self.normalize = encoder.config.normalize

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.projection is not None:
            x = self.projection(x)
        return torch.nn.functional.normalize(x, dim=-1) if self.normalize else x


def export_onnx(encoder: Encoder, path: str | Path) -> Path:
    """Write ``encoder`` as one ONNX file (weights inside), batch and length dynamic."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = encoder.tokenize_queries(["an example query to trace the graph"])
    example = (ids["input_ids"], ids["attention_mask"])
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("length", max=512)}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals
        program = torch.onnx.export(
            _Vectors(encoder).eval(),
            example,
            dynamo=True,
            input_names=["input_ids", "attention_mask"],
            output_names=["vectors"],
            dynamic_shapes=(dims, dims),
            verbose=False,
        )
    program.save(str(path), external_data=False)
    return path


def quantize(source: str | Path, target: str | Path, min_size: int = 65536) -> Path:
    """An int8 copy of an exported model: every weight of at least ``min_size`` values
    stored as int8 with one scale per output (a row of an embedding table, a column of a
    matrix), turned back into float by a ``DequantizeLinear`` node. The arithmetic stays
    in float32, so only the weights' rounding changes the vectors: a quarter of the
    bytes, where quantizing the activations too (onnxruntime's dynamic quantization)
    moved query vectors by up to 0.06 in cosine."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    consumers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    kept, added = [], []
    for init in graph.initializer:
        w = numpy_helper.to_array(init)
        if w.dtype != np.float32 or w.size < min_size or w.ndim != 2:
            kept.append(init)
            continue
        axis = 0 if consumers.get(init.name) == {"Gather"} else 1  # per embedding row / per output
        scale = np.abs(w).max(axis=1 - axis) / 127.0
        scale[scale == 0] = 1.0
        shape = (-1, 1) if axis == 0 else (1, -1)
        codes = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        kept += [
            numpy_helper.from_array(codes, f"{init.name}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{init.name}_scale"),
        ]
        added.append(
            helper.make_node(
                "DequantizeLinear", [f"{init.name}_int8", f"{init.name}_scale"], [init.name], axis=axis
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = added + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    target = Path(target)
    onnx.save(model, str(target))
    return target


def int8_onnx(encoder: Encoder, path: str | Path) -> Path:
    """``export_onnx`` then ``quantize``, written to ``path``; cached, since the export
    traces the whole model (about 10 s) and every build of chapter 2 asks again."""
    import sys

    import numpy as np
    import onnx

    def compute() -> cache.Entry:
        with tempfile.TemporaryDirectory() as tmp:
            model = quantize(export_onnx(encoder, Path(tmp) / "fp32.onnx"), Path(tmp) / "int8.onnx")
            return cache.Entry({"onnx": np.frombuffer(model.read_bytes(), dtype=np.uint8)})

    key = cache.key_for(
        encoder=encoder.fingerprint(),
        code=cache.source_key(sys.modules[__name__]),
        torch=torch.__version__,
        onnx=onnx.__version__,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cache.load_or_compute("onnx", key, compute).arrays["onnx"].tobytes())
    return path
