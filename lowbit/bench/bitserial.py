"""`lowbit bench bitserial`: lowbit's bit-serial GEMM at 256 x 4096 x 4096 for W1A1 (AND and XNOR), W2A2,
W4A4 and W2A8 against lowbit's own int8 GEMM, with the % of the measured AND+popcount limit (one core).
Operations count 2 M K N, as for the int8 GEMM; binary multiply-adds per second = M K N p q / time."""

from __future__ import annotations

import json

import numpy as np

from lowbit.bench.timing import median_seconds
from lowbit.ops.bitserial import bitserial_gemm, pack_planes
from lowbit.ops.gemm import gemm, pack_weight


def run(quick: bool = False, as_json: bool = False) -> int:
    from lowbit.roofline.probe import probe

    limit = probe(quick=True).get("popcount_binmac_gops")
    m, k, n = (64, 2048, 2048) if quick else (256, 4096, 4096)
    rng = np.random.default_rng(0)
    rows = []
    a8 = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    w8 = pack_weight(rng.integers(-128, 128, size=(n, k), dtype=np.int8))
    sec = median_seconds(lambda: gemm(a8, w8, threads=1), repeats=5)
    rows.append({"impl": "lowbit-int8", "shape": [m, k, n], "threads": 1, "gops": 2 * m * k * n / sec / 1e9,
                 "ms": sec * 1e3, "binmac_pct": None})  # fmt: skip
    for name, p, q, bipolar in [("w1a1-xnor", 1, 1, True), ("w1a1", 1, 1, False), ("w2a2", 2, 2, False),
                                ("w4a4", 4, 4, False), ("w2a8", 2, 8, False)]:  # fmt: skip
        a = pack_planes(rng.integers(0, 1 << q, size=(m, k)), q)
        w = pack_planes(rng.integers(0, 1 << p, size=(n, k)), p)
        sec = median_seconds(lambda a=a, w=w, b=bipolar: bitserial_gemm(a, w, b), repeats=5)
        binmac = m * k * n * p * q / sec / 1e9
        rows.append({"impl": f"lowbit-bs-{name}-planes-outer", "shape": [m, k, n], "threads": 1,
                     "gops": 2 * m * k * n / sec / 1e9, "ms": sec * 1e3,
                     "binmac_pct": None if not limit else 100 * binmac / limit})  # fmt: skip
    if as_json:
        print(json.dumps({"popcount_limit_gops": limit, "rows": rows}))
        return 0
    print(
        f"bit-serial GEMM {m}x{k}x{n}, 1 thread; "
        f"measured AND+popcount limit: {limit or float('nan'):.0f} G binMAC/s"
    )
    print(f"{'impl':<32}{'GOP/s':>9}{'ms':>10}{'vs int8':>9}{'% popcount limit':>18}")
    base = rows[0]["gops"]
    for r in rows:
        pct = "" if r["binmac_pct"] is None else f"{r['binmac_pct']:.0f}%"
        print(f"{r['impl']:<32}{r['gops']:>9.1f}{r['ms']:>10.2f}{r['gops'] / base:>8.2f}x{pct:>18}")
    return 0
