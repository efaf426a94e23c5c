# ruff: noqa: E501, E731 -- a measurement script (timing closures)
"""Interleaved throughput of every integer-op C++ kernel of `lowbit bench intops` next to torch fp32, 1 thread,
int16 codes at scale 1e-3 on the issue's shapes; optionally a "before" build of `_C` in the same process.

    .venv/bin/python docs/intops_speed_bench.py [repeats] [before _C .so]

Each round times every row once (before, after, torch in turn, each call right after an untimed call of
the same function, so that none finds its input in cache thanks to another), so the columns share the
machine's state; prints medians (G elem/s) and ratios to torch (torch's samples pooled over the rows of
one op and shape). Both modules are called directly with the current wrappers' integer constants and
tables (PTF LayerNorm through its wrapper); rows that "before" lacks, or whose arguments it takes
otherwise, print "-".
"""

import importlib.util
import sys
import time
import types

import numpy as np
import torch

from lowbit import _C
from lowbit.ops import fqvit, pwl
from lowbit.ops import intops_extra_kernels as xk
from lowbit.ops import intops_kernels as ik
from lowbit.ops import shift_lut_kernels as sk


def load(path):
    pkg = types.ModuleType("before")
    pkg.__path__ = []
    sys.modules["before"] = pkg
    spec = importlib.util.spec_from_file_location("before._C", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def raw_calls(q, s=1e-3):
    """method -> (op, fn(module)) calling the module's kernel directly with the wrappers' constants."""
    sm = np.empty(q.shape, np.uint8)
    g32 = np.empty(q.shape, np.int32)
    y16 = np.empty(q.shape, np.int16)

    def pwl_call(mod, name):
        t = pwl.default_table(name)
        pl = pwl.pwl_plan(t, s)
        lim = 2**t.out_frac
        mod.pwl_act(q, pl.r, pl.base, pl.w_max, *pl.kernel_rows, 0 if name == "sigmoid" else -lim, lim,
                    pl.clipless, y16, "auto")

    return {
        ("softmax", "ibert"): lambda mod: mod.ibert_softmax(q, *ik.softmax_constants(s), sm, "auto"),
        ("softmax", "shiftmax"): lambda mod: mod.shiftmax(q, *sk.shift_constants(s), sm, "auto"),
        ("softmax", "lut_rexp"): lambda mod: mod.lut_softmax(q, *sk.lut_args(s, "rexp"), sm, "auto"),
        ("softmax", "lut_lnexp"): lambda mod: mod.lut_softmax(q, *sk.lut_args(s, "lnexp"), sm, "auto"),
        ("softmax", "log_int"): lambda mod: mod.log_int_softmax(q, *ik.softmax_constants(s), sm, "auto"),
        ("softmax", "nnlut"): lambda mod: mod.nnlut_softmax(q, *xk.nnlut_softmax_constants(s), *xk._nnlut_softmax_tables(), sm, "auto"),
        ("gelu", "ibert"): lambda mod: mod.ibert_gelu(q, *ik.gelu_constants(s)[:4], g32, "auto"),
        ("gelu", "shiftgelu"): lambda mod: mod.shiftgelu(q, *sk.shiftgelu_constants(s), g32, "auto"),
        ("gelu", "nnlut"): lambda mod: mod.pwl_gelu(q, *sk.nnlut_gelu_args(s), g32, "auto"),
        ("sigmoid", "pwl"): lambda mod: pwl_call(mod, "sigmoid"),
        ("tanh", "pwl"): lambda mod: pwl_call(mod, "tanh"),
    }


def main(repeats, before):
    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    peers = {"softmax": lambda xt: torch.softmax(xt, -1), "gelu": torch.nn.functional.gelu,
             "sigmoid": torch.sigmoid, "tanh": torch.tanh,
             "layernorm": lambda xt: torch.nn.functional.layer_norm(xt, (xt.shape[-1],))}
    rows = []
    for op, shape in [("softmax", (8, 12, 128, 128)), ("gelu", (1024, 384)), ("gelu", (1024, 1536)),
                      ("sigmoid", (1024, 1536)), ("tanh", (1024, 1536)), ("layernorm", (1024, 384)),
                      ("layernorm", (1024, 1536))]:
        x = rng.standard_normal(shape).astype(np.float32)
        q, xt = np.round(x / 1e-3).astype(np.int16), torch.from_numpy(x)
        peer = (lambda xt=xt, f=peers[op]: f(xt))
        if op == "layernorm":
            n = shape[-1]
            w, b = np.ones(n), np.zeros(n)
            _, consts = ik._layernorm_constants(q.shape, -1, 1e-3, w, b, 0.05, 1e-12)
            ln_out = np.empty(q.shape, np.int8)

            def ln(mod, q=q, consts=consts, ln_out=ln_out):
                mod.ibert_layernorm(q, *consts, ln_out, "auto")

            rows.append((op, shape, "ibert (= ivit)", (lambda ln=ln: ln(before)) if before is not None else None,
                         (lambda ln=ln: ln(_C)), peer, x.size))
            pp = fqvit.ptf_calibrate(x.astype(np.float64))
            qp = fqvit.ptf_quantize(x.astype(np.float64), pp)
            rows.append((op, shape, "ptf", None, (lambda qp=qp, pp=pp, w=w, b=b: xk.ptf_layernorm(qp, pp, w, b, 0.05)),
                         peer, x.size))
            continue
        for (o, method), call in raw_calls(q).items():
            if o == op:
                rows.append((op, shape, method, (lambda c=call: c(before)) if before is not None else None,
                             (lambda c=call: c(_C)), peer, x.size))
    res = [[[], [], []] for _ in rows]
    for _ in range(repeats):
        for i, (_, _, _, b, a, p, _) in enumerate(rows):
            for j, f in enumerate((b, a, p)):
                if f is None:
                    continue
                try:
                    f()  # untimed: every column is timed with its input and output already in cache
                except (AttributeError, TypeError):  # the before module lacks this kernel (or this signature)
                    res[i][j] = None
                    continue
                t = time.perf_counter()
                f()
                if res[i][j] is not None:
                    res[i][j].append(time.perf_counter() - t)
    print("| op | shape | method | before G elem/s | after G elem/s | torch fp32 G elem/s | before / torch | after / torch |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    # torch does the same work in every row of an (op, shape): its samples are pooled per (op, shape)
    pooled: dict = {}
    for (op, shape, *_), (_, _, tp) in zip(rows, res, strict=True):
        pooled.setdefault((op, shape), []).extend(tp)
    for (op, shape, method, *_, n), (tb, ta, _) in zip(rows, res, strict=True):
        med = [float(np.median(v)) if v else None for v in (tb, ta, pooled[(op, shape)])]
        g = [f"{n / m / 1e9:.2f}" if m else "-" for m in med]
        r = [f"{med[2] / m:.2f}x" if m else "-" for m in med[:2]]
        print(f"| {op} | {shape} | {method} | {g[0]} | {g[1]} | {g[2]} | {r[0]} | {r[1]} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21, load(sys.argv[2]) if len(sys.argv) > 2 else None)
