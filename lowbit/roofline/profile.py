"""`lowbit profile`: where a QuantizedModel's time goes, kernel by kernel, and why ("which layer is slow").

Every call into lowbit's C++ kernels (``lowbit._C``: the int8 GEMM of IntLinear / DynamicInt8Linear, the
batched attention GEMMs, the integer softmax / GELU / LayerNorm, requantization, activation
quantization) and every float leaf module of torch (LayerNorm, GELU, Softmax, Embedding of a dynamic
model) is timed during the forward pass and attributed to the innermost module that made it (forward
pre/post hooks keep the module stack). Each kernel call gets its operation count and bytes per memory
level from the roofline model (lowbit.roofline.model), hence its ceiling, the bound class (compute, L1,
L2, L3 or DRAM) and the % of that ceiling it reached.

The rest is glue: Python, torch's small ops between kernels (the residual adds, views, dtype casts, the
float input quantization and output dequantization) and, in a dynamic-int8 model, torch's attention
matmuls, which are not modules. Glue share = (forward time without instrumentation - kernel time) /
forward time; per module, the glue row is the module's own time (not in a child) minus its kernels,
measured with the instrumentation on (so it includes the hooks' few microseconds per call).

An I-BERT IntBertEncoder's forward is one C++ call (its plan, csrc/int_bert_plan.h), which a profiler
cannot split: everything here is measured module by module (the same kernels, each call paying its
Python call and argument checks), and the plan's own forward time is reported beside it ("plan_ms").

Timings are the median over repeated forward passes, per kernel call; nothing here asserts on time.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from lowbit.nn.int_bert import module_by_module
from lowbit.roofline.model import (
    INT_OPS_PER_ELEMENT,
    Cost,
    Limits,
    batched_gemm_cost,
    ceiling,
    elementwise_cost,
    gemm_cost,
)

# float operations per element of torch's fp32 leaf modules (rough: exp / erf as ~10-15 flops)
FLOAT_OPS = {"LayerNorm": 7, "GELU": 19, "Softmax": 14, "Embedding": 1, "Dropout": 1}
FUSED_ATTENTION = ("attention_ibert", "attention_fq", "attention_shiftmax", "attention_lut")
KERNELS = ("gemm", "gemm_batched", "attention_qk", "attention_pv", *FUSED_ATTENTION, "ibert_softmax",
           "ibert_gelu", "ibert_gelu_requant", "ibert_layernorm", "ptf_layernorm", "requantize",
           "residual_add", "shiftmax", "shiftgelu", "lut_softmax", "pwl_gelu", "minmax_f32", "quantize_u8",
           "lowbit_gemv", "codebook_gemv", "bitserial_gemm")  # fmt: skip
# elementwise kernels: (op of INT_OPS_PER_ELEMENT, passes over a row); residual: shift, add, clamp (2), narrow
ELEMENTWISE = {"ibert_softmax": ("softmax", 3), "shiftmax": ("softmax", 3), "lut_softmax": ("softmax", 3),
               "ibert_gelu": ("gelu", 1), "shiftgelu": ("gelu", 1), "pwl_gelu": ("gelu", 1),
               "ibert_gelu_requant": ("gelu", 1), "ibert_layernorm": ("layernorm", 3),
               "ptf_layernorm": ("layernorm", 3), "requantize": ("requantize", 1),
               "residual_add": ("residual", 1)}  # fmt: skip
RESIDUAL_OPS = 5
FLOAT_LEAVES = (nn.LayerNorm, nn.GELU, nn.Softmax, nn.Embedding)


@dataclass
class Row:
    """One kernel (or glue) of the forward pass: summed over its calls in one forward, median over
    repeats."""

    module: str  # dotted path of the module that called it ("" = the model itself)
    op: str  # kernel name, torch module type, or "glue"
    kind: str  # linear GEMM, attention GEMM, softmax, GELU, LayerNorm, requantize, act quantize, ..., glue
    shape: str
    calls: int
    ms: float
    share: float = 0.0  # of the uninstrumented forward time
    ops: float = 0.0
    arith: str = ""  # the arithmetic kind of ops: int8, int32, fp32
    bytes: dict[str, float] = field(default_factory=dict)
    gops: float = 0.0
    ceiling_gops: float = 0.0
    bound: str = ""  # compute, L1, L2, L3, DRAM ("" for glue)
    fraction: float = 0.0
    why: str = ""


def _arrays(args) -> list[np.ndarray]:
    return [a for a in args if isinstance(a, np.ndarray)]


def kernel_cost(name: str, args: tuple, limits: Limits) -> tuple[str, Cost | None]:
    """(shape text, roofline Cost) of one call of ``lowbit._C.<name>`` from its arguments."""
    arr = _arrays(args)
    if name == "gemm":
        a, out = args[0], args[14]
        m, k = a.shape
        n = out.shape[1]
        return f"{m}x{k}x{n}", gemm_cost(m, k, n, limits)
    if name == "gemm_batched":
        a, b, out = args[0], args[2], args[10]
        g, m, k = a.shape
        n = b.shape[1]
        return f"{g}x({m}x{k}x{n})", batched_gemm_cost(g, m, k, n, limits, out_bytes=out.itemsize)
    if name in ("attention_qk", "attention_pv", *FUSED_ATTENTION):
        qkv = args[1] if name == "attention_pv" else args[0]
        heads = int(args[2] if name == "attention_pv" else args[1])
        b, t, h3 = qkv.shape
        g, d = b * heads, h3 // 3 // heads
        if name == "attention_qk":
            return f"{g}x({t}x{d}x{t})", batched_gemm_cost(g, t, d, t, limits)
        if name == "attention_pv":
            return f"{g}x({t}x{t}x{d})", batched_gemm_cost(g, t, t, d, limits, out_bytes=1)
        # both products; the scores and probabilities stay in per-thread buffers
        return f"{g}x({t}x{d}x{t})x2", batched_gemm_cost(2 * g, t, d, t, limits, out_bytes=1)
    x = arr[0]
    out = next((o for o in reversed(arr) if o is not x and o.size == x.size), None)
    shape = "x".join(map(str, x.shape))
    ob = out.itemsize if out is not None else 0
    if name in ELEMENTWISE:
        op, passes = ELEMENTWISE[name]
        ops = (
            RESIDUAL_OPS if op == "residual" else INT_OPS_PER_ELEMENT[op] + (name == "ibert_gelu_requant") * 7
        )
        in_bytes = x.itemsize + (2 if op == "residual" else 0)  # the residual reads int8 x and int16 y
        return shape, elementwise_cost(name, int(x.size), in_bytes, ob, ops, limits, "int32", passes)
    if name == "minmax_f32":  # a min and a max per element, nothing written
        return shape, elementwise_cost(name, int(x.size), 4, 0, 2, limits, "fp32")
    if name == "quantize_u8":  # multiply, round, add zero point, clamp
        return shape, elementwise_cost(name, int(x.size), 4, 1, 4, limits, "fp32")
    return shape, None


def module_cost(mod: nn.Module, x: torch.Tensor, y: torch.Tensor, limits: Limits) -> tuple[str, Cost]:
    """A torch fp32 leaf module as an elementwise kernel."""
    name = type(mod).__name__
    elems = int(y.numel())
    passes = 3 if name in ("LayerNorm", "Softmax") else 1
    ib = 8 if name == "Embedding" else x.element_size()  # an int64 index per row, then the gather
    cost = elementwise_cost(name, elems, ib if name != "Embedding" else 4, y.element_size(), FLOAT_OPS[name],
                            limits, "fp32", passes)  # fmt: skip
    return "x".join(map(str, y.shape)), cost


def _category(op: str, module: nn.Module | None) -> str:
    from lowbit.nn.int_nonlinear import IntGelu

    if op == "gemm":
        return "linear GEMM"
    if op in ("gemm_batched", "attention_qk", "attention_pv"):
        return "attention GEMM"
    if op in FUSED_ATTENTION:
        return "attention (fused)"
    if op in ("ibert_softmax", "shiftmax", "lut_softmax", "Softmax"):
        return "softmax"
    if op == "residual_add":
        return "residual"
    if op in ("ibert_gelu", "ibert_gelu_requant", "shiftgelu", "pwl_gelu", "GELU") or (
        op == "requantize" and isinstance(module, IntGelu)
    ):
        return "GELU"
    if op in ("ibert_layernorm", "ptf_layernorm", "LayerNorm"):
        return "LayerNorm"
    if op in ("minmax_f32", "quantize_u8"):
        return "act quantize"
    if op == "Embedding":
        return "embedding"
    return op


class _Recorder:
    """Patches lowbit._C's kernels and hooks every module; records (module, op, shape, cost, seconds)."""

    def __init__(self, model: nn.Module, limits: Limits):
        self.model, self.limits = model, limits
        # paths relative to the wrapped model (a QuantizedModel's "module." prefix dropped)
        inner = model.module if hasattr(model, "recipe") and isinstance(model.module, nn.Module) else model
        self.names = {m: n for n, m in inner.named_modules()}
        self.names[model] = ""
        self.stack: list[nn.Module] = []
        self.starts: list[float] = []
        self.child_time: list[float] = []
        self.kernel_time: list[float] = []
        self.calls: list[tuple[str, str, str, Cost | None, float]] = []
        self.self_time: dict[str, float] = {}
        self.self_kernels: dict[str, float] = {}

    def _wrap(self, name: str, fn):
        def timed(*args):
            t0 = time.perf_counter()
            res = fn(*args)
            sec = time.perf_counter() - t0
            owner = self.stack[-1] if self.stack else self.model
            shape, cost = kernel_cost(name, args, self.limits)
            self.calls.append((self.names.get(owner, ""), name, shape, cost, sec))
            if self.kernel_time:
                self.kernel_time[-1] += sec
            return res

        return timed

    def _pre(self, mod, _inputs):
        self.stack.append(mod)
        self.child_time.append(0.0)
        self.kernel_time.append(0.0)
        self.starts.append(time.perf_counter())

    def _post(self, mod, inputs, output):
        sec = time.perf_counter() - self.starts.pop()
        self.stack.pop()
        children, kernels = self.child_time.pop(), self.kernel_time.pop()
        path = self.names.get(mod, "")
        if isinstance(mod, FLOAT_LEAVES):
            x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else output
            shape, cost = module_cost(mod, x, output, self.limits)
            self.calls.append((path, type(mod).__name__, shape, cost, sec))
        else:
            self.self_time[path] = self.self_time.get(path, 0.0) + sec - children
            self.self_kernels[path] = self.self_kernels.get(path, 0.0) + kernels
        if self.child_time:
            self.child_time[-1] += sec  # a float leaf's time is a child's, so never the parent's glue

    @contextmanager
    def active(self):
        from lowbit import _C

        saved = {n: getattr(_C, n) for n in KERNELS if hasattr(_C, n)}
        handles = []
        try:
            for n, fn in saved.items():
                setattr(_C, n, self._wrap(n, fn))
            for m in self.model.modules():
                handles.append(m.register_forward_pre_hook(self._pre))
                handles.append(m.register_forward_hook(self._post))
            with module_by_module(self.model):  # kernel by kernel, not one plan call
                yield self
        finally:
            for n, fn in saved.items():
                setattr(_C, n, fn)
            for h in handles:
                h.remove()

    def reset(self) -> None:
        self.calls, self.self_time, self.self_kernels = [], {}, {}


