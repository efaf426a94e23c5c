"""The format contract, the quantized tensor, and the one quantize/dequantize driver.

A format is a small object with four pure functions on blocks (see granularity.py):

- ``code_range(bits, **opts) -> (qmin, qmax)``: the integer codes it may emit;
- ``fit(blocks, bits, **opts) -> params``: per-block parameters (a dict of tensors, leading dim = n_blocks);
- ``encode(blocks, params, bits, **opts) -> codes`` (int64, same shape as blocks);
- ``decode(codes, params, bits, **opts) -> values`` (float32).

The driver (``quantize``/``dequantize``) does the validation, the blocking and the bookkeeping, so that
a format module holds only its arithmetic. Packing (how codes lie in bytes) is shared: codes minus qmin
are unsigned ``bits``-wide integers, packed by ``lowbit.formats.packing``.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from lowbit.errors import LowbitError, expect
from lowbit.formats.granularity import Granularity, from_blocks, per_tensor, to_blocks


class Format(Protocol):
    name: str
    kind: str
    bits: tuple[int, ...]
    description: str

    def code_range(self, bits: int, **opts: Any) -> tuple[int, int]: ...

    def fit(self, blocks: torch.Tensor, bits: int, **opts: Any) -> dict[str, torch.Tensor]: ...

    def encode(
        self, blocks: torch.Tensor, params: dict[str, torch.Tensor], bits: int, **opts: Any
    ) -> torch.Tensor: ...

    def decode(
        self, codes: torch.Tensor, params: dict[str, torch.Tensor], bits: int, **opts: Any
    ) -> torch.Tensor: ...


REGISTRY: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add one row to the registry (formats call this at import)."""
    if fmt.name in REGISTRY:
        raise LowbitError(f"format name: expected a new name, got duplicate {fmt.name!r}")
    REGISTRY[fmt.name] = fmt
    return fmt


def get_format(name: str) -> Format:
    if name not in REGISTRY:
        raise LowbitError(f"format: expected one of {sorted(REGISTRY)}, got {name!r}")
    return REGISTRY[name]


# Options that are inputs to fitting only and are never stored with the codes.
_FIT_ONLY = ("sample_weight", "observer")


@dataclass
class QTensor:
    """Integer codes plus what is needed to read them back (``dequantize``).

    ``codes`` has the shape of the original tensor (int64, within ``code_range``); ``params`` hold one
    entry per block along their first dim.
    """

    codes: torch.Tensor
    params: dict[str, torch.Tensor]
    format: str
    bits: int
    granularity: Granularity
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.codes.shape)

    @property
    def code_range(self) -> tuple[int, int]:
        return get_format(self.format).code_range(self.bits, **self.options)

    def dequantize(self) -> torch.Tensor:
        return dequantize(self)

    def packed(self) -> np.ndarray:
        """The codes as ``bits``-wide unsigned fields in bytes (codes - qmin), flattened in C order."""
        from lowbit.formats.packing import pack_codes

        qmin, _ = self.code_range
        return pack_codes((self.codes.reshape(-1) - qmin).numpy(), self.bits)

    def nbytes(self) -> int:
        """Bytes of packed codes plus parameters (what a saved model costs). A parameter that is the same
        for every block (e.g. the zero point of a symmetric grid) counts once."""
        code_bytes = math.ceil(self.codes.numel() * self.bits / 8)
        param_bytes = 0
        for p in self.params.values():
            n = 1 if p.numel() and bool((p == p.reshape(-1)[0]).all()) else p.numel()
            param_bytes += n * p.element_size()
        return code_bytes + param_bytes


