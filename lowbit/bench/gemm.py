"""`lowbit bench gemm`: lowbit's int8 GEMM against torch (_int_mm, dynamic quantized Linear on the x86,
fbgemm and onednn engines, fp32), ONNX Runtime MatMulInteger (u8 x s8) and numpy/OpenBLAS fp32, in one
run, with GOP/s (2 M K N per call), the ratio to the best peer and the % of the measured int8 peak.
With --threads N > 1, lowbit at 1 thread is timed in the same rounds (a row with "threads": 1), so the
thread scaling is a ratio from one run."""

from __future__ import annotations

import json
import time

import numpy as np

from lowbit.bench.peers import numpy_fp32_ms, ort_peer, torch_peers
from lowbit.bench.timing import interleaved_median_seconds
from lowbit.ops.gemm import gemm, pack_weight

SHAPES = [
    (1, 4096, 4096),
    (16, 4096, 4096),
    (128, 768, 768),
    (512, 768, 3072),
    (1024, 1024, 1024),
    (1, 8192, 8192),
]
QUICK = [(1, 4096, 4096), (16, 4096, 4096), (128, 768, 768), (512, 768, 3072)]
_ONE = "lowbit (1 thread)"  # the scaling baseline, timed only when threads > 1


def int8_peak_gops(threads: int = 1) -> float | None:
    """The VNNI compute ceiling measured now (one core), or None without AVX-512 VNNI."""
    from lowbit import _C

    if not hasattr(_C, "vnni_peak_loop") or "avx512" not in _C.available_isas():
        return None
    best = 0.0
    for _ in range(5):
        n = 2_000_000
        t0 = time.perf_counter()
        _C.vnni_peak_loop(n)
        best = max(best, n * 3072 / (time.perf_counter() - t0) / 1e9)
    return best * threads


def run(quick: bool = False, as_json: bool = False, threads: int = 1) -> int:
    shapes = QUICK if quick else SHAPES
    repeats = 5 if quick else 11
    peak = int8_peak_gops(threads)
    rng = np.random.default_rng(0)
    rows = []
    np_ms, blas = numpy_fp32_ms(shapes, threads, repeats)
    for (m, k, n), numpy_ms in zip(shapes, np_ms, strict=True):
        a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
        w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
        packed = pack_weight(w)
        impls = {"lowbit": lambda a=a, packed=packed: gemm(a, packed, a_zero_point=128, threads=threads)}
        if threads > 1:
            impls[_ONE] = lambda a=a, packed=packed: gemm(a, packed, a_zero_point=128, threads=1)
        impls.update(torch_peers(a, w, threads))
        ort = ort_peer(a, w, threads)
        if ort is not None:
            impls["ort-u8s8"] = ort
        ops = 2.0 * m * k * n
        # Sampled in rounds over the impls (the machine is shared: its load drifts within a run). With
        # threads, a pause before each sample lets the previous impl's thread pools (OpenMP, ORT) stop
        # spinning: idle spinners on the other core would halve a 2-thread measurement.
        secs = interleaved_median_seconds(impls, repeats=repeats, pause=0.2 if threads > 1 else 0.0)
        for impl, sec in secs.items():
            rows.append(
                {
                    "impl": "lowbit" if impl == _ONE else impl,
                    "shape": [m, k, n],
                    "threads": 1 if impl == _ONE else threads,
                    "gops": ops / sec / 1e9,
                    "ms": sec * 1e3,
                }
            )
        rows.append(
            {
                "impl": "numpy-fp32",
                "shape": [m, k, n],
                "threads": threads,
                "gops": ops / numpy_ms / 1e6,
                "ms": numpy_ms,
            }
        )
    if as_json:
        print(json.dumps({"peak_gops": peak, "rows": rows}))
        return 0
    print(
        f"int8 GEMM, {threads} thread(s); measured int8 (VNNI) peak: "
        f"{'n/a' if peak is None else f'{peak:.0f} GOP/s'}; numpy BLAS: "
        + ", ".join(f"{b.get('internal_api')} {b.get('version')} {b.get('architecture')}" for b in blas)
    )
    print(f"{'shape':>16} {'impl':<14}{'GOP/s':>9}{'ms':>10}{'vs best peer':>14}{'% peak':>8}")
    for shape in shapes:
        sub = [r for r in rows if r["shape"] == list(shape) and r["threads"] == threads]
        best_peer = max(r["gops"] for r in sub if r["impl"] != "lowbit")
        one = [r for r in rows if r["shape"] == list(shape) and r["threads"] == 1 and threads > 1]
        for r in sorted(sub, key=lambda r: -r["gops"]):
            pct = "" if peak is None else f"{100 * r['gops'] / peak:.0f}%"
            print(
                f"{'x'.join(map(str, shape)):>16} {r['impl']:<14}{r['gops']:>9.1f}{r['ms']:>10.3f}"
                f"{r['gops'] / best_peer:>13.2f}x{pct:>8}"
            )
        if one:
            lb = next(r for r in sub if r["impl"] == "lowbit")
            scaling = lb["gops"] / one[0]["gops"]
            print(f"{'':>16} lowbit {threads} threads / 1 thread (same rounds): {scaling:.2f}x")
    return 0
