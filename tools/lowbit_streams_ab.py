"""Same-process A/B of low-bit fields GEMV read patterns (issue 4, branch lbstream), M = 1, one thread,
interleaved rounds of 20 ms samples (each after 10 ms of untimed calls), medians; cold: every call reads
the next of several weight copies (128 MiB in all), as `lowbit bench lowbit` does. Every mode is checked
bit-exact against mode "1" first. Needs the experimental build of commit 0c2358b (branch lbstream; the
LOWBIT_LB_STREAMS / LOWBIT_LB_SKEW switches), not part of the normal build:
    .venv/bin/python tools/lowbit_streams_ab.py 8192 8192 cold 9 "4,0 2,8192 4,-6 2,-11" w4 w2 w1
Modes: "1" the one-stream kernel (prefetch 8 KiB ahead); "S,D" S streams (2-4), one k4 step of each per
iteration, prefetch D bytes ahead per stream (0: none); "S,-1" S streams, 4 k4 steps (4 lines) of one
stream before the next, no prefetch; "4,-3" 4 streams x 2 steps; "4,-5" 4 x 8 steps; "4,-6/-7/-8/-9" 4 x 4
steps, prefetch 2/8/1/4 KiB; "2,-10/-11/-12" 2 streams x 4 steps prefetch 8/4 KiB, x 2 steps 8 KiB.
Suffix "sJ" (e.g. "4,0s1"): stream i starts i * J blocks later (address skew).
"""

import dataclasses
import os
import sys
import time

import numpy as np

from lowbit.ops.gemm import gemm, pack_weight

K, N = int(sys.argv[1]), int(sys.argv[2])
cold = sys.argv[3] == "cold"
rounds = int(sys.argv[4])
MODES = ["1"] + sys.argv[5].split()  # "1": the one-stream path; "S,ahead": S streams, prefetch ahead bytes
names = sys.argv[6:] or ["w4", "w2", "ternary", "w1", "bcq3", "ternary-1.6"]
IMPL = {
    "w4": ("uniform", 4, "fields"),
    "w2": ("uniform", 2, "fields"),
    "ternary": ("ternary", 2, "fields"),
    "w1": ("binary", 1, "fields"),
    "bcq3": ("bcq", 3, "fields"),
    "ternary-1.6": ("ternary", 2, "trits"),
}
sys.path.insert(0, ".")
from lowbit.bench.lowbit_gemv import _call, _weights  # noqa: E402

rng = np.random.default_rng(0)
a = rng.integers(0, 256, (1, K), dtype=np.uint8)
need = 128 << 20 if cold else 0
fns = {}
w8 = rng.integers(-128, 128, (N, K), dtype=np.int8)
p8 = pack_weight(w8)
c8 = [p8] + [pack_weight(w8) for _ in range(max(0, -(-need // p8.data.nbytes) - 1))]
fns["int8"] = (c8, lambda w: gemm(a, w, a_zero_point=128, threads=1), p8.data.nbytes, None)
for nm in names:
    kind, bits, layout = IMPL[nm]
    w, nb = _weights(kind, bits, layout, N, K, rng)
    copies = [w] + [dataclasses.replace(w, data=w.data.copy()) for _ in range(max(0, -(-need // nb) - 1))]
    for mode in MODES:
        fns[f"{nm}/{mode}"] = (copies, _call(kind, a), nb, mode)
    os.environ["LOWBIT_LB_STREAMS"] = "1"
    r0 = _call(kind, a)(w)
    for mode in MODES:
        os.environ["LOWBIT_LB_STREAMS"] = mode.split("s")[0]
        os.environ["LOWBIT_LB_SKEW"] = mode.split("s")[1] if "s" in mode else "0"
        r1 = _call(kind, a)(w)
        assert np.array_equal(r0, r1), (nm, mode)
samples = {k: [] for k in fns}
for _ in range(rounds):
    for name, (copies, fn, _nb, mode) in fns.items():
        if mode is not None:
            os.environ["LOWBIT_LB_STREAMS"] = mode.split("s")[0]
            os.environ["LOWBIT_LB_SKEW"] = mode.split("s")[1] if "s" in mode else "0"
        i = 0
        t_end = time.perf_counter() + 0.01
        while time.perf_counter() < t_end:
            fn(copies[i % len(copies)])
            i += 1
        cnt, t0 = 0, time.perf_counter()
        while True:
            fn(copies[i % len(copies)])
            i += 1
            cnt += 1
            el = time.perf_counter() - t0
            if el >= 0.02:
                break
        samples[name].append(el / cnt)
med = {k: float(np.median(v)) for k, v in samples.items()}
print(f"{K}x{N} {'cold' if cold else 'hot'} rounds={rounds}")
for name, (_, _, nb, mode) in fns.items():
    extra = ""
    if mode not in (None, "1"):
        extra = f"  /old speedup {med[name.split('/')[0] + '/1'] / med[name]:.3f}"
    print(
        f"{name:18s} {med[name] * 1e6:9.1f} us  {nb / med[name] / 1e9:6.1f} GB/s"
        f"  vs int8 {med['int8'] / med[name]:.2f}x" + extra
    )
