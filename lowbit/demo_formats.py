"""The second table of `lowbit demo`: the packaged MiniLM's weights in many formats, and what each kept.

Every Linear weight of the encoder is quantized (codes + scales, then dequantized: a float simulation of
the weights, labelled as such), and the model runs on real labelled sentences (UCI sentiment). Columns:
bits per weight including scales; weight error (relative RMS); cosine between the quantized and the
float sentence embeddings; accuracy of a logistic-regression probe fitted on float embeddings of one half
of the sentences and evaluated on the other half's embeddings from each model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import lowbit
from lowbit.formats.granularity import Granularity


@dataclass(frozen=True)
class WeightRecipe:
    label: str
    format: str
    bits: int
    granularity: Granularity
    options: dict[str, Any] = field(default_factory=dict)


G64 = lowbit.per_group(64)
ROW = lowbit.per_channel(0)
RECIPES = [
    WeightRecipe("int8 per-row minmax", "int", 8, ROW),
    WeightRecipe("int4 g64 minmax", "int", 4, G64),
    WeightRecipe("int4 g64 mse-search", "int", 4, G64, {"observer": "mse"}),
    WeightRecipe("int4 g64 octav", "int", 4, G64, {"observer": "octav"}),
    WeightRecipe("int3 g64 octav", "int", 3, G64, {"observer": "octav"}),
    WeightRecipe("nf4 g64", "nf", 4, G64),
    WeightRecipe("fp4 e2m1 g32", "float", 4, lowbit.per_group(32)),
    WeightRecipe("flint4 per-row", "flint", 4, ROW),
    WeightRecipe("pot4 per-row", "pot", 4, ROW),
    WeightRecipe("lns4 per-row", "lns", 4, ROW),
    WeightRecipe("ant4 per-row", "ant", 4, ROW),
    WeightRecipe("codebook3 per-row k-means", "codebook", 3, ROW),
    WeightRecipe("bcq3 per-row", "bcq", 3, ROW),
    WeightRecipe("ternary per-row", "ternary", 2, ROW),
    WeightRecipe("binary per-row", "binary", 1, ROW),
]
QUICK = {"int8 per-row minmax", "int4 g64 minmax", "int4 g64 octav", "nf4 g64", "codebook3 per-row k-means"}


def quantize_linears(model: torch.nn.Module, recipe: WeightRecipe) -> tuple[float, float]:
    """Replace every Linear weight by its quantize-dequantize; returns (bits/weight, relative RMS error)."""
    bits = err = ref = n = 0.0
    for mod in model.modules():
        if isinstance(mod, torch.nn.Linear):
            w = mod.weight.data
            q = lowbit.quantize(w, recipe.format, recipe.bits, recipe.granularity, **recipe.options)
            wq = q.dequantize()
            bits += q.nbytes() * 8
            n += w.numel()
            err += float(((wq - w) ** 2).sum())
            ref += float((w**2).sum())
            mod.weight.data = wq
    return bits / n, (err / ref) ** 0.5


def formats_table(
    ids: torch.Tensor, mask: torch.Tensor, labels: np.ndarray, ref: torch.Tensor, quick: bool = False
) -> list[dict[str, Any]]:
    """Quantize every Linear weight with each format (fake-quant: codes dequantized for a float run) and
    print bits/weight, weight error, embedding cosine and the accuracy of a probe fitted on float
    embeddings of half the sentences, evaluated on the other half's embeddings from each model."""
    from sklearn.linear_model import LogisticRegression

    from lowbit.eval.probe import embed_all
    from lowbit.models.minilm import load_minilm

    train = np.arange(len(ids)) % 2 == 0
    probe = LogisticRegression(max_iter=2000, C=10.0).fit(ref[train].numpy(), labels[train])
    print(
        "\nweight formats (fake-quant: lowbit.quantize codes + scales, dequantized for a float run; "
        "activations float32)"
    )
    header = f"{'format':<28}{'bits/w':>8}{'w rel-rms':>11}{'emb cos':>9}{'probe acc':>11}{'quant s':>9}"
    print(header)
    print("-" * len(header))
    float_acc = probe.score(ref[~train].numpy(), labels[~train])
    print(f"{'float32 (reference)':<28}{32:>8.2f}{0:>11.4f}{1:>9.4f}{float_acc:>11.3f}{0:>9.1f}")
    rows = []
    for recipe in RECIPES:
        if quick and recipe.label not in QUICK:
            continue
        model = load_minilm()
        t0 = time.perf_counter()
        bpw, rel = quantize_linears(model, recipe)
        seconds = time.perf_counter() - t0
        emb = embed_all(model, ids, mask)
        cos = float((emb * ref).sum(1).mean())
        acc = probe.score(emb[~train].numpy(), labels[~train])
        print(f"{recipe.label:<28}{bpw:>8.2f}{rel:>11.4f}{cos:>9.4f}{acc:>11.3f}{seconds:>9.1f}", flush=True)
        rows.append({"format": recipe.label, "bits_per_weight": bpw, "weight_rel_rms": rel, "cosine": cos,
                     "accuracy_half_split": acc})  # fmt: skip
    return rows
