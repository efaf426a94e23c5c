"""The C++ entry points validate on their own: lowbit._C's functions fuzzed directly, with the arguments the
public wrappers pass them (recorded from the valid calls of tests/unit/test_bad_inputs.py), one mutated.

An input array mutated (dtype, ndim, 0-d, empty, transposed, strided, misaligned, Fortran, read-only, bool)
must give a LowbitError naming it (or another argument it must agree with, see ALSO) or exactly the outputs
of its C-contiguous copy. An int argument set to an arbitrary value (negative, zero, huge) must give a
LowbitError or run; nanobind refuses an int beyond the parameter's C type with a TypeError before any C++
runs. What no check here can see is a crash: it kills the test run.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from test_bad_inputs import ARRAY_MUTATIONS, BUILT, FUZZ, mutate, named

from lowbit import _C
from lowbit.errors import LowbitError


def _params(fn) -> list[tuple[str, str]]:
    """(name, type) of a nanobind function's parameters, from its signature."""
    sig = fn.__nb_signature__[0][0]
    inner = sig[sig.index("(") + 1 : sig.rindex(") ->")]
    params, depth, cur = [], 0, ""
    for ch in inner + ",":
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            name, typ = cur.strip().split(":", 1)
            params.append((name.strip(), typ.split(" = ")[0].strip()))
            cur = ""
        else:
            cur += ch
    return params


def _record() -> list[tuple[str, tuple, dict]]:
    """Every _C call the valid cases of test_bad_inputs make, with copies of its arguments."""
    calls: list[tuple[str, tuple, dict]] = []
    names = [n for n in dir(_C) if not n.startswith("_") and hasattr(getattr(_C, n), "__nb_signature__")]
    originals = {n: getattr(_C, n) for n in names}

    def spy(name):
        def run(*args, **kwargs):
            copy = lambda v: v.copy() if isinstance(v, np.ndarray) else v  # noqa: E731
            calls.append((name, tuple(copy(a) for a in args), {k: copy(v) for k, v in kwargs.items()}))
            return originals[name](*args, **kwargs)

        return run

    try:
        for n in names:
            setattr(_C, n, spy(n))
        for arrays, call, _ in BUILT.values():
            call(arrays)
    finally:
        for n, f in originals.items():
            setattr(_C, n, f)
    unique = {}
    for name, args, kwargs in calls:
        unique.setdefault((name, len(args), tuple(sorted(kwargs))), (name, args, kwargs))
    return sorted(unique.values(), key=lambda c: c[0])


CALLS = _record()
# arguments whose disagreement with the mutated one may be what the message names
ALSO = {
    "a": ("w", "packed", "act_scale", "out", "b", "perm"),
    "acc": ("m0", "shift", "out"),
    "q": ("out", "m0", "shift", "beta", "alpha", "weight", "rq_m0"),
    "rq_m0": ("rq_shift",),
    "rq_shift": ("rq_m0",),
    "qkv": ("heads", "p", "bias", "out"),
    "x": ("y", "out", "shift"),
    "y": ("x", "out"),
    "m0": ("shift",),
    "shift": ("m0",),
    "rowsum": ("w",),
    "w": ("a",),
    "b": ("a", "out"),
    "p": ("qkv",),
}


def _run(fn, params, args, kwargs):
    """fn on fresh zeroed outputs; returns the outputs (and the return value)."""
    args = list(args)
    outs = []
    for i, (_, typ) in enumerate(params[: len(args)]):
        if typ == "ndarray[]":
            args[i] = np.zeros_like(args[i])
            outs.append(args[i])
    ret = fn(*args, **kwargs)
    return outs, ret


def _same(x, y) -> bool:
    (ox, rx), (oy, ry) = x, y
    return rx == ry and all(np.array_equal(a, b, equal_nan=True) for a, b in zip(ox, oy, strict=True))


def test_recorded_every_kernel_family():
    assert {c[0] for c in CALLS} >= {
        "gemm", "requantize", "lowbit_gemv", "codebook_gemv", "bitserial_gemm", "deepgemm_2x2",
        "attention_qk",
        "attention_pv", "residual_add", "gemm_batched", "ibert_softmax", "ibert_gelu", "ibert_layernorm",
        "shiftmax", "shiftgelu", "lut_softmax", "pwl_gelu", "log_int_softmax", "pwl_act", "nnlut_softmax",
        "ptf_layernorm", "quantize_u8", "minmax_f32", "attention_ibert", "attention_fq", "attention_shiftmax",
        "attention_lut", "ibert_gelu_requant",
    }  # fmt: skip


def _draw_call(data):
    """One of the wrappers' recorded _C calls: its name, arguments, function and parameter list."""
    name, args, kwargs = CALLS[data.draw(st.sampled_from(range(len(CALLS))), label="call")]
    data.draw(st.just(name), label="function")
    fn = getattr(_C, name)
    return name, args, kwargs, fn, _params(fn)


@FUZZ
@given(data=st.data())
def test_c_entry_points_with_a_mutated_array(data):
    name, args, kwargs, fn, params = _draw_call(data)
    inputs = [i for i, (_, t) in enumerate(params[: len(args)]) if t == "ndarray[writable=False]"]
    i = data.draw(st.sampled_from(inputs), label="argument")
    kind = data.draw(
        st.sampled_from([m for m in ARRAY_MUTATIONS if m not in ("object", "list")]), label="kind"
    )
    arg = params[i][0]
    bad = mutate(args[i], kind)
    try:
        got = _run(fn, params, args[:i] + (bad,) + args[i + 1 :], kwargs)
    except LowbitError as e:
        # out was allocated for the valid call: a shape it no longer fits may be named on its side
        assert named(str(e), (arg, "out", *ALSO.get(arg, ()))), f"{name} {arg} {kind}: {e}"
        return
    want = _run(fn, params, args[:i] + (np.array(bad, order="C"),) + args[i + 1 :], kwargs)
    assert _same(got, want), f"{name}: {arg} {kind} accepted with other outputs than its contiguous copy"


BIG = [-1, 0, 1, 3, 2**31 - 1, -(2**31), 2**40, -(2**40), 2**62, -(2**63)]


@FUZZ
@given(data=st.data())
def test_c_entry_points_with_an_arbitrary_int(data):
    name, args, kwargs, fn, params = _draw_call(data)
    ints = [i for i, (_, t) in enumerate(params[: len(args)]) if t == "int"]
    if not ints:
        return
    i = data.draw(st.sampled_from(ints), label="argument")
    value = data.draw(st.sampled_from(BIG), label="value")
    try:
        _run(fn, params, args[:i] + (value,) + args[i + 1 :], kwargs)
    except LowbitError:
        pass
    except TypeError as e:  # nanobind: the value does not fit the parameter's C type; no C++ ran
        assert abs(value) >= 2**31 and re.search("incompatible function arguments", str(e)), str(e)
