# ruff: noqa: B023, E501 -- a one-off measurement script: timing closures are called inside their loop
"""Before/after throughput of the I-BERT kernels next to torch fp32, in one process (1 thread).

Builds nothing itself: pass the path of a `_C` module built from the "before" commit, e.g.

    git archive fb6a45f | tar -x -C /tmp/before
    cmake -S /tmp/before -B /tmp/before/build -DPython_EXECUTABLE=$PWD/.venv/bin/python \\
        -Dnanobind_DIR=$(.venv/bin/python -c "import nanobind; print(nanobind.cmake_dir())")
    cmake --build /tmp/before/build -j2
    .venv/bin/python docs/intops_before_after.py /tmp/before/build/_C.cpython-311-x86_64-linux-gnu.so

"before" repeats the old wrappers around the old module (the LayerNorm one derived its per-channel
constants on every call); "after" is the current wrapper. Repeats are interleaved (before, after, torch)
and medians reported, so that the three columns share the machine's state.
"""

import importlib.util
import sys
import time
import types

import numpy as np
import torch

from lowbit.ops import intops_kernels as k
from lowbit.ops.ibert import check_layernorm_args, layernorm_constants

torch.set_num_threads(1)
pkg = types.ModuleType("before")
pkg.__path__ = []
sys.modules["before"] = pkg
spec = importlib.util.spec_from_file_location("before._C", sys.argv[1])
old = importlib.util.module_from_spec(spec)
spec.loader.exec_module(old)
rng = np.random.default_rng(1)
REP = int(sys.argv[2]) if len(sys.argv) > 2 else 31
SHAPES = [
    ("softmax", (8, 12, 128, 128)),
    ("gelu", (1024, 384)),
    ("gelu", (1024, 1536)),
    ("layernorm", (1024, 384)),
    ("layernorm", (1024, 1536)),
]
print("| op | shape | before G elem/s | after G elem/s | torch fp32 G elem/s | before / torch | after / torch |")
print("|---|---|---:|---:|---:|---:|---:|")
for op, shape in SHAPES:
    x = rng.standard_normal(shape).astype(np.float32)
    xt = torch.from_numpy(x)
    q = np.round(x / 1e-3).astype(np.int16)
    if op == "softmax":

        def before():
            out = np.empty(q.shape, np.uint8)
            old.ibert_softmax(q, *k.softmax_constants(1e-3), out, "auto")

        def after():
            k.ibert_softmax(q, 1e-3)

        def peer():
            torch.softmax(xt, -1)

    elif op == "gelu":

        def before():
            out = np.empty(q.shape, np.int32)
            old.ibert_gelu(q, *k.gelu_constants(1e-3)[:4], out, "auto")

        def after():
            k.ibert_gelu(q, 1e-3, out_dtype=np.int32)

        def peer():
            torch.nn.functional.gelu(xt)

    else:
        n = shape[-1]
        w, b = np.ones(n), np.zeros(n)

        def before():
            _, ww, bb = check_layernorm_args(q.shape, -1, w, b, 0.05, 1e-12)
            out = np.empty(q.shape, np.int8)
            old.ibert_layernorm(q, *layernorm_constants(1e-3, ww, bb, 0.05, 1e-12), out, "auto")

        def after():
            k.ibert_layernorm(q, 1e-3, w, b, 0.05, 1e-12)

        def peer():
            torch.nn.functional.layer_norm(xt, (n,))

    fs = [before, after, peer]
    ts: list[list[float]] = [[], [], []]
    for f in fs:
        f()
    for _ in range(REP):
        for i, f in enumerate(fs):
            t = time.perf_counter()
            f()
            ts[i].append(time.perf_counter() - t)
    g = [x.size / float(np.median(v)) / 1e9 for v in ts]
    print(f"| {op} | {shape} | {g[0]:.2f} | {g[1]:.2f} | {g[2]:.2f} | {g[0] / g[2]:.2f}x | {g[1] / g[2]:.2f}x |")
