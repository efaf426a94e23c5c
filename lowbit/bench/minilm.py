"""`lowbit bench minilm`: the whole MiniLM encoder end to end — latency at batch 1 x 128 tokens and
throughput at batch 32 x 128 — for torch fp32, torch's dynamic int8 (torch.ao, qint8), ONNX Runtime fp32
and ORT's dynamic int8 (QInt8 and QUInt8 weights) of the same exported graph, and every implemented lowbit
recipe, on each thread count asked for.

Rounds are interleaved (every impl once per round, then the next round) so that a burst of load on this
shared machine hits all impls alike; each figure is the median over rounds of the median of its repeats.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

TOKENS = 128
LATENCY_BATCH, THROUGHPUT_BATCH = 1, 32
CALIBRATION_SENTENCES = 32


def calibration_data(n: int = CALIBRATION_SENTENCES) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) of ``n`` UCI sentences (every 100th: all three sources, both labels)."""
    from lowbit.data.sentiment import load_sentences
    from lowbit.models.minilm import tokenize

    texts, _, _ = load_sentences()
    return tokenize(texts[:: max(1, len(texts) // n)][:n])


def build_impls(log: Callable[[str], None] = print) -> tuple[dict[str, Any], dict[str, str]]:
    """Name -> model callable as model(input_ids, attention_mask), and name -> a note on what it is."""
    import lowbit
    from lowbit.bench.ort_bert import OrtEncoder
    from lowbit.models.minilm import load_minilm

    fp32 = load_minilm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch_dyn = torch.ao.quantization.quantize_dynamic(
            load_minilm(), {torch.nn.Linear}, dtype=torch.qint8
        )
    impls: dict[str, Any] = {"fp32": fp32, "torch-dynamic-int8": torch_dyn}
    notes = {
        "fp32": "torch float32 BertEncoder",
        "torch-dynamic-int8": f"torch.ao quantize_dynamic qint8 (engine {torch.backends.quantized.engine})",
    }
    for name, wt in (("ort-fp32", None), ("ort-int8", "qint8"), ("ort-int8-u8", "quint8")):
        enc = OrtEncoder.from_model(fp32, wt)
        impls[name] = enc
        notes[name] = (
            f"onnxruntime {'fp32' if wt is None else 'quantize_dynamic ' + wt}, opt {enc.optimization}"
        )
    calib = None
    for rname, recipe in lowbit.RECIPES.items():
        if not recipe.implemented:
            continue
        kw = {}
        if recipe.activations == "static":
            calib = calib if calib is not None else calibration_data()
            kw["calibration_data"] = calib
        try:
            impls[rname] = lowbit.quantize(load_minilm(), rname, **kw)
            notes[rname] = f"lowbit recipe {rname}"
        except lowbit.LowbitError as e:
            log(f"skipping lowbit recipe {rname}: {e}")
    return impls, notes


def measure(
    per_thread: dict[int, dict[str, Any]], rounds: int, lat_repeats: int, tp_repeats: int, progress=None
) -> list[dict]:
    """Rows of latency (b1) and throughput (b32) per impl and thread count: the median over interleaved
    rounds; ``per_thread`` maps a thread count to the impls to time on it."""
    from lowbit.eval.speed import latency_ms, throughput

    samples: dict[tuple, list[float]] = {}
    for _ in range(rounds):
        for t, impls in per_thread.items():
            for name, m in impls.items():
                samples.setdefault((name, t, "latency_ms"), []).append(
                    latency_ms(m, t, LATENCY_BATCH, TOKENS, repeats=lat_repeats)
                )
                samples.setdefault((name, t, "throughput"), []).append(
                    throughput(m, t, THROUGHPUT_BATCH, TOKENS, repeats=tp_repeats)
                )
                if progress is not None:
                    progress()
    rows = []
    for (name, t, kind), vals in samples.items():
        batch = LATENCY_BATCH if kind == "latency_ms" else THROUGHPUT_BATCH
        row = {"impl": name, "threads": t, "batch": batch, "tokens": TOKENS, kind: float(np.median(vals))}
        rows.append({**row, "rounds": [round(v, 3) for v in vals]})
    return rows


def per_thread_impls(impls: dict[str, Any], threads: list[int]) -> dict[int, dict[str, Any]]:
    """The impls for each thread count; ORT sessions are reopened once per count (fixed per session)."""
    return {
        t: {n: (m.with_threads(t) if hasattr(m, "with_threads") else m) for n, m in impls.items()}
        for t in threads
    }


def run(quick: bool = False, as_json: bool = False, threads: list[int] | tuple[int, ...] = (1, 2)) -> int:
    import sys

    import onnxruntime

    from lowbit.errors import LowbitError
    from lowbit.roofline.probe import cpu_model

    threads = list(threads)
    if not threads or any(not isinstance(t, int) or t < 1 for t in threads):
        raise LowbitError(f"threads: expected positive thread counts, got {threads}")
    rounds, lat_repeats, tp_repeats = (1, 5, 1) if quick else (3, 11, 3)
    log = (lambda s: print(s, file=sys.stderr)) if as_json else print
    impls, notes = build_impls(log)
    from tqdm import tqdm

    bar = tqdm(total=rounds * len(threads) * len(impls), desc="bench minilm", file=sys.stderr, leave=False)
    rows = measure(per_thread_impls(impls, threads), rounds, lat_repeats, tp_repeats, progress=bar.update)
    bar.close()
    meta = {
        "machine": f"{cpu_model()}, {len(_cpus())} cpus",
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "rounds": rounds,
        "impls": notes,
    }
    if as_json:
        print(json.dumps({"rows": rows, **meta}))
        return 0
    print(
        f"MiniLM-L6 end to end, {TOKENS} tokens; median of {rounds} interleaved round(s); "
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}"
    )
    print(table(rows))
    for name, note in notes.items():
        print(f"  {name}: {note}")
    return 0


def table(rows: list[dict]) -> str:
    """Markdown table: impl | threads | ms b1x128 | seq/s b32x128 | latency vs fp32 | vs ort-int8."""
    lat = {(r["impl"], r["threads"]): r["latency_ms"] for r in rows if "latency_ms" in r}
    tp = {(r["impl"], r["threads"]): r["throughput"] for r in rows if "throughput" in r}
    out = [
        f"| impl | threads | ms b{LATENCY_BATCH}x{TOKENS} | seq/s b{THROUGHPUT_BATCH}x{TOKENS} "
        "| latency vs fp32 | latency vs ort-int8 | throughput vs ort-int8 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in sorted({k[1] for k in lat}):
        for name, th in lat:
            if th != t:
                continue
            ms, sps = lat[(name, t)], tp.get((name, t), float("nan"))
            base, ort = lat.get(("fp32", t)), lat.get(("ort-int8", t))
            ort_tp = tp.get(("ort-int8", t))
            out.append(
                f"| {name} | {t} | {ms:.1f} | {sps:.1f} | {_ratio(base, ms)} | {_ratio(ort, ms)} "
                f"| {_ratio(sps, ort_tp)} |"
            )
    return "\n".join(out)


def _ratio(num: float | None, den: float | None) -> str:
    return "" if not num or not den else f"{num / den:.2f}x"


def _cpus() -> set[int]:
    import os

    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
