"""Bit-serial GEMM rows: lowbit's bit-serial GEMM at 256 x 4096 x 4096 (one thread) for W1A1 (AND and
XNOR), W2A2, W4A4 and W2A8, in each layout (impl name suffixed with it), against lowbit's own int8 GEMM
and the int8 peers at that shape (torch dynamic quantized Linear per engine, torch._int_mm, ONNX Runtime
MatMulInteger; ``vs_peer`` = speed over the fastest of them).

`lowbit bench bitserial` prints them alone; `lowbit bench lowbit` appends them to the GEMV rows.
GOP/s count 2 M K N, as for the int8 GEMM; binary multiply-adds per second = M K N p q / time. The two
limits are measured in the same run, interleaved with the kernels (the machine is shared: a cached probe
figure can come from a busier moment), best round of each: the AND+popcount loop of `lowbit probe`
(``binmac_pct``, the figure the issue's target refers to) and the same loop with each count added into an
accumulator (``acc_pct``), which is the work a GEMM cannot avoid (AND/XOR, vpopcntq, vpaddq per 512
bits). Three layouts (lowbit.ops.bitserial.LAYOUTS) make the layout x bit-packing table of BENCHMARKS.md."""

from __future__ import annotations

import json
import time

import numpy as np

from lowbit.bench.peers import ort_peer, torch_peers
from lowbit.ops.bitserial import LAYOUTS, bitserial_gemm, pack_planes
from lowbit.ops.gemm import gemm, pack_weight

# name: (p = weight bits, q = activation bits, bipolar)
CONFIGS = {
    "w1a1-xnor": (1, 1, True),
    "w1a1": (1, 1, False),
    "w2a2": (2, 2, False),
    "w4a4": (4, 4, False),
    "w2a8": (2, 8, False),
}


def _loop_rate(which: str) -> float | None:
    """G binary multiply-adds/s of one run (about 20 ms) of a probe loop, None if this CPU has none."""
    from lowbit import _C

    try:
        iters = 1000
        while True:
            sec = _C.probe_compute_seconds(which, iters)
            if sec >= 0.02:
                return iters * 24 * 512 / sec / 1e9
            iters *= 4
    except Exception:  # noqa: BLE001 - no AVX-512 VPOPCNTDQ: rows without a limit
        return None


def _timed(fn, min_time: float = 0.02) -> float:
    cnt, t0 = 0, time.perf_counter()
    while True:
        fn()
        cnt += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / cnt


def measure(quick: bool = False) -> dict:
    """{"popcount_limit_gops", "popcount_acc_gops", "rows"}: interleaved rounds (each round times every
    impl and both limit loops once); impls: medians over the rounds, limits: the best round."""
    m, k, n = (64, 2048, 2048) if quick else (256, 4096, 4096)
    rounds = 3 if quick else 9
    rng = np.random.default_rng(0)
    fns: dict[str, tuple[object, int, int, int, str | None]] = {}
    a8 = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    w8_codes = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    w8 = pack_weight(w8_codes)
    fns["lowbit-int8"] = (lambda: gemm(a8, w8, threads=1), n * k, 8, 8, None)
    # int8 peers at the same shape (torch int8 engines, ONNX Runtime), for the "vs best int8 peer" ratio
    peers = torch_peers(a8, w8_codes, 1)
    peers.pop("torch-fp32", None)
    ort = ort_peer(a8, w8_codes, 1)
    if ort is not None:
        peers["ort-u8s8"] = ort
    for name, fn in peers.items():
        fns[name] = (fn, n * k, 8, 8, None)
    for name, (p, q, bipolar) in CONFIGS.items():
        a_codes = rng.integers(0, 1 << q, size=(m, k))
        w_codes = rng.integers(0, 1 << p, size=(n, k))
        for layout in LAYOUTS:
            a, w = pack_planes(a_codes, q, layout), pack_planes(w_codes, p, layout)
            fn = lambda a=a, w=w, b=bipolar: bitserial_gemm(a, w, b)  # noqa: E731
            fns[f"lowbit-bs-{name}-{layout}"] = (fn, int(w.data.nbytes), p, q, layout)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    limit, acc = [], []
    for fn, *_ in fns.values():
        fn()  # warm-up
    for _ in range(rounds):
        limit.append(_loop_rate("popcount_avx512"))
        acc.append(_loop_rate("popcount_acc_avx512"))
        for name, (fn, *_) in fns.items():
            time.sleep(0.01)
            samples[name].append(_timed(fn))
    # the fastest round of each limit loop (the one least disturbed by other load): kernels are medians,
    # so the percentages err low rather than high
    lim = None if None in limit else float(max(limit))
    lim_acc = None if None in acc else float(max(acc))
    rows = []
    peer_rates = [1 / float(np.median(v)) for name, v in samples.items() if not name.startswith("lowbit")]
    best_peer = max(peer_rates, default=None)  # calls per second of the fastest int8 peer
    for name, (_, nbytes, p, q, layout) in fns.items():
        sec = float(np.median(samples[name]))
        binmac = m * k * n * p * q / sec / 1e9 if layout else None
        rows.append({
            "impl": name, "shape": [m, k, n], "threads": 1, "gops": 2 * m * k * n / sec / 1e9,
            "ms": sec * 1e3, "weight_gbps": nbytes / sec / 1e9, "weight_bytes": nbytes, "layout": layout,
            "binmac_gops": binmac,
            "binmac_pct": None if binmac is None or not lim else 100 * binmac / lim,
            "acc_pct": None if binmac is None or not lim_acc else 100 * binmac / lim_acc,
            "vs_peer": None if best_peer is None else 1 / (sec * best_peer),
        })  # fmt: skip
    return {"popcount_limit_gops": lim, "popcount_acc_gops": lim_acc, "rows": rows}


def print_table(res: dict) -> None:
    rows = res["rows"]
    m, k, n = rows[0]["shape"]
    lim, acc = res["popcount_limit_gops"], res["popcount_acc_gops"]
    print(
        f"bit-serial GEMM {m}x{k}x{n}, 1 thread; same-run limits: AND+popcount {lim or float('nan'):.0f}, "
        f"AND+popcount+add {acc or float('nan'):.0f} G binMAC/s"
    )
    print(
        f"{'impl':<40}{'GOP/s':>8}{'ms':>9}{'vs int8':>9}{'vs peer':>9}{'G binMAC/s':>12}{'% popcnt':>10}"
        f"{'% +add':>8}"
    )
    base = rows[0]["gops"]
    for r in rows:
        bm = "" if r["binmac_gops"] is None else f"{r['binmac_gops']:.0f}"
        pct = "" if r["binmac_pct"] is None else f"{r['binmac_pct']:.0f}%"
        pa = "" if r["acc_pct"] is None else f"{r['acc_pct']:.0f}%"
        vp = "" if r["vs_peer"] is None else f"{r['vs_peer']:.2f}x"
        head = f"{r['impl']:<40}{r['gops']:>8.1f}{r['ms']:>9.2f}{r['gops'] / base:>8.2f}x{vp:>9}"
        print(f"{head}{bm:>12}{pct:>10}{pa:>8}")


def run(quick: bool = False, as_json: bool = False) -> int:
    res = measure(quick)
    if as_json:
        print(json.dumps(res))
    else:
        print_table(res)
    return 0
