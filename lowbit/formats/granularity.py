"""Which elements share quantization parameters.

Every format works on *blocks*: a 2-D view ``[n_blocks, block_len]`` of the tensor in which each row
shares one set of parameters. A Granularity says how to cut a tensor into blocks and how to put it back.

- ``per_tensor()``: one block.
- ``per_channel(axis)``: one block per index along ``axis`` (e.g. axis 0 = per output row of a Linear weight).
- ``per_group(group_size, axis=-1)``: consecutive runs of ``group_size`` elements along ``axis``.
- ``vector(role)``: LLM.int8()'s vector-wise scales. ``role="activation"``: one block per row of X
  (every index of all dims but the last, i.e. per token); ``role="weight"``: one block per output
  feature. The paper writes W as [in, out] and scales per column; torch's Linear weight is [out, in],
  so that is one block per row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from lowbit.errors import LowbitError, expect

Kind = Literal["tensor", "channel", "group", "vector"]


@dataclass(frozen=True)
class Granularity:
    kind: Kind = "tensor"
    axis: int = 0
    group_size: int | None = None
    role: Literal["weight", "activation"] = "weight"

    def to_json(self) -> dict:
        return {"kind": self.kind, "axis": self.axis, "group_size": self.group_size, "role": self.role}

    @staticmethod
    def from_json(d: dict) -> Granularity:
        return Granularity(d["kind"], d["axis"], d["group_size"], d["role"])

    def __str__(self) -> str:
        if self.kind == "tensor":
            return "per-tensor"
        if self.kind == "channel":
            return f"per-channel(axis={self.axis})"
        if self.kind == "group":
            return f"per-group({self.group_size}, axis={self.axis})"
        return f"vector({self.role})"


def per_tensor() -> Granularity:
    return Granularity("tensor")


def per_channel(axis: int = 0) -> Granularity:
    return Granularity("channel", axis=axis)


def per_group(group_size: int, axis: int = -1) -> Granularity:
    expect(isinstance(group_size, int) and group_size >= 1, "group_size", "a positive int", group_size)
    return Granularity("group", axis=axis, group_size=group_size)


def vector(role: Literal["weight", "activation"] = "weight") -> Granularity:
    expect(role in ("weight", "activation"), "role", "'weight' or 'activation'", role)
    return Granularity("vector", role=role)


@dataclass(frozen=True)
class BlockLayout:
    """What from_blocks needs to undo to_blocks."""

    shape: tuple[int, ...]
    moved_shape: tuple[int, ...]
    source: int
    dest: int


def _norm_axis(axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise LowbitError(f"axis: expected an axis of a {ndim}-D tensor, got {axis}")
    return axis % ndim


def to_blocks(x: torch.Tensor, gran: Granularity) -> tuple[torch.Tensor, BlockLayout]:
    """Cut ``x`` into ``[n_blocks, block_len]`` following ``gran``."""
    shape = tuple(x.shape)
    if gran.kind == "tensor" or x.ndim == 0:
        expect(gran.kind == "tensor", "granularity", f"per-tensor for a 0-D tensor, got {gran}")
        return x.reshape(1, -1), BlockLayout(shape, shape, 0, 0)
    if gran.kind == "vector":
        if gran.role == "activation":
            return x.reshape(-1, shape[-1]), BlockLayout(shape, shape, 0, 0)
        return x.reshape(shape[0], -1), BlockLayout(shape, shape, 0, 0)
    axis = _norm_axis(gran.axis, x.ndim)
    if gran.kind == "channel":
        moved = x.movedim(axis, 0)
        return moved.reshape(shape[axis], -1), BlockLayout(shape, tuple(moved.shape), axis, 0)
    if gran.kind == "group":
        g = gran.group_size
        if shape[axis] % g != 0:
            raise LowbitError(
                f"group_size: expected a divisor of axis {gran.axis} (length {shape[axis]}), got {g}"
            )
        moved = x.movedim(axis, -1)
        return moved.reshape(-1, g), BlockLayout(shape, tuple(moved.shape), axis, x.ndim - 1)
    raise LowbitError(f"granularity: expected tensor/channel/group/vector, got {gran.kind!r}")


def from_blocks(blocks: torch.Tensor, layout: BlockLayout) -> torch.Tensor:
    """Inverse of to_blocks."""
    return blocks.reshape(layout.moved_shape).movedim(layout.dest, layout.source).reshape(layout.shape)
