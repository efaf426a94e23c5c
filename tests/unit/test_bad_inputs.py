"""Fuzzing every public op entry point with bad input (the project standard: a LowbitError that names the
argument, never a crash, never silent garbage).

Each entry point gets valid arguments; hypothesis then mutates one of them (wrong dtype, wrong ndim, empty,
transposed, strided, misaligned, Fortran order, read-only, object or bool arrays; out-of-range or
non-integer ints; NaN / Inf scales; truncated or retagged packed weights; codes out of range). The call must
either raise a LowbitError whose argument list (the part before ':') names the mutated argument, or succeed
with exactly the result of the same call on the equivalent valid input: the mutated array made
C-contiguous (a view the op accepts must be read correctly). Crashes were found first by running the probes
in subprocesses; tests/unit/test_bad_inputs_regressions.py holds one regression test per bug.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lowbit import _C
from lowbit.errors import LowbitError
from lowbit.ops import attention as att
from lowbit.ops import bitserial as bs
from lowbit.ops import codebook_gemv as cbg
from lowbit.ops import deepgemm as dg
from lowbit.ops import intops_extra_kernels as ix
from lowbit.ops import intops_kernels as ik
from lowbit.ops import lowbit_gemv as lbg
from lowbit.ops import shift_lut_kernels as sl
from lowbit.ops.fqvit import PTFParams
from lowbit.ops.gemm import gemm, gemm_batched, pack_weight
from lowbit.ops.requant import quantize_multiplier, requantize

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

ARRAY_MUTATIONS = (
    "float64", "float32", "int64", "int32", "int16", "uint8", "bool", "object",
    "ndim+1", "ndim-1", "0-d", "empty", "transpose", "strided", "misaligned", "fortran", "readonly", "list",
)  # fmt: skip


def _misaligned(x: np.ndarray) -> np.ndarray:
    """A copy of x whose data starts one byte past an aligned address."""
    raw = np.zeros(x.nbytes + 64, np.uint8)
    off = (-raw.ctypes.data) % 64 + 1
    y = raw[off : off + x.nbytes].view(x.dtype).reshape(x.shape)
    y[...] = x
    return y


def mutate(x: np.ndarray, kind: str):
    """x changed by ``kind`` (module doc); a list for "list"."""
    if kind in ("float64", "float32", "int64", "int32", "int16", "uint8", "bool", "object"):
        return x.astype(kind if kind != "object" else object)
    if kind == "ndim+1":
        return x[None]
    if kind == "ndim-1":
        return x.reshape(-1) if x.ndim > 1 else x.reshape(1, -1)
    if kind == "0-d":
        return x.reshape(-1)[:1].reshape(()) if x.size else np.zeros((), x.dtype)
    if kind == "empty":
        return x[:0]
    if kind == "transpose":
        return x.T
    if kind == "strided":  # the same values, every other element of a twice-as-long last axis
        wide = np.repeat(x, 2, axis=-1) if x.ndim else np.repeat(x[None], 2)
        return wide[..., ::2]
    if kind == "misaligned":
        return _misaligned(x)
    if kind == "fortran":
        return np.asfortranarray(x)
    if kind == "readonly":
        y = x.copy()
        y.flags.writeable = False
        return y
    assert kind == "list"
    return x.tolist()


def named(message: str, names: tuple[str, ...]) -> bool:
    """Whether the argument list of a LowbitError message (before ':') names one of ``names`` (or a field of
    one, e.g. 'w.n' for 'w')."""
    head = message.split(":", 1)[0]
    args = [a.strip() for a in head.split(",")]
    return any(a == n or a.startswith(n + ".") or a.startswith(n + "[") for a in args for n in names)


def equal(x, y) -> bool:
    if isinstance(x, tuple):
        return (
            isinstance(y, tuple) and len(x) == len(y) and all(equal(a, b) for a, b in zip(x, y, strict=True))
        )
    if isinstance(x, np.ndarray):
        return (
            isinstance(y, np.ndarray)
            and x.dtype == y.dtype
            and x.shape == y.shape
            and (np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))
        )
    return x == y


def outcome(call: Callable[[], object]):
    """('ok', result) or ('error', message) for LowbitError; any other exception propagates (a failure)."""
    try:
        return "ok", call()
    except LowbitError as e:
        return "error", str(e)


def check_mutation(call: Callable[[object], object], valid: np.ndarray, kind: str, names: tuple[str, ...]):
    bad = mutate(valid, kind)
    got = outcome(lambda: call(bad))
    if got[0] == "error":
        assert named(got[1], names), f"{kind}: the message does not name {names}: {got[1]!r}"
        return
    # accepted: it must be the result of the equivalent C-contiguous input (same dtype, same values)
    equivalent = np.array(bad, order="C") if not isinstance(bad, list) else np.asarray(bad, valid.dtype)
    if equivalent.dtype == object or equivalent.dtype == bool:
        pytest.fail(f"{kind}: a {equivalent.dtype} array was accepted for {names}")
    want = outcome(lambda: call(equivalent))
    assert want[0] == "ok", f"{kind}: accepted a view whose contiguous copy is refused ({want[1]})"
    assert equal(got[1], want[1]), f"{kind}: the result differs from the contiguous input's"


# ---- the entry points: (name, valid arrays, call(arrays) -> result, {array: names its errors may use})

RNG = np.random.default_rng(1234)


def _gemm_case():
    w8 = RNG.integers(-128, 128, (70, 40), dtype=np.int8)
    pw = pack_weight(w8)
    m0, sh = quantize_multiplier(np.full(70, 0.01))
    arrays = {
        "a": RNG.integers(0, 256, (5, 40)).astype(np.uint8),
        "bias": RNG.integers(-1000, 1000, 70).astype(np.int32),
        "m0": m0,
        "shift": sh,
        "w.data": pw.data,
        "w.colsum": pw.colsum,
    }

    def call(v):
        w = dataclasses.replace(pw, data=v["w.data"], colsum=v["w.colsum"])
        return gemm(v["a"], w, bias=v["bias"], m0=v["m0"], shift=v["shift"], out_dtype=np.int8, threads=1)

    return arrays, call, {"w.data": ("packed", "w"), "w.colsum": ("colsum", "w")}


def _requantize_case():
    m0, sh = quantize_multiplier(np.linspace(0.001, 0.1, 25))
    arrays = {"acc": RNG.integers(-(2**20), 2**20, (4, 25)).astype(np.int32), "m0": m0, "shift": sh}
    # a mismatch of acc's columns and the per-column multipliers may be reported on either side
    aliases = {"acc": ("acc", "m0", "shift"), "m0": ("m0", "shift"), "shift": ("m0", "shift")}
    return arrays, lambda v: requantize(v["acc"], v["m0"], v["shift"], out_dtype=np.int8), aliases


def _lowbit_case(layout: str, bits: int):
    def case():
        u = RNG.integers(0, 3 if layout == "trits" else 2**bits, (40, 64))
        w = lbg.pack_lowbit(u, bits, layout=layout, scale=RNG.uniform(0.5, 2, (40, 2)), group=32)
        arrays = {
            "a": RNG.integers(0, 256, (3, 64)).astype(np.uint8),
            "act_scale": RNG.uniform(0.5, 2, 3).astype(np.float32),
            "w.data": w.data,
            "w.rowsum": w.rowsum,
            "w.scale": w.scale,
        }

        def call(v):
            lw = dataclasses.replace(w, data=v["w.data"], rowsum=v["w.rowsum"], scale=v["w.scale"])
            return lbg.lowbit_gemv(v["a"], lw, out_dtype=np.float32, act_scale=v["act_scale"], threads=1)

        aliases = {
            "w.data": ("w",),
            "w.rowsum": ("rowsum", "w"),
            "w.scale": ("scale", "w"),
            "a": ("a", "act_scale"),
        }
        return arrays, call, aliases

    return case


def _codebook_case():
    u = RNG.integers(0, 16, (8, 64))
    w = cbg.pack_codebook(u, 4, RNG.standard_normal((8, 16)))
    arrays = {
        "a": RNG.standard_normal((2, 64)).astype(np.float32),
        "act_scale": RNG.uniform(0.5, 2, 2).astype(np.float32),
        "w.data": w.data,
        "w.tables": w.tables,
    }

    def call(v):
        cw = dataclasses.replace(w, data=v["w.data"], tables=v["w.tables"])
        return cbg.codebook_gemv(v["a"], cw, act_scale=v["act_scale"], threads=1)

    return arrays, call, {"w.data": ("w",), "w.tables": ("codebook", "w"), "a": ("a", "act_scale")}


def _bitserial_case():
    ca, cw = RNG.integers(0, 4, (3, 100)), RNG.integers(0, 4, (5, 100))
    pa, pw = bs.pack_planes(ca, 2), bs.pack_planes(cw, 2)
    arrays = {"a.data": pa.data, "w.data": pw.data}

    def call(v):
        return bs.bitserial_gemm(
            dataclasses.replace(pa, data=v["a.data"]), dataclasses.replace(pw, data=v["w.data"])
        )

    return arrays, call, {"a.data": ("a", "planes"), "w.data": ("w", "planes")}


def _deepgemm_case():
    t = dg.product_table([-2, -1, 0, 1], [-2, -1, 0, 1])
    arrays = {
        "a": dg.pack_2bit(RNG.integers(0, 4, (3, 10))),
        "w": dg.pack_2bit(RNG.integers(0, 4, (5, 10))),
        "table": t,
    }
    return (
        arrays,
        lambda v: dg.deepgemm_2x2(v["a"], v["w"], 10, v["table"]),
        {"a": ("a", "a, w"), "w": ("w",)},
    )


def _attention_case():
    arrays = {
        "qkv": RNG.integers(-20, 20, (2, 4, 24)).astype(np.int8),
        "bias": np.where(RNG.random((2, 4)) < 0.2, -(2**29), 0).astype(np.int32),
        "p": RNG.integers(0, 256, (2, 2, 4, 4)).astype(np.uint8),
    }

    def call(v):
        scores = att.attention_qk(v["qkv"], 2, v["bias"], threads=1)
        return scores, att.attention_pv(v["p"], v["qkv"], 2, 1 << 30, 38, threads=1)

    return arrays, call, {"qkv": ("qkv", "heads", "p", "bias"), "bias": ("bias",), "p": ("p",)}


def _fused_attention_case():
    arrays = {
        "qkv": RNG.integers(-20, 20, (2, 4, 24)).astype(np.int8),
        "bias": np.where(RNG.random((2, 4)) < 0.2, -(2**29), 0).astype(np.int32),
    }

    def call(v):
        return tuple(
            f(v["qkv"], 2, v["bias"], 0.01, 1 << 30, 38, threads=1)
            for f in (att.attention_ibert, att.attention_fq, att.attention_shiftmax, att.attention_lut)
        )

    return arrays, call, {"qkv": ("qkv", "heads", "bias"), "bias": ("bias",)}


def _gelu_requant_case():
    # the integer BERT's fused GELU + requantize (called by lowbit.nn.int_nonlinear, no wrapper of its own)
    clip, m0, shift, qc, _ = ik.gelu_constants(0.05)
    rq_m0, rq_shift = quantize_multiplier(np.full(16, 0.001))
    arrays = {"q": RNG.integers(-300, 300, (3, 16)).astype(np.int16), "rq_m0": rq_m0, "rq_shift": rq_shift}

    def call(v):
        out = np.empty(np.shape(v["q"]), np.uint8)
        _C.ibert_gelu_requant(v["q"], clip, m0, shift, qc, v["rq_m0"], v["rq_shift"], 3, out)
        return out

    aliases = {"q": ("q", "rq_m0", "rq_shift", "out"), "rq_m0": ("rq_m0",), "rq_shift": ("rq_m0", "rq_shift")}
    return arrays, call, {**aliases, "skip": ("object", "list")}  # lowbit._C directly: see _quant_act_case


def _residual_case():
    arrays = {
        "x": RNG.integers(-128, 128, (3, 8)).astype(np.int8),
        "shift": RNG.integers(0, 8, 8).astype(np.int32),
        "y": RNG.integers(-3000, 3000, (3, 8)).astype(np.int16),
    }
    aliases = {"x": ("x", "y", "shift"), "y": ("y", "x")}  # shape mismatches of x and y: named on either side
    return arrays, lambda v: att.residual_add(v["x"], v["shift"], v["y"], threads=1), aliases


def _gemm_batched_case():
    arrays = {
        "a": RNG.integers(0, 256, (2, 3, 8)).astype(np.uint8),
        "b": RNG.integers(-128, 128, (2, 5, 8)).astype(np.int8),
        "bias": RNG.integers(-100, 100, (2, 5)).astype(np.int32),
    }
    return arrays, lambda v: gemm_batched(v["a"], v["b"], bias=v["bias"], threads=1), {"a": ("a", "a, b")}


def _intops_case():
    q = RNG.integers(-300, 300, (4, 16)).astype(np.int16)
    arrays = {"q": q, "weight": RNG.uniform(0.5, 2, 16), "bias": RNG.uniform(-1, 1, 16)}

    def call(v):
        q = v["q"]
        return (
            ik.ibert_softmax(q, 0.05), ik.ibert_gelu(q, 0.05),
            ik.ibert_layernorm(q, 0.05, v["weight"], v["bias"], 0.1),
            sl.shiftmax(q, 0.05), sl.shiftgelu(q, 0.05), sl.lut_softmax(q, 0.05), sl.nnlut_gelu(q, 0.05),
            ix.log_int_softmax(q, 0.05), ix.pwl_sigmoid(q, 0.05), ix.pwl_tanh(q, 0.05),
            ix.nnlut_softmax(q, 0.05),
        )  # fmt: skip

    return arrays, call, {"q": ("q", "weight", "bias")}  # the LayerNorm's channels follow q's last axis


def _ptf_case():
    p = PTFParams(scale=0.02, zero_point=7, bits=4, alpha=RNG.integers(0, 4, 16).astype(np.int64))
    arrays = {"q": RNG.integers(0, 16, (3, 16)).astype(np.uint8), "p.alpha": p.alpha, "weight": np.ones(16)}

    def call(v):
        pp = dataclasses.replace(p, alpha=v["p.alpha"])
        return ix.ptf_layernorm(v["q"], pp, v["weight"], np.zeros(16), 0.1)

    return arrays, call, {"p.alpha": ("alpha", "q", "p")}


def _quant_act_case():
    arrays = {"x": RNG.standard_normal((3, 20)).astype(np.float32)}

    def call(v):
        out = np.empty(np.shape(v["x"]), np.uint8)
        _C.quantize_u8(v["x"], 0.02, 128, out)
        return out, _C.minmax_f32(v["x"])

    # lowbit._C itself: an object array or a list is not an ndarray nanobind can take, and the call fails its
    # signature check (TypeError) before any C++ runs; the wrappers above turn those into LowbitErrors
    return arrays, call, {"skip": ("object", "list")}


CASES = {
    "gemm": _gemm_case,
    "requantize": _requantize_case,
    "lowbit_gemv fields 2": _lowbit_case("fields", 2),
    "lowbit_gemv planes 3": _lowbit_case("planes", 3),
    "lowbit_gemv trits": _lowbit_case("trits", 2),
    "codebook_gemv": _codebook_case,
    "bitserial_gemm": _bitserial_case,
    "deepgemm_2x2": _deepgemm_case,
    "attention_qk, attention_pv": _attention_case,
    "attention_ibert, _fq, _shiftmax, _lut": _fused_attention_case,
    "ibert_gelu_requant": _gelu_requant_case,
    "residual_add": _residual_case,
    "gemm_batched": _gemm_batched_case,
    "integer nonlinear ops": _intops_case,
    "ptf_layernorm": _ptf_case,
    "quantize_u8, minmax_f32": _quant_act_case,
}
BUILT = {name: make() for name, make in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_valid_inputs_run(name):
    arrays, call, _ = BUILT[name]
    call(arrays)  # the baseline every mutation is compared with


@pytest.mark.parametrize("name", list(CASES))
@FUZZ
@given(data=st.data())
def test_mutated_array_arguments(name, data):
    arrays, call, aliases = BUILT[name]
    arg = data.draw(st.sampled_from(sorted(arrays)), label="argument")
    kind = data.draw(st.sampled_from([m for m in ARRAY_MUTATIONS if m not in aliases.get("skip", ())]))
    short = arg.split(".")[-1]
    names = aliases.get(arg, (arg, short))
    check_mutation(lambda bad: call({**arrays, arg: bad}), arrays[arg], kind, names)


# ---- integer and scalar arguments

BAD_INTS = st.sampled_from([-1, 0, -(2**31) - 1, 2**31, 2**40, 2**63, 2**70, 1.5, "3", None, float("nan")])


def _int_calls():
    a = RNG.integers(0, 256, (5, 40)).astype(np.uint8)
    pw = pack_weight(RNG.integers(-128, 128, (70, 40), dtype=np.int8))
    u = RNG.integers(0, 4, (40, 64))
    lw = lbg.pack_lowbit(u, 2)
    a64 = RNG.integers(0, 256, (3, 64)).astype(np.uint8)
    cw = cbg.pack_codebook(RNG.integers(0, 16, (8, 64)), 4, RNG.standard_normal((8, 16)))
    qkv = RNG.integers(-5, 5, (2, 4, 24)).astype(np.int8)
    pa2, pw2 = dg.pack_2bit(RNG.integers(0, 4, (3, 10))), dg.pack_2bit(RNG.integers(0, 4, (5, 10)))
    t = dg.product_table([-2, -1, 0, 1], [0, 1, 2, 3])
    acc = np.arange(100, dtype=np.int32).reshape(4, 25)
    m0, sh = quantize_multiplier(0.01)
    x8, s8, y16 = np.zeros((3, 8), np.int8), np.zeros(8, np.int32), np.zeros((3, 8), np.int16)
    # (argument, call(value), values of the bad list that are valid for it: None is the default of some)
    return [
        ("threads", lambda v: gemm(a, pw, threads=v), (None,)),
        ("a_zero_point", lambda v: gemm(a, pw, a_zero_point=v), (0,)),
        ("zero_point", lambda v: gemm(a, pw, out_dtype=np.int8, m0=m0, shift=sh, zero_point=v), (-1, 0)),
        ("qmin", lambda v: gemm(a, pw, out_dtype=np.int8, m0=m0, shift=sh, qmin=v), (-1, 0, None)),
        ("w.n", lambda v: gemm(a, dataclasses.replace(pw, n=v)), ()),
        ("w.k", lambda v: gemm(a, dataclasses.replace(pw, k=v)), ()),
        ("threads", lambda v: lbg.lowbit_gemv(a64, lw, threads=v), (None,)),
        ("a_zero_point", lambda v: lbg.lowbit_gemv(a64, lw, a_zero_point=v), (0,)),
        ("w.bits", lambda v: lbg.lowbit_gemv(a64, dataclasses.replace(lw, bits=v)), ()),
        ("w.n", lambda v: lbg.lowbit_gemv(a64, dataclasses.replace(lw, n=v)), ()),
        ("threads", lambda v: cbg.codebook_gemv(a64, cw, threads=v), (None,)),
        ("w.table_row_stride", lambda v: cbg.codebook_gemv(a64, dataclasses.replace(cw, table_row_stride=v)),
         (0,), ("codebook",)),
        ("k", lambda v: dg.deepgemm_2x2(pa2, pw2, v, t), ()),
        ("heads", lambda v: att.attention_qk(qkv, v), ()),
        ("heads", lambda v: att.attention_pv(np.zeros((2, 2, 4, 4), np.uint8), qkv, v, 1, 1), ()),
        ("shift", lambda v: att.attention_pv(np.zeros((2, 2, 4, 4), np.uint8), qkv, 2, 1, v), (0,)),
        ("threads", lambda v: att.residual_add(x8, s8, y16, threads=v), (None,)),
        ("zero_point", lambda v: requantize(acc, m0, sh, zero_point=v), (-1, 0)),
        ("qmax", lambda v: requantize(acc, m0, sh, qmax=v), (-1, 0, None)),
        ("bits", lambda v: lbg.pack_lowbit(u, v), ()),
        ("bits", lambda v: cbg.pack_codebook(u, v, np.ones(16)), ()),
        ("bits", lambda v: bs.pack_planes(u, v), ()),
        ("group", lambda v: lbg.pack_lowbit(u, 2, group=v), (None,)),
        ("group", lambda v: cbg.pack_codebook(u, 4, np.ones((40, 16)), group=v), (None,)),
    ]  # fmt: skip


INT_CALLS = _int_calls()


@FUZZ
@given(case=st.sampled_from(range(len(INT_CALLS))), value=BAD_INTS)
def test_bad_integer_arguments(case, value):
    argument, call, valid, *also = INT_CALLS[case]
    if any(value is v or (type(value) is int and value == v) for v in valid):
        return
    with pytest.raises(LowbitError) as e:
        call(value)
    assert named(str(e.value), (argument, argument.split(".")[-1], *(also[0] if also else ()))), str(e.value)


BAD_FLOATS = st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, -1.0, 1e300, "x", None])


def _scale_calls():
    a = RNG.integers(0, 256, (5, 40)).astype(np.uint8)
    pw = pack_weight(RNG.integers(-128, 128, (70, 40), dtype=np.int8))
    q = RNG.integers(-300, 300, (4, 16)).astype(np.int16)
    u = RNG.integers(0, 4, (40, 64))
    a64 = RNG.integers(0, 256, (3, 64)).astype(np.uint8)
    lw = lbg.pack_lowbit(u, 2, scale=np.ones(40))
    cw = cbg.pack_codebook(RNG.integers(0, 16, (8, 64)), 4, RNG.standard_normal((8, 16)))
    ones = np.ones(16)
    # (argument, call(value), values that are valid for it)
    return [
        ("scale", lambda v: gemm(a, pw, out_dtype=np.float32, scale=v), (1e300,)),  # inf in float32: refused
        ("scale", lambda v: ik.ibert_softmax(q, v), ()),
        ("scale", lambda v: ik.ibert_gelu(q, v), ()),
        ("scale", lambda v: ik.ibert_layernorm(q, v, ones, ones, 0.1), ()),
        ("out_scale", lambda v: ik.ibert_layernorm(q, 0.05, ones, ones, v), ()),
        ("eps", lambda v: ik.ibert_layernorm(q, 0.05, ones, ones, 0.1, eps=v), (0.0, 1e300)),
        ("weight", lambda v: ik.ibert_layernorm(q, 0.05, np.full(16, v), ones, 0.1), (0.0, -1.0, 1e300)),
        ("scale", lambda v: sl.shiftmax(q, v), ()),
        ("scale", lambda v: sl.lut_softmax(q, v), ()),
        ("scale", lambda v: sl.nnlut_gelu(q, v), ()),
        ("scale", lambda v: ix.log_int_softmax(q, v), ()),
        ("scale", lambda v: ix.pwl_sigmoid(q, v), ()),
        ("scale", lambda v: ix.nnlut_softmax(q, v), ()),
        ("multiplier", lambda v: quantize_multiplier(v), (0.0,)),
        ("act_scale", lambda v: lbg.lowbit_gemv(a64, lw, out_dtype=np.float32, act_scale=v),
         (0.0, -1.0, None)),
        ("act_scale", lambda v: cbg.codebook_gemv(a64, cw, act_scale=v), (0.0, -1.0, None)),
        ("scale", lambda v: lbg.pack_lowbit(u, 2, scale=np.full(40, v)), (0.0, -1.0)),
        ("scale", lambda v: cbg.pack_codebook(u, 2 + 2, np.ones(16), scale=np.full(40, v)), (0.0, -1.0)),
        ("codebook", lambda v: cbg.pack_codebook(u, 4, np.full(16, v), scale=np.ones(40)), (0.0, -1.0)),
    ]  # fmt: skip


SCALE_CALLS = _scale_calls()


@FUZZ
@given(case=st.sampled_from(range(len(SCALE_CALLS))), value=BAD_FLOATS)
def test_bad_scale_arguments(case, value):
    argument, call, valid = SCALE_CALLS[case]
    if (value is None and None in valid) or (isinstance(value, float) and value in valid):
        return
    with pytest.raises(LowbitError) as e:
        call(value)
    assert named(str(e.value), (argument,)), str(e.value)


# ---- packed weights: truncated, retagged, packed for another kernel; codes out of range


@FUZZ
@given(data=st.data())
def test_corrupt_lowbit_weights(data):
    layout = data.draw(st.sampled_from(lbg.LAYOUTS))
    bits = 2 if layout == "trits" else data.draw(st.sampled_from((1, 2, 4)))
    u = RNG.integers(0, 3 if layout == "trits" else 2**bits, (20, 64))
    w = lbg.pack_lowbit(u, bits, layout=layout)
    a = RNG.integers(0, 256, (2, 64)).astype(np.uint8)
    ok = lbg.lowbit_gemv(a, w)
    np.testing.assert_array_equal(ok, lbg.lowbit_gemv_ref(a, u))
    how = data.draw(st.sampled_from(["truncate", "extend", "tag byte", "bits", "layout", "n", "k"]))
    if how == "truncate":
        bad = dataclasses.replace(w, data=w.data[: -data.draw(st.integers(1, w.data.size - 1))].copy())
    elif how == "extend":
        bad = dataclasses.replace(
            w, data=np.concatenate([w.data, np.zeros(data.draw(st.integers(1, 64)), np.uint8)])
        )
    elif how == "tag byte":  # the last 32 bytes: {magic, layout * 16 + bits, N, K}, int64 each
        d = w.data.copy()
        d[-data.draw(st.integers(1, 32))] ^= np.uint8(1 << data.draw(st.integers(0, 7)))
        bad = dataclasses.replace(w, data=d)
    elif how == "bits":
        bad = dataclasses.replace(w, bits=data.draw(st.sampled_from([b for b in (1, 2, 3, 4) if b != bits])))
    elif how == "layout":
        bad = dataclasses.replace(
            w, layout=data.draw(st.sampled_from([x for x in lbg.LAYOUTS if x != layout]))
        )
    else:
        bad = dataclasses.replace(w, **{how: getattr(w, how) + data.draw(st.sampled_from([-1, 1, 32, 64]))})
    with pytest.raises(LowbitError) as e:
        lbg.lowbit_gemv(a, bad)
    assert named(str(e.value), ("w", "bits", "k", "n", "rowsum", "a", "layout")), str(e.value)


@FUZZ
@given(data=st.data())
def test_corrupt_codebook_and_gemm_weights(data):
    u = RNG.integers(0, 16, (8, 64))
    cw = cbg.pack_codebook(u, 4, RNG.standard_normal((8, 16)))
    x = RNG.standard_normal((2, 64)).astype(np.float32)
    d = cw.data.copy()
    where = data.draw(st.sampled_from(["tag", "truncate", "bits"]))
    if where == "tag":
        d[-data.draw(st.integers(1, 8))] ^= np.uint32(1 << data.draw(st.integers(0, 31)))
        bad = dataclasses.replace(cw, data=d)
    elif where == "truncate":
        bad = dataclasses.replace(cw, data=d[: -data.draw(st.integers(1, d.size - 1))].copy())
    else:
        bad = dataclasses.replace(cw, bits=3)
    with pytest.raises(LowbitError, match="^w: expected"):
        cbg.codebook_gemv(x, bad)
    # a gemm weight packed for another N or K
    n, k = data.draw(st.integers(1, 130)), data.draw(st.integers(1, 70))
    other = pack_weight(RNG.integers(-128, 128, (n, k), dtype=np.int8))
    pw = pack_weight(RNG.integers(-128, 128, (64, 36), dtype=np.int8))
    a = RNG.integers(0, 256, (2, 36)).astype(np.uint8)
    if other.data.shape == pw.data.shape and other.colsum.shape == pw.colsum.shape:
        return  # the same layout: a valid weight for this call
    with pytest.raises(LowbitError) as e:
        gemm(a, dataclasses.replace(pw, data=other.data, colsum=other.colsum))
    assert named(str(e.value), ("packed", "colsum")), str(e.value)


@FUZZ
@given(data=st.data())
def test_codes_out_of_range_and_planes_for_another_layout(data):
    bits = data.draw(st.integers(1, 4))
    u = RNG.integers(0, 2**bits, (6, 40))
    r, c = data.draw(st.integers(0, 5)), data.draw(st.integers(0, 39))
    u[r, c] = data.draw(st.sampled_from([-1, 2**bits, 2**bits + 7, 255, -(2**40)]))
    calls = [
        ("u", lambda: lbg.pack_lowbit(u, bits, layout="planes")),
        ("codes", lambda: bs.pack_planes(u, bits)),
        ("codes", lambda: dg.pack_2bit(u)),
        ("u", lambda: cbg.pack_codebook(u, 3, np.ones(8), scale=np.ones(6))),
    ]
    for argument, call in calls:
        if argument == "codes" and call is calls[2][1] and 0 <= u[r, c] <= 3:
            continue  # 2-bit codes: in range
        if call is calls[3][1] and 0 <= u[r, c] < 8:
            continue
        with pytest.raises(LowbitError) as e:
            call()
        assert named(str(e.value), (argument,)), str(e.value)
    # bit-planes of one layout passed as another's
    ca = RNG.integers(0, 4, (3, 100))
    lay, other = data.draw(st.permutations(bs.LAYOUTS))[:2]
    p = bs.pack_planes(ca, 2, lay)
    with pytest.raises(LowbitError) as e:
        bs.bitserial_gemm(dataclasses.replace(p, layout=other), dataclasses.replace(p, layout=other))
    assert named(str(e.value), ("a", "w", "planes")), str(e.value)


def test_fuzz_catches_what_it_should():
    """The harness itself: a wrong result from an accepted view, or a message naming another argument,
    fails the check (so the tests above can fail)."""
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    with pytest.raises(AssertionError, match="differs"):
        check_mutation(
            lambda v: v.sum(axis=0) if v.flags.f_contiguous else v.sum(axis=1), x, "fortran", ("x",)
        )
    with pytest.raises(AssertionError, match="does not name"):
        check_mutation(
            lambda v: (_ for _ in ()).throw(LowbitError("y: expected something")), x, "int64", ("x",)
        )
    with pytest.raises(pytest.fail.Exception, match="accepted"):
        check_mutation(lambda v: 1, x, "object", ("x",))
    assert named("a, w: expected", ("w",)) and named("w.n: expected", ("w",)) and not named("aw: x", ("w",))
