"""ONNX Runtime as a peer for whole BERT encoders: the float ``BertEncoder`` exported to ONNX, ORT's own
``quantize_dynamic`` of that graph (int8 weights, activations quantized per call), and ``OrtEncoder``,
which runs either like the torch models (``__call__(input_ids, attention_mask) -> hidden``, ``embed``).

Export path: torch's TorchScript exporter (``torch.onnx.export(..., dynamo=False)``). In torch 2.13 it
is still there, needs nothing beyond torch and onnx, takes ~2 s for MiniLM and matches the float encoder
to ~4e-5. The torch.export-based exporter (``dynamo=True``, the default since torch 2.9) gives the same
accuracy but needs ``onnxscript`` and takes ~12 s; it is used only when the legacy exporter fails (e.g.
a future torch without it) and onnxscript is installed.

Exported and quantized graphs are cached under $XDG_CACHE_HOME/lowbit/onnx (default ~/.cache/lowbit/onnx),
keyed by a hash of the model's config and weights and by the torch / onnxruntime versions, so a second
run starts at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from lowbit.errors import LowbitError

# weight_type -> ORT QuantType name and the cache file suffix
WEIGHT_TYPES = {"qint8": "QInt8", "quint8": "QUInt8"}
OPSET = 17

# Graph optimization per precision, measured with MiniLM on this project's 2-core AMD EPYC (Zen 4), b1x128,
# 1 thread, ORT 1.32: ORT_ENABLE_ALL / ORT_ENABLE_BASIC latency, median of 40 alternating paired samples, in
# two runs: fp32 0.977 and 0.989, QInt8 0.974 and 0.943, QUInt8 0.974 and 0.945 (at b32x128 ALL was faster
# too). So ORT_ENABLE_ALL, the level ORT itself defaults to, is the faster choice here for every precision.
# What it does to the int8 graph: MatMulInteger chains -> DynamicQuantizeMatMul / MatMulIntegerToFloat,
# Add + LayerNormalization -> SkipLayerNormalization, Erf GELU -> Gelu. It does not form Attention ops from
# this export. The offline BERT optimizer (onnxruntime.transformers.optimizer: Attention/QAttention fusions)
# is not applied: its int8 graph was slower here (14.8 vs 13.1 ms, min of 12 rounds), as issue 6 reports
# for ORT's BERT fusions (10-15%).
DEFAULT_OPTIMIZATION = {"fp32": "all", "qint8": "all", "quint8": "all"}


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lowbit" / "onnx"
    root.mkdir(parents=True, exist_ok=True)
    return root


def weights_hash(model: torch.nn.Module) -> str:
    """A short sha256 over the config, every tensor's name, dtype, shape and bytes, and the opset."""
    h = hashlib.sha256()
    cfg = getattr(model, "cfg", None)
    h.update(json.dumps(getattr(cfg, "__dict__", {}), sort_keys=True).encode())
    h.update(f"opset{OPSET}".encode())
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()[:16]