def check_tensor(x: Any, name: str = "x") -> torch.Tensor:
    """A finite, non-empty floating tensor (numpy arrays are accepted), as float32."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    expect(isinstance(x, torch.Tensor), name, "a torch.Tensor or numpy array", type(x).__name__)
    expect(x.is_floating_point(), name, "a floating-point tensor", x.dtype)
    expect(x.numel() > 0, name, "a non-empty tensor", f"shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise LowbitError(f"{name}: expected finite values, got NaN or Inf")
    return x.detach().to(torch.float32).contiguous()


def format_options(fmt: Format) -> set[str]:
    """The options a format takes: the arguments with defaults of its four functions. Read from their
    signatures, so that the list cannot drift from the code that uses it."""
    names: set[str] = set()
    for fn in (fmt.code_range, fmt.fit, fmt.encode, fmt.decode):
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty:
                names.add(p.name)
    return names


def check_options(fmt: Format, opts: dict[str, Any], name: str = "options") -> None:
    """Refuse option names the format does not take: its functions would silently ignore them."""
    expect(isinstance(opts, dict), name, "a dict of option names to values", type(opts).__name__)
    unknown = sorted(set(opts) - format_options(fmt))
    if unknown:
        raise LowbitError(
            f"{name}: format {fmt.name!r} takes {sorted(format_options(fmt)) or 'no options'}, "
            f"got unknown {unknown}"
        )


def check_bits(fmt: Format, bits: Any) -> int:
    expect(
        isinstance(bits, (int, np.integer)) and not isinstance(bits, bool) and int(bits) in fmt.bits,
        "bits",
        f"one of {list(fmt.bits)} for format {fmt.name!r}",
        bits,
    )
    return int(bits)


def quantize(
    x: torch.Tensor | np.ndarray,
    format: str = "int",
    bits: int = 8,
    granularity: Granularity | None = None,
    **opts: Any,
) -> QTensor:
    """Quantize ``x`` with a registered format.

    Example:
        >>> import torch, lowbit
        >>> q = lowbit.quantize(torch.randn(64, 128), "int", bits=4, granularity=lowbit.per_channel(0))
        >>> q.code_range, tuple(q.codes.shape), q.params["scale"].shape
        ((-8, 7), (64, 128), torch.Size([64]))
    """
    fmt = get_format(format)
    bits = check_bits(fmt, bits)
    check_options(fmt, opts)
    x = check_tensor(x)
    gran = granularity or per_tensor()
    expect(isinstance(gran, Granularity), "granularity", "a lowbit Granularity", type(gran).__name__)
    if x.numel() > 1 and bool((x == x.reshape(-1)[0]).all()):
        raise LowbitError(
            f"x: expected a tensor with a non-zero range, got all values equal to {float(x.reshape(-1)[0])}"
        )
    blocks, layout = to_blocks(x, gran)
    fit_opts = dict(opts)
    if opts.get("sample_weight") is not None:
        w = check_tensor(opts["sample_weight"], "sample_weight")
        expect(w.shape == x.shape, "sample_weight", f"shape {tuple(x.shape)}", tuple(w.shape))
        expect(bool((w >= 0).all()), "sample_weight", "non-negative weights")
        fit_opts["sample_weight"] = to_blocks(w, gran)[0]
    params = fmt.fit(blocks, bits, **fit_opts)
    stored = {k: v for k, v in opts.items() if k not in _FIT_ONLY}
    codes = fmt.encode(blocks, params, bits, **stored).to(torch.int64)
    qmin, qmax = fmt.code_range(bits, **stored)
    if codes.numel() and (int(codes.min()) < qmin or int(codes.max()) > qmax):
        raise AssertionError(f"format {fmt.name} emitted codes outside [{qmin}, {qmax}]")
    return QTensor(from_blocks(codes, layout), params, fmt.name, bits, gran, stored)


def dequantize(q: QTensor) -> torch.Tensor:
    """Float32 values that the codes stand for."""
    expect(isinstance(q, QTensor), "q", "a lowbit QTensor", type(q).__name__)
    fmt = get_format(q.format)
    blocks, layout = to_blocks(q.codes, q.granularity)
    return from_blocks(fmt.decode(blocks, q.params, q.bits, **q.options).to(torch.float32), layout)


def fake_quantize(x: torch.Tensor, format: str = "int", bits: int = 8, **kw: Any) -> torch.Tensor:
    """Float simulation (fake-quant): quantize then dequantize. For research and QAT only."""
    return quantize(x, format, bits, **kw).dequantize()
