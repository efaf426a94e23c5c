"""`lowbit bench lowbit`: low-bit weight GEMVs (M = 1, one thread) against lowbit's int8 GEMV and the best
int8 peer (torch dynamic int8 Linear, ONNX Runtime MatMulInteger), in one run.

Shapes: 1x8192x8192 with the weights cold (every call reads the next of several weight copies that
together exceed 4x the L3 cache, so each comes from DRAM) and 1x4096x4096 hot (one copy, L3-resident
after the first call). Impls interleave: each round times every impl once; the median per impl over the
rounds is reported, so a burst of load from elsewhere hits every impl alike. GOP/s count 2 M K N; weight
GB/s is packed weight bytes per call / time; % is of the measured DRAM (cold) or L3 (hot) read bandwidth
from `lowbit probe`'s cache. Suffix -lut: the T-MAC-style table kernel (layout planes), none: the unpack +
vpdpbusd kernel (layout fields). lowbit-w2a2-deepgemm: 2-bit weights times 2-bit activations (not int8)
through one 16-entry product table (lowbit/ops/deepgemm.py). llama-*: llama.cpp's ggml Q4_0 / Q2_K / TQ2_0
mat-vec (lowbit/bench/llama_peer.py), only after `make llama-peer`; not counted as the best int8 peer.

Then the bit-serial GEMM rows (lowbit.bench.bitserial): 256 x 4096 x 4096 for lowbit-bs-{w1a1, w1a1-xnor,
w2a2, w4a4, w2a8}-{planes-outer, planes-interleaved} and lowbit's int8 GEMM at that shape, with % of the
AND+popcount limit measured in the same run (JSON: "bitserial")."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from functools import partial

import numpy as np

from lowbit.bench import bitserial, llama_peer
from lowbit.bench.peers import ort_peer, torch_peers
from lowbit.ops.codebook_gemv import codebook_gemv, pack_codebook
from lowbit.ops.deepgemm import deepgemm_2x2, pack_2bit, product_table
from lowbit.ops.gemm import gemm, pack_weight
from lowbit.ops.lowbit_gemv import lowbit_gemv, pack_lowbit

# impl: (kind, bits, layout)
IMPLS = {
    "lowbit-w4": ("uniform", 4, "fields"),
    "lowbit-w4-lut": ("uniform", 4, "planes"),
    "lowbit-w3cb": ("codebook", 3, None),
    "lowbit-w4cb": ("codebook", 4, None),
    "lowbit-w2": ("uniform", 2, "fields"),
    "lowbit-w2-lut": ("uniform", 2, "planes"),
    "lowbit-ternary": ("ternary", 2, "fields"),
    "lowbit-ternary-1.6": ("ternary", 2, "trits"),
    "lowbit-w1": ("binary", 1, "fields"),
    "lowbit-w1-lut": ("binary", 1, "planes"),
    "lowbit-bcq3": ("bcq", 3, "fields"),
    "lowbit-bcq3-lut": ("bcq", 3, "planes"),
}


def _weights(kind: str, bits: int, layout: str | None, n: int, k: int, rng) -> tuple[object, int]:
    """One packed weight of this impl and its byte count."""
    if kind == "codebook":
        u = rng.integers(0, 1 << bits, (n, k))
        cb = np.sort(rng.normal(size=(n, 1 << bits)).astype(np.float32), axis=1)
        w = pack_codebook(u, bits, cb)
        return w, w.nbytes
    if kind == "bcq":
        u = rng.integers(0, 2, (n * bits, k))
        scale = rng.uniform(0.01, 0.1, (n * bits, 1)).astype(np.float32)
        w = pack_lowbit(u, 1, layout=layout, mul=2, off=-1, scale=scale, kind="bcq", combine=bits)
        return w, w.nbytes
    hi = 3 if kind == "ternary" else 1 << bits
    mul, off = (2, -1) if kind == "binary" else (1, -1 if kind == "ternary" else -(1 << (bits - 1)))
    w = pack_lowbit(rng.integers(0, hi, (n, k)), bits, layout=layout, mul=mul, off=off)
    return w, w.nbytes


def _call(kind: str, a: np.ndarray):
    if kind == "codebook":
        return lambda w: codebook_gemv(a, w, a_zero_point=128, threads=1)
    if kind == "bcq":
        return lambda w: lowbit_gemv(a, w, a_zero_point=128, out_dtype=np.float32, threads=1)
    return lambda w: lowbit_gemv(a, w, a_zero_point=128, threads=1)


def _rotating(fn, copies: list) -> object:
    it = itertools.cycle(copies)
    return lambda: fn(next(it))


def _limits() -> tuple[float | None, float | None, float | None]:
    try:
        from lowbit.roofline.probe import probe

        p = probe(quick=True)
        return p.get("int8_gops"), p["bw_gbps"].get("DRAM"), p["bw_gbps"].get("L3")
    except Exception:  # noqa: BLE001 - a bench without limits still reports times
        return None, None, None


def run(quick: bool = False, as_json: bool = False) -> int:
    peak, dram, l3 = _limits()
    rounds = 5 if quick else 11
    shapes = [(1, 4096, 4096, False), (1, 8192, 8192, True)]
    l3_bytes = 32 << 20
    try:
        from lowbit.roofline.probe import cache_sizes

        l3_bytes = cache_sizes().get("L3", l3_bytes)
    except Exception:  # noqa: BLE001
        pass
    rng = np.random.default_rng(0)
    rows = []
    for m, k, n, cold in shapes:
        a = rng.integers(0, 256, (m, k), dtype=np.uint8)
        w8 = rng.integers(-128, 128, (n, k), dtype=np.int8)
        fns: dict[str, tuple[object, int]] = {}
        need = 4 * l3_bytes if cold else 0
        p8 = pack_weight(w8)
        nbytes8 = int(p8.data.nbytes)
        copies8 = [p8] + [pack_weight(w8) for _ in range(max(0, -(-need // nbytes8) - 1))]
        fns["lowbit-int8"] = (
            _rotating(lambda w, a=a: gemm(a, w, a_zero_point=128, threads=1), copies8),
            nbytes8,
        )
        for impl, (kind, bits, layout) in IMPLS.items():
            w, nb = _weights(kind, bits, layout, n, k, rng)
            # LowbitWeight.copy keeps the packed bytes page-aligned, as pack_lowbit leaves them
            copy = w.copy if kind != "codebook" else lambda w=w: dataclasses.replace(w, data=w.data.copy())
            copies = [w] + [copy() for _ in range(max(0, -(-need // nb) - 1))]
            fns[impl] = (_rotating(_call(kind, a), copies), nb)
        # DeepGEMM: 2-bit weights x 2-bit activations (not int8 ones) through one 16-entry product table
        wd, ad = pack_2bit(rng.integers(0, 4, (n, k))), pack_2bit(rng.integers(0, 4, (m, k)))
        table = product_table([-2, -1, 0, 1], [-2, -1, 0, 1])
        copies = [wd] + [wd.copy() for _ in range(max(0, -(-need // wd.nbytes) - 1))]
        dg = partial(deepgemm_2x2, ad, k=k, table=table)
        fns["lowbit-w2a2-deepgemm"] = (_rotating(lambda w, dg=dg: dg(w=w), copies), int(wd.nbytes))
        # peers: one int8 copy (64 MB at 8192 x 8192 is already twice the L3)
        peers = torch_peers(a, w8, 1)
        peers.pop("torch-fp32", None)
        peers.pop("torch-int-mm", None)  # not a GEMV kernel for M = 1 (refused or padded)
        ort = ort_peer(a, w8, 1)
        if ort is not None:
            peers["ort-u8s8"] = ort
        for name, fn in peers.items():
            fns[name] = (fn, n * k)
        # llama.cpp (ggml) Q4_0 / Q2_K / TQ2_0 mat-vec, when `make llama-peer` has built the harness
        fns.update(llama_peer.peers(k, n, need))
        samples: dict[str, list[float]] = {name: [] for name in fns}
        for fn, _ in fns.values():
            fn()  # warm-up (page faults, thread pools)
        for _ in range(rounds):
            for name, (fn, _) in fns.items():
                time.sleep(0.01)
                cnt, t0 = 0, time.perf_counter()
                while True:
                    fn()
                    cnt += 1
                    el = time.perf_counter() - t0
                    if el >= 0.02:
                        break
                samples[name].append(el / cnt)
        bw = dram if cold else l3
        for name, (_, nb) in fns.items():
            sec = float(np.median(samples[name]))
            rows.append({
                "impl": name, "shape": [m, k, n], "threads": 1, "cold": cold,
                "gops": 2 * m * k * n / sec / 1e9, "ms": sec * 1e3,
                "weight_gbps": nb / sec / 1e9, "weight_bytes": nb,
                "bw_pct": None if not bw else 100 * nb / sec / 1e9 / bw,
            })  # fmt: skip
    bs = bitserial.measure(quick)
    rows += bs["rows"]
    if as_json:
        print(json.dumps({"peak_gops": peak, "dram_gbps": dram, "l3_gbps": l3, "rows": rows,
                          "popcount_limit_gops": bs["popcount_limit_gops"],
                          "popcount_acc_gops": bs["popcount_acc_gops"],
                          "llama_peer_missing": llama_peer.missing_hint()}))  # fmt: skip
        return 0
    print(
        f"low-bit GEMV, 1 thread; measured DRAM read {dram or float('nan'):.1f} GB/s, "
        f"L3 {l3 or float('nan'):.1f} GB/s, int8 peak {peak or float('nan'):.0f} GOP/s"
    )
    head = f"{'shape':>16} {'impl':<16}{'GOP/s':>8}{'ms':>9}{'wt GB/s':>9}{'% bw':>7}"
    print(head + f"{'vs int8':>9}{'vs peer':>9}")
    for m, k, n, cold in shapes:
        sub = [r for r in rows if r["shape"] == [m, k, n]]
        base = next(r["gops"] for r in sub if r["impl"] == "lowbit-int8")
        int8_peers = [r["gops"] for r in sub if r["impl"].split("-")[0] in ("torch", "ort")]  # not llama-*
        peer = max(int8_peers, default=float("nan"))
        label = f"{m}x{k}x{n}" + (" cold" if cold else " hot")
        for r in sub:
            pct = "" if r["bw_pct"] is None else f"{r['bw_pct']:.0f}%"
            print(
                f"{label:>16} {r['impl']:<16}{r['gops']:>8.1f}{r['ms']:>9.3f}{r['weight_gbps']:>9.1f}{pct:>7}"
                f"{r['gops'] / base:>8.2f}x{r['gops'] / peer:>8.2f}x"
            )
    if llama_peer.missing_hint():
        print(llama_peer.missing_hint())
    print()
    bitserial.print_table(bs)
    return 0