def _export(model: torch.nn.Module, path: Path) -> None:
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 2023, 102, 0]], dtype=torch.int64)
    mask = (ids != 0).to(torch.int64)
    names = {"input_names": ["input_ids", "attention_mask"], "output_names": ["hidden"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
        try:
            axes = {"batch": 0, "tokens": 1}
            dyn = {n: {i: a for a, i in axes.items()} for n in ("input_ids", "attention_mask", "hidden")}
            torch.onnx.export(model, (ids, mask), str(path), dynamo=False, opset_version=OPSET,
                              dynamic_axes=dyn, do_constant_folding=True, **names)  # fmt: skip
            return
        except Exception as legacy_error:  # noqa: BLE001 - the fallback below reports both
            try:
                import onnxscript  # noqa: F401
            except ImportError:
                raise LowbitError(
                    f"onnx export: torch's legacy exporter failed ({legacy_error!r}) and the dynamo "
                    "exporter needs onnxscript (pip install onnxscript)"
                ) from legacy_error
        b, t = torch.export.Dim("batch"), torch.export.Dim("tokens", max=model.cfg.max_position_embeddings)
        shapes = {"input_ids": {0: b, 1: t}, "attention_mask": {0: b, 1: t}}
        torch.onnx.export(model, (ids, mask), str(path), dynamo=True, dynamic_shapes=shapes,
                          external_data=False, **names)  # fmt: skip


def _atomic(target: Path, write) -> Path:
    """Write through a temporary file in the same folder, then rename (parallel runs never see half)."""
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def export_onnx(
    model: torch.nn.Module, weight_type: str | None = None, directory: str | Path | None = None
) -> Path:
    """The ONNX file of a float BertEncoder (``weight_type=None``), or of ORT's ``quantize_dynamic`` of it
    with ``weight_type`` "qint8" or "quint8" weights (ORT's defaults otherwise: per-tensor weight scales,
    every MatMul and the embedding Gathers quantized). Cached by a hash of the weights."""
    from lowbit.models.bert import BertEncoder

    if not isinstance(model, BertEncoder):
        raise LowbitError(f"model: expected a float lowbit BertEncoder, got {type(model).__name__}")
    if weight_type is not None and weight_type not in WEIGHT_TYPES:
        raise LowbitError(f"weight_type: expected None or one of {sorted(WEIGHT_TYPES)}, got {weight_type!r}")
    directory = Path(directory) if directory is not None else cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    import onnxruntime

    # the files also depend on the exporter and the quantizer: their versions are part of the key
    key = f"{weights_hash(model)}-torch{torch.__version__.split('+')[0]}"
    fp32 = _atomic(directory / f"bert-{key}-fp32.onnx", lambda p: _export(model.eval(), p))
    if weight_type is None:
        return fp32

    def quantize(p: Path) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(fp32, p, weight_type=getattr(QuantType, WEIGHT_TYPES[weight_type]))

    return _atomic(directory / f"bert-{key}-ort{onnxruntime.__version__}-{weight_type}.onnx", quantize)


_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
           "all": "ORT_ENABLE_ALL"}  # fmt: skip


class OrtEncoder:
    """An ONNX Runtime session over an exported BERT encoder, called like the torch models.

    ``threads`` sets intra_op_num_threads (inter-op: 1). ``optimization`` is ORT's graph optimization
    level: "disable", "basic", "extended" or "all".
    """

    def __init__(self, path: str | Path, threads: int = 1, optimization: str = "all"):
        import onnxruntime as ort

        if optimization not in _LEVELS:
            raise LowbitError(f"optimization: expected one of {sorted(_LEVELS)}, got {optimization!r}")
        if not isinstance(threads, int) or threads < 1:
            raise LowbitError(f"threads: expected a positive int, got {threads!r}")
        self.path, self.threads, self.optimization = Path(path), threads, optimization
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, _LEVELS[optimization])
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
            raise LowbitError(f"path: expected a loadable ONNX model, got {path} ({e})") from e

    @classmethod
    def from_model(
        cls,
        model: torch.nn.Module,
        weight_type: str | None = None,
        threads: int = 1,
        optimization: str | None = None,
        directory: str | Path | None = None,
    ) -> OrtEncoder:
        """Export (and for "qint8"/"quint8" quantize) ``model`` into ``directory`` (default: the cache),
        then open it with the measured default optimization level for that precision unless
        ``optimization`` is given."""
        path = export_onnx(model, weight_type, directory)
        return cls(
            path, threads=threads, optimization=optimization or DEFAULT_OPTIMIZATION[weight_type or "fp32"]
        )

    def with_threads(self, threads: int) -> OrtEncoder:
        """The same graph in a session with another thread count (ORT fixes it per session)."""
        if threads == self.threads:
            return self
        return OrtEncoder(self.path, threads=threads, optimization=self.optimization)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feed = {
            "input_ids": np.ascontiguousarray(np.asarray(input_ids, dtype=np.int64)),
            "attention_mask": np.ascontiguousarray(np.asarray(attention_mask, dtype=np.int64)),
        }
        return torch.from_numpy(self.session.run(None, feed)[0])

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean pooling over real tokens, then L2 normalisation (as BertEncoder.embed)."""
        hidden = self(input_ids, attention_mask)
        m = torch.as_tensor(attention_mask)[..., None].to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)

    def model_bytes(self) -> int:
        return self.path.stat().st_size

    def __repr__(self) -> str:
        return f"OrtEncoder({self.path.name!r}, threads={self.threads}, optimization={self.optimization!r})"