def _why(kind: str, bound: str, frac: float, ms_share: float) -> str:
    if kind == "glue":
        return "Python and torch's small ops between kernels (residual, views, casts, float in/out)"
    if frac > 1.05:
        return f"above the {bound} roof: the limit read low (busy machine) or the data sat in a faster level"
    if frac > 0.7:
        return f"near the {bound} roof: a faster kernel cannot help much; fewer bytes or ops would"
    if bound == "compute":
        if kind in ("softmax", "GELU", "LayerNorm", "requantize"):
            return "integer instructions per element (64-bit products, shifts) and per-row work, not memory"
        if kind == "attention GEMM":
            return "small per-head GEMMs (K = head dim 32): tile edges, packing and call overhead per head"
        return "compute-bound below peak: M or N edges of the 6 x 64 tile, epilogue, call overhead"
    return f"{bound}-bound in the model, below its rate: short rows / small calls keep few loads in flight"


def profile(
    qmodel: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    limits: Limits | None = None,
    repeats: int = 5,
) -> list[dict]:
    """Rows (dicts of ``Row``), slowest first, plus a final row of kind "total". See the module doc."""
    if limits is None:
        from lowbit.roofline.probe import limits as to_limits
        from lowbit.roofline.probe import probe

        limits = to_limits(probe(quick=True))
    rec = _Recorder(qmodel, limits)

    def timed() -> list[float]:
        qmodel(input_ids, attention_mask)  # warm-up: packing caches, thread pools, page faults
        seconds = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            qmodel(input_ids, attention_mask)
            seconds.append(time.perf_counter() - t0)
        return seconds

    with torch.inference_mode():
        fused = statistics.median(timed())  # an I-BERT encoder as one C++ plan: the real forward
        with module_by_module(qmodel):
            plain = timed()
        samples: list[list] = []
        glue_samples: list[dict[str, float]] = []
        with rec.active():
            qmodel(input_ids, attention_mask)
            for _ in range(repeats):
                rec.reset()
                qmodel(input_ids, attention_mask)
                samples.append(rec.calls)
                own = rec.self_time
                glue_samples.append({p: own[p] - rec.self_kernels.get(p, 0.0) for p in own})
    total = statistics.median(plain)
    modules = {m_path: m for m, m_path in rec.names.items()}
    # calls are in the same order every forward: median per call index, then sum per (module, op)
    first = samples[0]
    med = [statistics.median(s[i][4] for s in samples) for i in range(len(first))]
    grouped: dict[tuple[str, str, str], Row] = {}
    for (path, op, shape, cost, _), sec in zip(first, med, strict=True):
        key = (path, op, shape)
        r = grouped.get(key)
        if r is None:
            kind = _category(op, modules.get(path))
            r = grouped[key] = Row(path, op, kind, shape, 0, 0.0, arith=cost.kind if cost else "",
                                   bytes={k: 0.0 for k in (cost.bytes if cost else {})})  # fmt: skip
        r.calls += 1
        r.ms += sec * 1e3
        if cost is not None:
            r.ops += cost.ops
            for level, b in cost.bytes.items():
                r.bytes[level] += b
            r._costs = [*getattr(r, "_costs", []), cost]  # type: ignore[attr-defined]
    rows = list(grouped.values())
    for r in rows:
        costs = getattr(r, "_costs", [])
        if costs:
            # the ceiling of the summed work: time floor = sum of each call's floor
            floor_s = sum(c.ops / (ceiling(c, limits).gops * 1e9) for c in costs)
            r.ceiling_gops = r.ops / floor_s / 1e9
            binds = [ceiling(c, limits).binding for c in costs]
            r.bound = max(set(binds), key=binds.count)
            r.gops = r.ops / (r.ms / 1e3) / 1e9
            r.fraction = r.gops / r.ceiling_gops
            del r._costs  # type: ignore[attr-defined]
    kernel_ms = sum(r.ms for r in rows)
    for path in glue_samples[0]:
        ms = statistics.median(g.get(path, 0.0) for g in glue_samples) * 1e3
        if ms > 0:
            rows.append(Row(path, "glue", "glue", "", 1, ms))
    for r in rows:
        r.share = r.ms / (total * 1e3)
        r.why = _why(r.kind, r.bound, r.fraction, r.share)
    rows.sort(key=lambda r: -r.ms)
    glue_ms = total * 1e3 - kernel_ms
    out = [asdict(r) for r in rows]
    out.append({**asdict(Row("", "forward", "total", "x".join(map(str, input_ids.shape)), 1, total * 1e3,
                             1.0)), "kernel_ms": kernel_ms, "glue_ms": glue_ms,
                "glue_share": glue_ms / (total * 1e3), "plan_ms": fused * 1e3})  # fmt: skip
    return out


