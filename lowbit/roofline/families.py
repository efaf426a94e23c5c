"""The operator families of `lowbit roofline` beyond GEMM: each builds, for a sweep of shapes, the
implementations to time (lowbit's kernels and the relevant peers) with the roofline cost of each.

- gemv: M = 1 GEMVs, int8 (lowbit, ONNX Runtime, torch dynamic int8 on x86/fbgemm), torch fp32, and
  lowbit's low-bit weight GEMVs (4/2/1-bit and ternary, unpack + vpdpbusd): weight bytes bind them.
  Hot (weights L3-resident, one copy) and, in the full sweep, cold (copies rotated so that every call
  reads its weights from DRAM).
- lut: lowbit's T-MAC table GEMVs (4/2/1-bit planes, BCQ 3 planes) in byte lookups, and the codebook
  GEMV (3- and 4-bit SqueezeLLM tables, float32) against the FMA / vpermps roof.
- bitserial: bit-serial GEMM W1A1 (AND and XNOR), W2A2, W4A4 in binary multiply-adds (AND+popcount), in the
  planes-outer and rows-interleaved layouts.
- intops: I-BERT integer softmax (int32 scores), GELU (int16 -> int32) and LayerNorm (int16 -> int8)
  on lowbit's C++ kernels, next to torch fp32 at the same shapes.

Each entry: (impl, shape, Cost, callable); the sweep times the callable and places it under the roof.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable

import numpy as np

from lowbit.roofline.model import (
    INT_OPS_PER_ELEMENT,
    Cost,
    Limits,
    bitserial_cost,
    codebook_gemv_cost,
    elementwise_cost,
    gemv_cost,
    lut_gemv_cost,
)

Entry = tuple[str, tuple[int, ...], Cost, Callable[[], object]]

# rough float operations per element of torch's fp32 kernels (for the peers' rows only): softmax max,
# subtract, exp (~10), sum, divide; GELU erf (~15) and 4 more; LayerNorm sum, subtract, square, sum,
# scale, shift
FLOAT_OPS_PER_ELEMENT = {"softmax": 14, "gelu": 19, "layernorm": 7}


def _rotating(fn: Callable, copies: list) -> Callable[[], object]:
    it = itertools.cycle(copies)
    return lambda: fn(next(it))


def _copies(w, nbytes: int, need: int) -> list:
    if need <= 0:
        return [w]
    copy = w.copy if hasattr(w, "copy") else lambda: dataclasses.replace(w, data=w.data.copy())
    return [w] + [copy() for _ in range(max(0, -(-need // nbytes) - 1))]


def gemv(limits: Limits, quick: bool, threads: int) -> list[Entry]:
    from lowbit.bench.peers import ort_peer, torch_peers
    from lowbit.ops.gemm import gemm, pack_weight
    from lowbit.ops.lowbit_gemv import lowbit_gemv, pack_lowbit

    shapes = [(4096, 4096, False)] if quick else [(4096, 4096, False), (8192, 8192, True)]
    l3 = limits.cache_bytes.get("L3", 32 << 20)
    rng = np.random.default_rng(0)
    out: list[Entry] = []
    for k, n, cold in shapes:
        home = "DRAM" if cold else None
        need = 4 * l3 if cold else 0
        a = rng.integers(0, 256, (1, k), dtype=np.uint8)
        w8 = rng.integers(-128, 128, (n, k), dtype=np.int8)
        p8 = pack_weight(w8)
        copies8 = [p8] + [pack_weight(w8) for _ in range(max(0, -(-need // p8.data.nbytes) - 1))]
        fn = _rotating(lambda w, a=a: gemm(a, w, a_zero_point=128, threads=threads), copies8)
        out.append(("lowbit-int8", (1, k, n), gemv_cost(1, k, n, limits, 8, home=home), fn))
        for impl, bits, kind in [("lowbit-w4", 4, "uniform"), ("lowbit-w2", 2, "uniform"),
                                 ("lowbit-ternary", 2, "ternary"), ("lowbit-w1", 1, "binary")]:  # fmt: skip
            hi = 3 if kind == "ternary" else 1 << bits
            mul, off = (2, -1) if kind == "binary" else (1, -1 if kind == "ternary" else -(1 << (bits - 1)))
            w = pack_lowbit(rng.integers(0, hi, (n, k)), bits, layout="fields", mul=mul, off=off)
            fn = _rotating(lambda w, a=a: lowbit_gemv(a, w, a_zero_point=128, threads=threads),
                           _copies(w, w.nbytes, need))  # fmt: skip
            cost = gemv_cost(1, k, n, limits, bits, rows_per_block=16 * (8 // bits), home=home)
            out.append((impl, (1, k, n), cost, fn))
        # peers hold one copy: cold only where it exceeds the L3 by itself (int8 and fp32 at 8192)
        peers = torch_peers(a, w8, threads)
        keep = {"torch-x86": peers.get("torch-x86") or peers.get("torch-fbgemm"),
                "torch-fp32": peers["torch-fp32"]}  # fmt: skip
        ort = ort_peer(a, w8, threads)
        if ort is not None:
            keep["ort-u8s8"] = ort
        for name, fn in keep.items():
            if fn is None:
                continue
            fp = name == "torch-fp32"
            cost = gemv_cost(1, k, n, limits, 32 if fp else 8, 4 if fp else 1, "fp32" if fp else "int8",
                             rows_per_block=32 if fp else 64)  # fmt: skip
            out.append((name, (1, k, n), cost, fn))
    return out


def lut(limits: Limits, quick: bool, threads: int) -> list[Entry]:
    from lowbit.ops.codebook_gemv import codebook_gemv, pack_codebook
    from lowbit.ops.lowbit_gemv import lowbit_gemv, pack_lowbit

    k = n = 2048 if quick else 4096
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (1, k), dtype=np.uint8)
    out: list[Entry] = []
    for bits in (4, 3, 2, 1):
        impl = f"lowbit-w{bits}-lut"
        w = pack_lowbit(rng.integers(0, 1 << bits, (n, k)), bits, layout="planes", off=-(1 << (bits - 1)))
        out.append((impl, (1, k, n), lut_gemv_cost(1, k, n, bits, limits),
                    lambda w=w: lowbit_gemv(a, w, a_zero_point=128, threads=threads)))  # fmt: skip
    q = 3
    u = rng.integers(0, 2, (n * q, k))
    scale = rng.uniform(0.01, 0.1, (n * q, 1)).astype(np.float32)
    w = pack_lowbit(u, 1, layout="planes", mul=2, off=-1, scale=scale, kind="bcq", combine=q)
    cost = lut_gemv_cost(1, k, n * q, 1, limits, name=f"bcq3 1x{k}x{n}")
    bcq = lambda: lowbit_gemv(a, w, a_zero_point=128, out_dtype=np.float32, threads=threads)  # noqa: E731
    out.append(("lowbit-bcq3-lut", (1, k, n), cost, bcq))
    for bits in (3, 4):
        cb = np.sort(rng.normal(size=(n, 1 << bits)).astype(np.float32), axis=1)
        wc = pack_codebook(rng.integers(0, 1 << bits, (n, k)), bits, cb)
        out.append((f"lowbit-w{bits}cb", (1, k, n), codebook_gemv_cost(1, k, n, bits, limits),
                    lambda wc=wc: codebook_gemv(a, wc, a_zero_point=128, threads=threads)))  # fmt: skip
    return out


def bitserial(limits: Limits, quick: bool, threads: int) -> list[Entry]:
    from lowbit.ops.bitserial import bitserial_gemm, pack_planes

    m, k, n = (64, 2048, 2048) if quick else (256, 4096, 4096)
    rng = np.random.default_rng(0)
    out: list[Entry] = []
    # planes-outer: a 3 x 8 register tile of rows; rows-interleaved: 8 activation rows x 24 weight rows,
    # a zmm holding one word of 8 rows (csrc/bitserial_rows_avx512.cpp)
    for layout, suffix, tile in [("planes-outer", "", (3, 8)), ("rows-interleaved", "-rows", (8, 24))]:
        for name, p, q, bipolar in [("w1a1-xnor", 1, 1, True), ("w1a1", 1, 1, False), ("w2a2", 2, 2, False),
                                    ("w4a4", 4, 4, False)]:  # fmt: skip
            a = pack_planes(rng.integers(0, 1 << q, size=(m, k)), q, layout)
            w = pack_planes(rng.integers(0, 1 << p, size=(n, k)), p, layout)
            cost = bitserial_cost(m, k, n, p, q, limits, tile_m=tile[0], tile_n=tile[1])
            out.append((f"lowbit-bs-{name}{suffix}", (m, k, n), cost,
                        lambda a=a, w=w, b=bipolar: bitserial_gemm(a, w, b)))  # fmt: skip
    return out


def intops(limits: Limits, quick: bool, threads: int) -> list[Entry]:
    import torch

    from lowbit.ops import intops_kernels as ik

    torch.set_num_threads(threads)
    rng = np.random.default_rng(1)
    shapes = {"softmax": (12, 128, 128), "gelu": (128, 1536), "layernorm": (128, 384)}
    if not quick:
        shapes = {"softmax": (8, 12, 128, 128), "gelu": (1024, 1536), "layernorm": (1024, 384)}
    out: list[Entry] = []
    for op, shape in shapes.items():
        x = rng.standard_normal(shape).astype(np.float32)
        xt = torch.from_numpy(x)
        size = int(x.size)
        if op == "softmax":
            q = np.round(x / 1e-3).astype(np.int32)
            fn = lambda q=q: ik.ibert_softmax(q, 1e-3)  # noqa: E731
            io, peer = (4, 1), lambda xt=xt: torch.softmax(xt, -1)
        elif op == "gelu":
            q = np.round(x / 1e-3).astype(np.int16)
            fn = lambda q=q: ik.ibert_gelu(q, 1e-3, out_dtype=np.int32)  # noqa: E731
            io, peer = (2, 4), lambda xt=xt: torch.nn.functional.gelu(xt)
        else:
            q = np.round(x / 1e-3).astype(np.int16)
            nf = shape[-1]
            wv, bv = np.ones(nf), np.zeros(nf)
            fn = lambda q=q, wv=wv, bv=bv: ik.ibert_layernorm(q, 1e-3, wv, bv, 0.05)  # noqa: E731
            io, peer = (2, 1), lambda xt=xt, nf=nf: torch.nn.functional.layer_norm(xt, (nf,))
        passes = {"softmax": 3, "gelu": 1, "layernorm": 3}[op]
        cost = elementwise_cost(f"{op} {shape}", size, io[0], io[1], INT_OPS_PER_ELEMENT[op], limits, "int32",
                                passes)  # fmt: skip
        out.append((f"lowbit-{op}", shape, cost, fn))
        fcost = elementwise_cost(f"{op} {shape} fp32", size, 4, 4, FLOAT_OPS_PER_ELEMENT[op], limits, "fp32",
                                 passes)  # fmt: skip
        out.append((f"torch-fp32-{op}", shape, fcost, peer))
    return out


FAMILIES: dict[str, Callable[[Limits, bool, int], list[Entry]]] = {
    "gemv": gemv,
    "lut": lut,
    "bitserial": bitserial,
    "intops": intops,
}
