"""`lowbit bench intops`: every integer-only nonlinear op of lowbit.ops.intops.INTOPS — its error against
float64 on random inputs over the documented range and on real MiniLM activations, its table bytes, and
its throughput (elements/s, 1 thread) next to torch fp32 on the issue's shapes (softmax (8, 12, 128, 128);
GELU, LayerNorm, sigmoid and tanh (1024, 384) and (1024, 1536)), the two timed in interleaved rounds.

The throughput column times the C++ kernel (lowbit/ops/intops_kernels.py, shift_lut_kernels.py and
intops_extra_kernels.py, int16 codes (PTF: uint8), default ISA; I-BERT GELU with int32 output codes: the
reference's int64 values, in half the bytes) for the rows in _kernels(), and the numpy int64 *reference* for
the others (far below torch; printed so that the gap is visible, not hidden). The "kernel" field of each row
says which one was timed. Each row's "gelems" / "torch_fp32_gelems" are those of its shape where lowbit's
ratio to torch is lowest ("shape"); "shapes" lists every shape timed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import partial

import numpy as np
from scipy.special import erf

from lowbit.bench.timing import interleaved_median_seconds

_ROWS = ((1024, 384), (1024, 1536))
SHAPES = {"softmax": ((8, 12, 128, 128),), "gelu": _ROWS, "layernorm": _ROWS, "sigmoid": _ROWS, "tanh": _ROWS}
TIMED_SCALE = 1e-3  # the scale of the timed int16 codes (random normal activations)
FLOAT = {"sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh}


def _kernels() -> dict[tuple[str, str], Callable]:
    """(op, method) -> C++ kernel with the reference's signature, for the rows that have one."""
    from lowbit.ops import intops_extra_kernels as x
    from lowbit.ops import intops_kernels as k
    from lowbit.ops import shift_lut_kernels as s

    return {
        ("softmax", "ibert"): k.ibert_softmax,
        ("gelu", "ibert"): partial(k.ibert_gelu, out_dtype=np.int32),  # same values, half the bytes
        ("layernorm", "ibert"): k.ibert_layernorm,
        ("softmax", "shiftmax"): s.shiftmax,
        ("gelu", "shiftgelu"): s.shiftgelu,
        ("softmax", "lut_rexp"): partial(s.lut_softmax, method="rexp"),
        ("softmax", "lut_lnexp"): partial(s.lut_softmax, method="lnexp"),
        ("gelu", "nnlut"): s.nnlut_gelu,
        ("softmax", "log_int"): x.log_int_softmax,
        ("sigmoid", "pwl"): x.pwl_sigmoid,
        ("tanh", "pwl"): x.pwl_tanh,
        # ivit.ivit_layernorm_ref is ibert_layernorm_ref (the same integers): the I-BERT kernel
        ("layernorm", "ivit"): k.ibert_layernorm,
        ("layernorm", "ptf"): x.ptf_layernorm,
        ("softmax", "nnlut"): x.nnlut_softmax,
    }


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _gelu(x: np.ndarray) -> np.ndarray:
    return x * (1 + erf(x / math.sqrt(2))) / 2