def by_kind(rows: list[dict]) -> dict[str, float]:
    """Share of the forward time per kind of op, glue = forward time not inside any kernel."""
    total = next(r for r in rows if r["kind"] == "total")
    shares: dict[str, float] = {}
    for r in rows:
        if r["kind"] not in ("total", "glue"):
            shares[r["kind"]] = shares.get(r["kind"], 0.0) + r["ms"] / total["ms"]
    shares["glue"] = total["glue_share"]
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def by_layer(rows: list[dict]) -> dict[str, float]:
    """ms per encoder layer ("layers.3"), kernels and glue together; the rest under "(other)"."""
    out: dict[str, float] = {}
    for r in rows:
        if r["kind"] == "total":
            continue
        parts = r["module"].split(".")
        key = ".".join(parts[:2]) if parts[0] == "layers" and len(parts) > 1 else "(other)"
        out[key] = out.get(key, 0.0) + r["ms"]
    return out


def _inputs(tokens: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """batch x tokens of real text: UCI sentences run together, cut to ``tokens`` (all real tokens)."""
    from lowbit.data.sentiment import load_sentences
    from lowbit.models.minilm import tokenize

    texts = load_sentences()[0]
    ids = []
    for b in range(batch):
        text = " ".join(texts[b * 40 : b * 40 + 40])
        row = tokenize([text])[0][0]
        while len(row) < tokens:
            row = torch.cat([row, row[1:]])
        ids.append(row[:tokens])
    input_ids = torch.stack(ids)
    return input_ids, torch.ones_like(input_ids)


def load_model(recipe: str) -> nn.Module:
    import lowbit
    from lowbit.data.sentiment import load_sentences
    from lowbit.models.minilm import load_minilm

    if lowbit.RECIPES[recipe].activations == "static":
        return lowbit.quantize(load_minilm(), recipe, calibration_data=load_sentences()[0][:32])
    return lowbit.quantize(load_minilm(), recipe)


def run(recipe: str = "int8-integer-only", tokens: int = 128, batch: int = 1, as_json: bool = False,
        repeats: int = 7, threads: int = 1, top: int = 25) -> int:  # fmt: skip
    import json
    import os

    from lowbit.roofline.probe import limits as to_limits
    from lowbit.roofline.probe import probe

    os.environ["LOWBIT_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    limits = to_limits(probe(quick=True), all_cores=threads > 1)
    qmodel = load_model(recipe)
    ids, mask = _inputs(tokens, batch)
    rows = profile(qmodel, ids, mask, limits, repeats)
    total = rows[-1]
    if as_json:
        print(json.dumps({"recipe": recipe, "batch": batch, "tokens": tokens, "threads": threads,
                          "limits": asdict(limits), "by_kind": by_kind(rows), "by_layer": by_layer(rows),
                          "rows": rows}))  # fmt: skip
        return 0
    print(f"{recipe}, {batch}x{tokens} tokens, {threads} thread(s): forward {total['ms']:.2f} ms module by "
          f"module ({total['plan_ms']:.2f} ms as it runs), in kernels {total['kernel_ms']:.2f} ms, glue "
          f"(not in any kernel) {total['glue_ms']:.2f} ms = {100 * total['glue_share']:.0f}%")  # fmt: skip
    print("by kind: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in by_kind(rows).items()))
    print("by layer (ms, glue included): " + ", ".join(f"{k} {v:.2f}" for k, v in by_layer(rows).items()))
    print(f"{'module':<30}{'op':<16}{'shape':<16}{'calls':>5}{'ms':>8}{'share':>7}{'G/s':>8}{'ceiling':>9}"
          f"{'bound':>8}{'of roof':>8}  why")  # fmt: skip
    for r in rows[:-1][:top]:
        g = f"{r['gops']:>8.1f}{r['ceiling_gops']:>9.1f}{r['bound']:>8}{100 * r['fraction']:>7.0f}%" if r[
            "ops"] else f"{'':>8}{'':>9}{'':>8}{'':>8}"  # fmt: skip
        print(f"{r['module'] or '(model)':<30}{r['op']:<16}{r['shape']:<16}{r['calls']:>5}{r['ms']:>8.3f}"
              f"{100 * r['share']:>6.1f}%{g}  {r['why']}")  # fmt: skip
    if len(rows) - 1 > top:
        print(f"... {len(rows) - 1 - top} more rows (--json for all)")
    return 0
