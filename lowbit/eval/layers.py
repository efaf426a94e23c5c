"""Per-layer error report: which layer of a quantized BERT loses most against the float model.

Both models have LayerNorms under the same names (embeddings_norm, layers.i.attention_norm,
layers.i.output_norm): forward hooks take each one's output — the integer model's int8 codes are
dequantized with that LayerNorm's per-channel scales — and the report gives, per LayerNorm, the mean
cosine over real tokens between the quantized and the float hidden states, and the relative RMS error.
"""

from __future__ import annotations

import torch
from torch import nn

from lowbit.nn.int_bert import module_by_module
from lowbit.nn.int_nonlinear import IntLayerNorm


def _norm_outputs(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    outs: dict[str, torch.Tensor] = {}
    real = mask.bool()

    def hook(name: str, m: nn.Module):
        def f(_m: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
            if isinstance(m, IntLayerNorm):
                out = out.float() * torch.from_numpy(m.channel_scale()).float()
            outs[name] = out[real].float()

        return f

    hooks = [
        m.register_forward_hook(hook(name, m))
        for name, m in model.named_modules()
        if isinstance(m, (nn.LayerNorm, IntLayerNorm))
    ]
    try:
        with torch.inference_mode(), module_by_module(model):
            model(ids, mask)
    finally:
        for h in hooks:
            h.remove()
    return outs


def layer_report(
    float_model: nn.Module, qmodel: nn.Module, ids: torch.Tensor, mask: torch.Tensor
) -> list[dict[str, float | str]]:
    """[{"layer", "cosine", "rel_rms"}] for every LayerNorm output, in model order."""
    ref = _norm_outputs(float_model, ids, mask)
    got = _norm_outputs(getattr(qmodel, "module", qmodel), ids, mask)
    rows = []
    for name, r in ref.items():
        key = name.removeprefix("module.")
        if key not in got:
            continue
        g = got[key]
        cos = torch.nn.functional.cosine_similarity(g, r, dim=-1).mean()
        rel = ((g - r).pow(2).mean() / r.pow(2).mean()).sqrt()
        rows.append({"layer": key, "cosine": float(cos), "rel_rms": float(rel)})
    return rows
