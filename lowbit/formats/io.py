"""Saving quantized tensors safely: safetensors for the arrays, JSON in its header for the rest.

Never pickle. Each QTensor ``name`` is stored as ``name.codes`` (the packed codes, uint8) plus
``name.param.<key>`` for its parameters; the header's ``lowbit`` entry holds, per name, the format,
bit-width, granularity, options and shape as JSON. Loading validates all of it and raises LowbitError
naming what is wrong in a corrupt or foreign file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lowbit.errors import LowbitError, expect
from lowbit.formats.base import QTensor, check_options, get_format
from lowbit.formats.granularity import Granularity
from lowbit.formats.packing import packed_nbytes, unpack_codes

FILE_VERSION = 1


def save_qtensors(path: str | Path, tensors: dict[str, QTensor]) -> None:
    """Write ``tensors`` to ``path`` (a .safetensors file)."""
    expect(isinstance(tensors, dict) and tensors, "tensors", "a non-empty dict of name -> QTensor")
    arrays: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for name, q in tensors.items():
        expect(isinstance(q, QTensor), f"tensors[{name!r}]", "a QTensor", type(q).__name__)
        expect(isinstance(name, str) and "." not in name, "name", "a str without '.'", name)
        arrays[f"{name}.codes"] = torch.from_numpy(q.packed())
        for key, value in q.params.items():
            arrays[f"{name}.param.{key}"] = value.contiguous()
        meta[name] = {
            "format": q.format,
            "bits": q.bits,
            "granularity": q.granularity.to_json(),
            "options": q.options,
            "shape": list(q.shape),
            "params": sorted(q.params),
        }
    header = {"lowbit": json.dumps({"version": FILE_VERSION, "tensors": meta})}
    save_file(arrays, str(path), metadata=header)


def load_qtensors(path: str | Path) -> dict[str, QTensor]:
    """Read a file written by save_qtensors."""
    try:
        arrays = load_file(str(path))
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise LowbitError(f"path: expected a readable safetensors file, got {path} ({e})") from e
    try:
        info = json.loads(header["lowbit"])
        expect(isinstance(info, dict), "path", "a lowbit header holding a JSON object", type(info).__name__)
        expect(info.get("version") == FILE_VERSION, "file version", str(FILE_VERSION), info.get("version"))
        expect(isinstance(info["tensors"], dict), "path", "a 'tensors' object in the lowbit header")
        return {name: _rebuild(name, m, arrays) for name, m in info["tensors"].items()}
    except LowbitError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, RuntimeError) as e:
        raise LowbitError(f"path: expected a lowbit file with valid metadata, got {path} ({e!r})") from e


def _rebuild(name: str, m: dict, arrays: dict[str, torch.Tensor]) -> QTensor:
    expect(isinstance(m, dict), name, "a JSON object describing the tensor", type(m).__name__)
    fmt = get_format(m["format"])
    bits = m["bits"]
    expect(type(bits) is int and bits in fmt.bits, f"{name}.bits", f"one of {list(fmt.bits)}", bits)
    shape = m["shape"]
    expect(
        isinstance(shape, list) and all(type(s) is int and s >= 0 for s in shape),
        f"{name}.shape",
        "a list of non-negative ints",
        shape,
    )
    shape = tuple(shape)
    expect(isinstance(m["options"], dict), f"{name}.options", "a JSON object", m["options"])
    check_options(fmt, m["options"], f"{name}.options")
    packed = arrays[f"{name}.codes"].numpy()
    n = int(np.prod(shape))
    expect(
        packed.dtype == np.uint8 and packed.size == packed_nbytes(n, bits),
        f"{name}.codes",
        f"{packed_nbytes(n, bits)} packed bytes",
        packed.size,
    )
    qmin, qmax = fmt.code_range(bits, **m["options"])
    codes = torch.from_numpy(unpack_codes(packed, bits, n) + qmin).reshape(shape)
    expect(int(codes.max()) <= qmax, f"{name}.codes", f"codes <= {qmax}", int(codes.max()))
    expect(isinstance(m["params"], list), f"{name}.params", "a list of parameter names", m["params"])
    params = {key: arrays[f"{name}.param.{key}"] for key in m["params"]}
    q = QTensor(codes, params, fmt.name, bits, Granularity.from_json(m["granularity"]), m["options"])
    # the parameters must fit the codes (count, shape, finite values): one trial read says so here, and not
    # at the first use of the tensor
    try:
        values = q.dequantize()
    except (KeyError, IndexError, RuntimeError, TypeError, ValueError) as e:
        raise LowbitError(
            f"{name}.param: expected parameters matching its codes and granularity ({e!r})"
        ) from e
    expect(
        tuple(values.shape) == shape,
        f"{name}.param",
        f"parameters that decode to shape {shape}",
        values.shape,
    )
    expect(bool(torch.isfinite(values).all()), f"{name}.param", "parameters that decode to finite values")
    return q
