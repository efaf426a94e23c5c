"""Activation ranges of a float BertEncoder on calibration sentences: where the integer model's static
scales come from.

Forward hooks record, over real tokens only (padding rows are computed but never used), every value the
integer model stores at a quantization point: the embedding sum, each LayerNorm output, q / k / v, the
attention context, both residual sums, the GELU input and output. For each point the range is the
largest |value| (``percentile=None``) or that percentile of |value| (clipping rare outliers buys
resolution for the rest); the GELU output keeps its true minimum too (it is quantized asymmetrically).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from lowbit.errors import LowbitError, expect
from lowbit.models.bert import BertEncoder
from lowbit.ops.fqvit import ptf_calibrate

# Points kept at 16 bits: never clipped (int16 leaves ample resolution at the full range).
WIDE = ("emb", "res1", "pre_gelu", "res2")
# Points whose per-channel ranges are kept too ("{name}@c"): LayerNorm and GELU outputs, which have a few
# outlier channels 10-16x wider than the median (they get power-of-two per-channel scales).
CHANNEL = ("ln0", "ln1", "ln2", "gelu")


def point_names(layers: int) -> list[str]:
    names = ["emb", "ln0"]
    for i in range(layers):
        names += [
            f"{i}.{p}" for p in ("q", "k", "v", "ctx", "res1", "ln1", "pre_gelu", "gelu", "res2", "ln2")
        ]
    return names


def collect_ranges(
    model: BertEncoder,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    percentile: float | None = 99.99,
    batch: int = 32,
    ptf: bool = False,
) -> dict[str, float | np.ndarray]:
    """Range of each quantization point (see ``point_names``); also ``"{i}.gelu_min"`` per layer, the
    per-channel largest |value| ``"{name}@c"`` of the CHANNEL points and, with ``ptf``, FQ-ViT's PTF
    parameters ``"{name}@ptf"`` of the LayerNorm inputs (emb, res1, res2)."""
    expect(isinstance(model, BertEncoder), "model", "a lowbit BertEncoder", type(model).__name__)
    expect(len(input_ids) > 0, "calibration_data", "at least one calibration sentence", len(input_ids))
    expect(
        percentile is None or 50 < percentile <= 100, "percentile", "None or a value in (50, 100]", percentile
    )
    values: dict[str, list[np.ndarray]] = defaultdict(list)
    real = {"mask": None}

    def keep(name: str, t: torch.Tensor) -> None:
        values[name].append(t[real["mask"]].detach().numpy().copy())  # [tokens, channels]

    def out_hook(name: str):
        return lambda _m, _i, out: keep(name, out)

    def in_hook(name: str):
        return lambda _m, inp: keep(name, inp[0])

    hooks = [model.embeddings_norm.register_forward_pre_hook(in_hook("emb")),
             model.embeddings_norm.register_forward_hook(out_hook("ln0"))]  # fmt: skip
    for i, layer in enumerate(model.layers):
        att = layer.attention
        hooks += [
            att.query.register_forward_hook(out_hook(f"{i}.q")),
            att.key.register_forward_hook(out_hook(f"{i}.k")),
            att.value.register_forward_hook(out_hook(f"{i}.v")),
            layer.attention_output.register_forward_pre_hook(in_hook(f"{i}.ctx")),
            layer.attention_norm.register_forward_pre_hook(in_hook(f"{i}.res1")),
            layer.attention_norm.register_forward_hook(out_hook(f"{i}.ln1")),
            layer.intermediate.register_forward_hook(out_hook(f"{i}.pre_gelu")),
            layer.gelu.register_forward_hook(out_hook(f"{i}.gelu")),
            layer.output_norm.register_forward_pre_hook(in_hook(f"{i}.res2")),
            layer.output_norm.register_forward_hook(out_hook(f"{i}.ln2")),
        ]
    try:
        with torch.inference_mode():
            for s in range(0, len(input_ids), batch):
                real["mask"] = attention_mask[s : s + batch].bool()
                model(input_ids[s : s + batch], attention_mask[s : s + batch])
    finally:
        for h in hooks:
            h.remove()
    ranges = {}
    for name, chunks in values.items():
        v = np.concatenate(chunks)
        if not np.isfinite(v).all():
            raise LowbitError(f"calibration_data: the float model produced NaN/Inf at {name!r}")
        a = np.abs(v)
        kind = name.split(".")[-1]
        if kind in CHANNEL:
            ranges[f"{name}@c"] = a.max(0)
        if ptf and kind in ("emb", "res1", "res2"):
            ranges[f"{name}@ptf"] = ptf_calibrate(v)
        a = a.reshape(-1)
        wide = kind in WIDE
        ranges[name] = float(a.max() if wide or percentile is None else np.percentile(a, percentile))
        if name.endswith(".gelu"):
            ranges[name.replace(".gelu", ".gelu_min")] = float(v.min())
    return ranges