def _layernorm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def _q16(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-tensor symmetric int16 codes of real activations (the ops' documented input width)."""
    s = float(np.abs(x).max()) / 32767
    return np.round(x / s).astype(np.int64), s


def _softmax_err(op, q: np.ndarray, scale: float) -> np.ndarray:
    from lowbit.ops.fqvit import lis_dequant

    out, s = op.ref(q, scale)
    p = lis_dequant(out) if op.method == "log_int" else out * s
    return np.abs(p - _softmax(q * scale)).ravel()


def _gelu_err(op, q: np.ndarray, scale: float) -> np.ndarray:
    out, s = op.ref(q, scale)
    return np.abs(out * s - _gelu(q * scale)).ravel()


def _layernorm_err(op, x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """Error in int8 output codes against float-then-quantize (PTF quantizes its own 8-bit input)."""
    from lowbit.ops.fqvit import ptf_calibrate, ptf_quantize

    if op.method == "ptf":
        p = ptf_calibrate(x)
        q = ptf_quantize(x, p)
        y = _layernorm((q.astype(np.float64) - p.zero_point) * p.scale * 2.0**p.alpha, w, b, eps)
        so = float(np.abs(y).max()) / 127
        out, _ = op.ref(q, p, w, b, so, eps)
    else:
        q, sc = _q16(x)
        y = _layernorm(q * sc, w, b, eps)
        so = float(np.abs(y).max()) / 127
        out, _ = op.ref(q, sc, w, b, so, eps)
    return np.abs(out.astype(np.int64) - np.clip(np.round(y / so), -128, 127)).ravel()


def _errors(op, acts, rng) -> tuple[np.ndarray, np.ndarray]:
    """(random-input errors, real-activation errors) for one registry row."""
    if op.op == "softmax":
        rand = [
            _softmax_err(op, rng.integers(-int(10 / s), int(10 / s) + 1, size=(64, 128)), s)
            for s in (0.1, 1e-2)
        ]
        real = [_softmax_err(op, *_q16(a.astype(np.float64))) for a in acts.scores]
    elif op.op == "gelu":
        rand = [_gelu_err(op, rng.integers(-8000, 8001, size=(256, 384)), 1e-3)]
        real = [_gelu_err(op, *_q16(a.astype(np.float64))) for a in acts.gelu_in]
    elif op.op == "layernorm":
        n = 384
        x = rng.standard_normal((128, n)) * 2.0 ** rng.integers(0, 4, n)
        rand = [_layernorm_err(op, x, rng.uniform(-2, 2, n), rng.uniform(-1, 1, n), 1e-12)]
        real = [_layernorm_err(op, x.astype(np.float64), w, b, eps) for x, w, b, eps in acts.layernorm]
    else:  # sigmoid / tanh: MiniLM has neither, so "real" inputs are its GELU inputs (a stand-in)
        f = FLOAT[op.op]

        def err(q: np.ndarray, scale: float) -> np.ndarray:
            out, s = op.ref(q, scale)
            return np.abs(out * s - f(q * scale)).ravel()

        rand = [err(rng.integers(-8000, 8001, size=(256, 384)), 1e-3)]
        real = [err(*_q16(a.astype(np.float64))) for a in acts.gelu_in]
    return np.concatenate(rand), np.concatenate(real)


def _throughput(op, shape: tuple[int, ...], repeats: int) -> tuple[float, float, bool]:
    """G elements/s of the kernel (or the reference) and of torch fp32 on ``shape`` (1 thread), sampled in
    interleaved rounds (the machine is shared: a burst of load then hits both alike)."""
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    xt = torch.from_numpy(x)
    q = np.round(x / TIMED_SCALE).astype(np.int64)
    kernel = _kernels().get((op.op, op.method))
    fn = op.ref
    if kernel is not None:  # the kernels take the ops' documented 16-bit input codes (PTF: its uint8 codes)
        fn, q = kernel, q.astype(np.int16)
    run: Callable[[], object]
    if op.op == "layernorm":
        n = shape[-1]
        w, b = np.ones(n), np.zeros(n)
        if op.method == "ptf":
            from lowbit.ops.fqvit import ptf_calibrate, ptf_quantize

            p = ptf_calibrate(x.astype(np.float64))
            qp = ptf_quantize(x.astype(np.float64), p)  # uint8 codes: what the PTF kernel takes
            run = lambda: (kernel or op.ref)(qp, p, w, b, 0.05, 1e-12)  # noqa: E731
        else:
            run = lambda: fn(q, TIMED_SCALE, w, b, 0.05, 1e-12)  # noqa: E731
        peer = lambda: torch.nn.functional.layer_norm(xt, (n,))  # noqa: E731
    elif op.op == "softmax":
        run = lambda: fn(q, TIMED_SCALE)  # noqa: E731
        peer = lambda: torch.softmax(xt, -1)  # noqa: E731
    else:
        run = lambda: fn(q, TIMED_SCALE)  # noqa: E731
        peer = {"gelu": torch.nn.functional.gelu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[op.op]
        peer = partial(peer, xt)
    secs = interleaved_median_seconds({"ours": run, "torch": peer}, repeats=repeats if kernel else 3)
    return x.size / secs["ours"] / 1e9, x.size / secs["torch"] / 1e9, kernel is not None


def run(quick: bool = False, as_json: bool = False) -> int:
    from lowbit.ops.activations import capture_minilm
    from lowbit.ops.intops import INTOPS

    acts = capture_minilm(8 if quick else 32)
    rng = np.random.default_rng(0)
    rows = []
    for op in INTOPS.values():
        rand, real = _errors(op, acts, rng)
        shapes = []
        for shape in SHAPES[op.op]:
            ours, torch_fp32, is_kernel = _throughput(op, shape, 5 if quick else 11)
            shapes.append({"shape": list(shape), "gelems": ours, "torch_fp32_gelems": torch_fp32})
        worst = min(shapes, key=lambda r: r["gelems"] / r["torch_fp32_gelems"])
        rows.append(
            {
                "op": op.op,
                "method": op.method,
                "max_abs_err": float(rand.max()),
                "mean_abs_err": float(rand.mean()),
                "real_max_abs_err": float(real.max()),
                "table_bytes": int(op.table_bytes),
                # what the kernel holds at the timed scale, where it derives rows from the table
                "kernel_table_bytes": op.kernel_bytes(TIMED_SCALE) if op.kernel_bytes else op.table_bytes,
                "gelems": worst["gelems"],
                "torch_fp32_gelems": worst["torch_fp32_gelems"],
                "shape": worst["shape"],
                "shapes": shapes,
                "kernel": is_kernel,
            }
        )
    if as_json:
        print(json.dumps({"rows": rows}))
        return 0
    print(
        "integer-only nonlinear ops vs float64 (softmax: probability; gelu, sigmoid, tanh: output units; "
        "layernorm: int8 codes vs float-then-quantize); real = packaged MiniLM on UCI sentences; "
        "G elem/s (1 thread): lowbit's C++ kernel where 'kernel' says yes (int16 codes, PTF uint8), else the "
        "numpy reference; torch fp32 beside it, timed interleaved; one line per shape"
    )
    print(
        f"{'op':<10}{'method':<11}{'max err':>10}{'mean err':>10}{'real max':>10}{'table B':>8}"
        f"{'kernel B':>9}{'shape':>18}{'G elem/s':>10}{'torch fp32':>11}{'ratio':>7}{'kernel':>8}"
    )
    for r in rows:
        for i, t in enumerate(r["shapes"]):
            head = (
                f"{r['op']:<10}{r['method']:<11}{r['max_abs_err']:>10.2e}{r['mean_abs_err']:>10.2e}"
                f"{r['real_max_abs_err']:>10.2e}{r['table_bytes']:>8}{r['kernel_table_bytes']:>9}"
            )
            print(
                f"{head if i == 0 else ' ' * len(head)}{str(tuple(t['shape'])):>18}{t['gelems']:>10.3f}"
                f"{t['torch_fp32_gelems']:>11.2f}{t['gelems'] / t['torch_fp32_gelems']:>6.2f}x"
                f"{'yes' if r['kernel'] else 'no':>8}"
            )
    return 0
