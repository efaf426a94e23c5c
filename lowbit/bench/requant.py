"""`lowbit bench requant`: int32 -> int8 requantization, lowbit's kernels (every ISA variant) against what
a user would write in numpy or torch (float multiply, round, clamp, cast). One thread, same run."""

from __future__ import annotations

import json
import os

import numpy as np

from lowbit.bench.timing import median_seconds
from lowbit.ops.requant import available_isas, quantize_multiplier, requantize


def _impls(acc, m0, shift, scales32, torch) -> dict:
    acc_t, scales_t = torch.from_numpy(acc), torch.from_numpy(scales32)
    impls = {
        f"lowbit-{isa}": (lambda isa=isa: requantize(acc, m0, shift, isa=isa)) for isa in available_isas()
    }
    impls["numpy-fp32"] = lambda: np.clip(np.rint(acc * scales32), -128, 127).astype(np.int8)
    impls["torch-fp32"] = lambda: torch.clamp(torch.round(acc_t * scales_t), -128, 127).to(torch.int8)
    return impls


def run(quick: bool = False, as_json: bool = False) -> int:
    import torch

    torch.set_num_threads(1)
    shapes = [(64, 4096), (1024, 4096)] if not quick else [(64, 4096)]
    rng = np.random.default_rng(0)
    rows = []
    for shape in shapes:
        acc = rng.integers(-(2**20), 2**20, size=shape, dtype=np.int32)
        scales = rng.uniform(1e-5, 1e-4, size=shape[1])
        m0, shift = quantize_multiplier(scales)
        impls = _impls(acc, m0, shift, scales.astype(np.float32), torch)
        for impl, fn in impls.items():
            sec = median_seconds(fn, repeats=5 if quick else 15)
            n = acc.size
            rows.append(
                {
                    "impl": impl,
                    "shape": list(shape),
                    "threads": 1,
                    "gelems": n / sec / 1e9,
                    "gbps": n * 5 / sec / 1e9,
                    "ms": sec * 1e3,
                }
            )
    if as_json:
        print(json.dumps({"rows": rows}))
        return 0
    print(f"requantize int32 -> int8, per-channel dyadic multipliers, 1 thread, pid {os.getpid()}")
    print(f"{'impl':<16}{'shape':>14}{'G elem/s':>10}{'GB/s':>8}{'ms':>9}{'vs best peer':>14}")
    for shape in shapes:
        sub = [r for r in rows if r["shape"] == list(shape)]
        best_peer = max(r["gelems"] for r in sub if not r["impl"].startswith("lowbit"))
        for r in sub:
            print(
                f"{r['impl']:<16}{'x'.join(map(str, shape)):>14}{r['gelems']:>10.2f}{r['gbps']:>8.1f}"
                f"{r['ms']:>9.3f}{r['gelems'] / best_peer:>13.2f}x"
            )
    return 0
