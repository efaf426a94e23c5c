"""Interleaved timing of the Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU kernels against torch fp32 and
the I-BERT kernels, 1 thread, int16 codes at scale 1e-3 (the shapes of `lowbit bench intops`).

Usage: .venv/bin/python docs/shift_lut_bench.py [repeats]. Each round times every row once, so the rows
of one column share the machine's state; prints medians (G elem/s) and ratios to torch.
"""

import sys
import time

import numpy as np
import torch

from lowbit.ops import intops_kernels as ik
from lowbit.ops import shift_lut_kernels as sk


def main(repeats: int) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    rows = []
    x = rng.standard_normal((8, 12, 128, 128)).astype(np.float32)
    q, xt = np.round(x / 1e-3).astype(np.int16), torch.from_numpy(x)
    peer = lambda: torch.softmax(xt, -1)  # noqa: E731
    sm = ("softmax", "(8, 12, 128, 128)")
    rows += [
        (*sm, "ibert", lambda q=q: ik.ibert_softmax(q, 1e-3), peer, x.size),
        (*sm, "shiftmax", lambda q=q: sk.shiftmax(q, 1e-3), peer, x.size),
        (*sm, "lut_rexp", lambda q=q: sk.lut_softmax(q, 1e-3), peer, x.size),
        (*sm, "lut_lnexp", lambda q=q: sk.lut_softmax(q, 1e-3, "lnexp"), peer, x.size),
    ]
    for shape in [(1024, 384), (1024, 1536)]:
        x = rng.standard_normal(shape).astype(np.float32)
        q, xt = np.round(x / 1e-3).astype(np.int16), torch.from_numpy(x)
        peer = lambda xt=xt: torch.nn.functional.gelu(xt)  # noqa: E731
        rows += [
            ("gelu", str(shape), "ibert", lambda q=q: ik.ibert_gelu(q, 1e-3, "auto", np.int32), peer, x.size),
            ("gelu", str(shape), "shiftgelu", lambda q=q: sk.shiftgelu(q, 1e-3), peer, x.size),
            ("gelu", str(shape), "nnlut", lambda q=q: sk.nnlut_gelu(q, 1e-3), peer, x.size),
        ]
    ours = [[] for _ in rows]
    theirs = [[] for _ in rows]
    for _ in range(repeats):
        for i, (_, _, _, fn, peer, _) in enumerate(rows):
            for f, acc in ((fn, ours[i]), (peer, theirs[i])):
                t = time.perf_counter()
                f()
                acc.append(time.perf_counter() - t)
    print("| op | shape | method | lowbit G elem/s | torch fp32 G elem/s | lowbit / torch |")
    print("|---|---|---|---:|---:|---:|")
    for (op, shape, method, _, _, n), a, b in zip(rows, ours, theirs, strict=True):
        ta, tb = float(np.median(a)), float(np.median(b))
        print(f"| {op} | {shape} | {method} | {n / ta / 1e9:.2f} | {n / tb / 1e9:.2f} | {tb / ta:.2f}x |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
