"""Regression tests for what fuzzing the public entry points with bad input found (tests/unit/
test_bad_inputs.py is the fuzzing itself): each case crashed, returned garbage, or raised something other
than a LowbitError naming the argument."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from lowbit import _C
from lowbit.errors import LowbitError
from lowbit.ops import codebook_gemv as cbg
from lowbit.ops import deepgemm as dg
from lowbit.ops import lowbit_gemv as lbg
from lowbit.ops.gemm import gemm, gemm_ref, pack_weight

RNG = np.random.default_rng(0)


def test_codebook_table_stride_overflow_is_refused():
    # (n - 1) * stride wrapped around int64 and passed the bounds check: the kernel then read far outside
    # the tables (SIGSEGV for 2^61, the wrong table for 2^62)
    u = RNG.integers(0, 16, (8, 64))
    w = cbg.pack_codebook(u, 4, RNG.standard_normal((8, 16)).astype(np.float32))
    a = RNG.standard_normal((2, 64)).astype(np.float32)
    for stride in (2**61, 2**62, 2**59 + 16, 16 * 9):
        with pytest.raises(
            LowbitError, match="codebook: expected one table per row.*strides past the tables"
        ):
            cbg.codebook_gemv(a, dataclasses.replace(w, table_row_stride=stride))
    wg = cbg.pack_codebook(u, 4, RNG.standard_normal((8, 4, 16)), group=16)  # a table per (row, group)
    with pytest.raises(LowbitError, match="codebook: expected one table per row.*strides past the tables"):
        cbg.codebook_gemv(a, dataclasses.replace(wg, table_group_stride=2**62))


def test_deepgemm_nonzero_padding_codes_are_refused():
    # the AVX-512 kernel counts the codes past K in a row's last byte as code 0: set ones gave a wrong sum
    t = dg.product_table([-2, -1, 0, 1], [0, 1, 2, 3])
    ca, cw = RNG.integers(0, 4, (3, 10)), RNG.integers(0, 4, (5, 10))
    pa, pw = dg.pack_2bit(ca), dg.pack_2bit(cw)
    np.testing.assert_array_equal(dg.deepgemm_2x2(pa, pw, 10, t), dg.deepgemm_2x2_ref(ca, cw, t))
    bad_a, bad_w = pa.copy(), pw.copy()
    bad_a[1, -1] |= 0x40  # code 11 of a row with K = 10
    bad_w[4, -1] |= 0x80
    for isa in _C.available_isas():
        with pytest.raises(LowbitError, match="a: expected zero padding codes past K"):
            dg.deepgemm_2x2(bad_a, pw, 10, t, isa=isa)
        with pytest.raises(LowbitError, match="w: expected zero padding codes past K"):
            dg.deepgemm_2x2(pa, bad_w, 10, t, isa=isa)
    # K a multiple of 4 has no padding: every bit is a code
    ca, cw = RNG.integers(0, 4, (3, 8)), RNG.integers(0, 4, (5, 8))
    out = dg.deepgemm_2x2(dg.pack_2bit(ca), dg.pack_2bit(cw), 8, t)
    np.testing.assert_array_equal(out, dg.deepgemm_2x2_ref(ca, cw, t))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_gemv_nonfinite_act_scale_is_refused(bad):
    # a NaN / Inf activation scale silently made the whole output row NaN / Inf
    u = RNG.integers(0, 4, (40, 64))
    a = RNG.integers(0, 256, (3, 64)).astype(np.uint8)
    w = lbg.pack_lowbit(u, 2, scale=np.ones(40))
    with pytest.raises(LowbitError, match="act_scale: expected finite"):
        lbg.lowbit_gemv(a, w, out_dtype=np.float32, act_scale=np.array([1.0, bad, 1.0]))
    cw = cbg.pack_codebook(RNG.integers(0, 16, (8, 64)), 4, RNG.standard_normal((8, 16)))
    with pytest.raises(LowbitError, match="act_scale: expected finite"):
        cbg.codebook_gemv(a.astype(np.float32), cw, act_scale=bad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_codebook_nonfinite_float_activations_are_refused(bad):
    # a NaN / Inf activation made its output row NaN without a word
    cw = cbg.pack_codebook(RNG.integers(0, 16, (8, 64)), 4, RNG.standard_normal((8, 16)))
    a = RNG.standard_normal((3, 64)).astype(np.float32)
    a[1, 37] = bad
    with pytest.raises(LowbitError, match="a: expected finite activations"):
        cbg.codebook_gemv(a, cw)
    big = np.full(64, np.finfo(np.float32).max, dtype=np.float32)  # finite, though its float32 sum is not
    assert np.isfinite(cbg.codebook_gemv(big, dataclasses.replace(cw, tables=np.zeros_like(cw.tables)))).all()


def test_nan_activations_have_no_uint8_code():
    # quantize_u8 mapped NaN to code 0 and minmax_f32 skipped it: the dynamic int8 Linear returned numbers
    for isa in _C.available_isas():
        for n, at in ((40, 37), (40, 3), (5, 2), (1, 0)):
            x = np.linspace(-1, 1, n, dtype=np.float32)
            x[at] = np.nan
            mn, mx = _C.minmax_f32(x, isa)
            assert np.isnan(mn) and np.isnan(mx)
            with pytest.raises(LowbitError, match="x: expected no NaN"):
                _C.quantize_u8(x, 0.01, 128, np.empty(n, np.uint8), isa)
        x = np.linspace(-3, 3, 37, dtype=np.float32)
        assert _C.minmax_f32(x, isa) == [-3.0, 3.0]
        out = np.empty(37, np.uint8)
        _C.quantize_u8(x, 0.025, 128, out, isa)
        np.testing.assert_array_equal(out, np.clip(np.rint(x / np.float32(0.025)) + 128, 0, 255))
    from lowbit.nn import quantize_dynamic

    model = quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(8, 4)))
    for bad in (float("nan"), float("inf")):
        x = torch.zeros(2, 8)
        x[1, 3] = bad
        with pytest.raises(LowbitError, match="x: expected finite activations"):
            model(x)


def test_empty_arrays_are_checked_by_shape_not_by_strides():
    # numpy exports empty arrays with arbitrary strides: the C-contiguity check refused them with a wrong
    # message ("not C-contiguous"), and once past it, gemm with M = 0 divided by zero (SIGFPE)
    w8 = RNG.integers(-128, 128, (70, 40), dtype=np.int8)
    for w in (pack_weight(w8), pack_weight(w8, in_exponent=np.arange(40) % 3)):
        for kw in ({}, {"out_dtype": np.float32, "scale": 1.0, "threads": 2}):
            out = gemm(np.zeros((0, 40), np.uint8), w, **kw)
            assert out.shape == (0, 70)
    with pytest.raises(LowbitError, match="w: expected a non-empty"):
        pack_weight(np.zeros((0, 4), np.int8))
    from lowbit.ops.requant import requantize

    one = np.ones(1, np.int32)
    assert requantize(np.zeros((0, 25), np.int32), one, one).shape == (0, 25)
    a = RNG.integers(0, 256, (3, 40)).astype(np.uint8)
    np.testing.assert_array_equal(gemm(a, pack_weight(w8)), gemm_ref(a, w8))


def test_int_bert_plan_layers_bounded():
    with pytest.raises(LowbitError, match="layers: expected at most"):
        _C.int_bert_plan(8, 16, 2, 2**40)  # was std::bad_alloc (MemoryError)


def _python_level_cases():
    """(label, call, argument named in the message): each raised TypeError / ValueError / OverflowError /
    ZeroDivisionError / IndexError / MemoryError / AttributeError before the fix."""
    from lowbit.ops import attention as att
    from lowbit.ops import bitserial as bs
    from lowbit.ops import intops_kernels as ik
    from lowbit.ops.gemm import gemm_batched
    from lowbit.ops.requant import quantize_multiplier, requantize

    w8 = RNG.integers(-128, 128, (70, 40), dtype=np.int8)
    pw = pack_weight(w8)
    a = RNG.integers(0, 256, (5, 40)).astype(np.uint8)
    u = RNG.integers(0, 4, (40, 64))
    lw = lbg.pack_lowbit(u, 2, scale=np.ones(40))
    a64 = RNG.integers(0, 256, (3, 64)).astype(np.uint8)
    cw = cbg.pack_codebook(RNG.integers(0, 16, (8, 64)), 4, RNG.standard_normal((8, 16)))
    qkv = RNG.integers(-5, 5, (2, 4, 24)).astype(np.int8)
    acc = np.arange(-50, 50, dtype=np.int32).reshape(4, 25)
    m0, sh = quantize_multiplier(0.01)
    q16 = RNG.integers(-300, 300, (4, 16)).astype(np.int16)
    pa = bs.pack_planes(RNG.integers(0, 4, (3, 100)), 2)
    t = dg.product_table([-2, -1, 0, 1], [0, 1, 2, 3])
    pa2, pw2 = dg.pack_2bit(RNG.integers(0, 4, (3, 10))), dg.pack_2bit(RNG.integers(0, 4, (5, 10)))
    return [
        ("gemm object a", lambda: gemm(a.astype(object), pw), "a"),
        ("gemm threads 2^40", lambda: gemm(a, pw, threads=2**40), "threads"),
        ("gemm a_zero_point 2^40", lambda: gemm(a, pw, a_zero_point=2**40), "a_zero_point"),
        ("gemm qmin -2^40", lambda: gemm(a, pw, out_dtype=np.int8, m0=m0, shift=sh, qmin=-(2**40)), "qmin"),
        ("gemm scale str", lambda: gemm(a, pw, out_dtype=np.float32, scale="x"), "scale"),
        ("gemm out_dtype str", lambda: gemm(a, pw, out_dtype="nonsense"), "out_dtype"),
        ("gemm out_dtype object", lambda: gemm(a, pw, out_dtype=object), "out_dtype"),
        ("gemm w.n < 0", lambda: gemm(a, dataclasses.replace(pw, n=-3)), "w.n"),
        ("gemm isa int", lambda: gemm(a, pw, isa=5), "isa"),
        ("gemm_batched m0 2^40", lambda: gemm_batched(
            np.ones((2, 3, 8), np.uint8), np.ones((2, 5, 8), np.int8), out_dtype=np.int8, m0=2**40, shift=3),
         "m0"),
        ("gemm_batched bias list", lambda: gemm_batched(
            np.ones((2, 3, 8), np.uint8), np.ones((2, 5, 8), np.int8), bias=[["a"] * 5] * 2), "bias"),
        ("requantize zero_point 2^40", lambda: requantize(acc, m0, sh, zero_point=2**40), "zero_point"),
        ("requantize qmin str", lambda: requantize(acc, m0, sh, qmin="a"), "qmin"),
        ("requantize out_dtype str", lambda: requantize(acc, m0, sh, out_dtype="zz"), "out_dtype"),
        ("quantize_multiplier str", lambda: quantize_multiplier("a"), "multiplier"),
        ("lowbit_gemv object a", lambda: lbg.lowbit_gemv(a64.astype(object), lw), "a"),
        ("lowbit_gemv act_scale shape", lambda: lbg.lowbit_gemv(
            a64, lw, out_dtype=np.float32, act_scale=np.ones(7)), "act_scale"),
        ("lowbit_gemv act_scale str", lambda: lbg.lowbit_gemv(a64, lw, out_dtype=np.float32, act_scale="x"),
         "act_scale"),
        ("lowbit_gemv threads 2^40", lambda: lbg.lowbit_gemv(a64, lw, threads=2**40, out_dtype=np.float32),
         "threads"),
        ("lowbit_gemv w.n < 0", lambda: lbg.lowbit_gemv(a64, dataclasses.replace(lw, n=-1)), "w.n"),
        ("lowbit_gemv w.bits str", lambda: lbg.lowbit_gemv(
            a64, dataclasses.replace(lw, bits="2"), out_dtype=np.float32), "w.bits"),
        ("pack_lowbit group str", lambda: lbg.pack_lowbit(u, 2, group="a"), "group"),
        ("pack_lowbit combine 0", lambda: lbg.pack_lowbit(u, 2, scale=np.ones(40), combine=0), "combine"),
        ("pack_lowbit combine 3", lambda: lbg.pack_lowbit(u, 2, scale=np.ones(40), combine=3), "combine"),
        ("codebook_gemv object a", lambda: cbg.codebook_gemv(a64.astype(object), cw), "a"),
        ("codebook_gemv act_scale str", lambda: cbg.codebook_gemv(a64, cw, act_scale="q"), "act_scale"),
        ("codebook_gemv a_zero_point 2^40", lambda: cbg.codebook_gemv(a64, cw, a_zero_point=2**40),
         "a_zero_point"),
        ("pack_codebook 0-d codebook", lambda: cbg.pack_codebook(u, 4, np.float32(1)), "codebook"),
        ("pack_codebook str codebook", lambda: cbg.pack_codebook(u, 4, "abc"), "codebook"),
        ("pack_codebook group 0", lambda: cbg.pack_codebook(u, 4, np.ones((40, 16)), group=0), "group"),
        ("pack_codebook scale size", lambda: cbg.pack_codebook(u, 4, np.ones(16), scale=np.ones(7)), "scale"),
        ("bitserial k 2^70", lambda: bs.bitserial_gemm(
            dataclasses.replace(pa, k=2**70), dataclasses.replace(pa, k=2**70)), "a.k"),
        ("bitserial n_rows < 0", lambda: bs.bitserial_gemm(*[dataclasses.replace(
            bs.to_layout(pa, "rows-interleaved"), n_rows=-1)] * 2), "n_rows"),
        ("deepgemm k 2^70", lambda: dg.deepgemm_2x2(pa2, pw2, 2**70, t), "k"),
        ("deepgemm object a", lambda: dg.deepgemm_2x2(pa2.astype(object), pw2, 10, t), "a"),
        ("product_table str", lambda: dg.product_table(["a", 0, 0, 0], [0, 1, 2, 3]), "w_levels"),
        ("attention_qk heads < 0", lambda: att.attention_qk(qkv, -2), "heads"),
        ("attention_qk heads 2^40", lambda: att.attention_qk(qkv, 2**40), "heads"),
        ("attention_qk heads 2.5", lambda: att.attention_qk(qkv, 2.5), "heads"),
        ("attention_qk bias object", lambda: att.attention_qk(qkv, 2, bias=np.zeros((2, 4), object)), "bias"),
        ("attention_pv m0 2^40", lambda: att.attention_pv(
            np.zeros((2, 2, 4, 4), np.uint8), qkv, 2, 2**40, 40), "m0"),
        ("residual_add y list of str", lambda: att.residual_add(
            np.zeros((3, 8), np.int8), np.zeros(8, np.int32), [["a"] * 8] * 3), "y"),
        ("ibert_gelu out_dtype str", lambda: ik.ibert_gelu(q16, 0.05, out_dtype="zz"), "out_dtype"),
        ("ibert_layernorm weight str", lambda: ik.ibert_layernorm(q16, 0.05, "abc", np.zeros(16), 0.1),
         "weight"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", _python_level_cases(), ids=lambda c: c[0])
def test_python_wrappers_raise_lowbit_errors(case):
    _, call, argument = case
    with pytest.raises(LowbitError, match=argument):
        call()


def test_layernorm_scale_whose_square_underflows():
    # scale * scale == 0 divided eps by zero (ZeroDivisionError); the kernel and its reference now agree
    from lowbit.ops.ibert import ibert_layernorm_ref
    from lowbit.ops.intops_kernels import ibert_layernorm

    q = RNG.integers(-300, 300, (3, 16)).astype(np.int16)
    for scale in (1e-300, 1e-160):
        for eps in (0.0, 1e-12):
            got, _ = ibert_layernorm(q, scale, np.ones(16), np.zeros(16), 0.1, eps=eps)
            ref, _ = ibert_layernorm_ref(q, scale, np.ones(16), np.zeros(16), 0.1, eps=eps)
            np.testing.assert_array_equal(got, ref)


def _resave(path, arrays, key, meta):
    from safetensors.torch import save_file

    save_file(arrays, str(path), metadata={key: meta if isinstance(meta, str) else json.dumps(meta)})


def _file(path, key):
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        return load_file(str(path)), json.loads(f.metadata()[key])


def test_qtensor_file_with_bad_metadata(tmp_path):
    # AttributeError / ValueError / RuntimeError / KeyError (some only at the first dequantize) before
    import lowbit
    from lowbit.formats.io import load_qtensors, save_qtensors

    path = tmp_path / "q.safetensors"
    save_qtensors(path, {"w": lowbit.quantize(torch.randn(8, 16), "int", 4, lowbit.per_channel(0))})
    arrays, info = _file(path, "lowbit")

    def tensor_meta(**change):
        return {**info, "tensors": {"w": {**info["tensors"]["w"], **change}}}

    cases = [
        ("[1, 2]", "path"),
        ('"x"', "path"),
        ({**info, "tensors": [1]}, "path"),
        (tensor_meta(bits="x"), "w.bits"),
        (tensor_meta(bits=4.5), "w.bits"),
        (tensor_meta(shape=[-8, -16]), "w.shape"),
        (tensor_meta(shape="ab"), "w.shape"),
        (tensor_meta(shape=[16, 8]), "w.param"),  # parameters per row of another shape
        (tensor_meta(shape=[2, 4, 16]), "w.param"),
        (tensor_meta(params=[]), "w.param"),
        (tensor_meta(options=[1]), "w.options"),
    ]
    for meta, argument in cases:
        _resave(path, arrays, "lowbit", meta)
        with pytest.raises(LowbitError, match=argument):
            load_qtensors(path)
    for bad in (torch.ones(3), torch.full((8,), float("nan"))):
        _resave(path, {**arrays, "w.param.scale": bad}, "lowbit", info)
        with pytest.raises(LowbitError, match="w.param"):
            load_qtensors(path)
    _resave(path, arrays, "lowbit", info)
    assert list(load_qtensors(path)) == ["w"]


def test_model_file_with_bad_tensors_or_metadata(tmp_path):
    # int64 codes were cast silently into the int8 buffer (wrapping), NaN scales loaded, a bad BERT config
    # raised TypeError / KeyError / RuntimeError, a non-Module model AttributeError
    import lowbit

    path = tmp_path / "m.safetensors"
    base = torch.nn.Sequential(torch.nn.Linear(8, 4))
    lowbit.save(lowbit.quantize_model(base), path)
    arrays, meta = _file(path, "lowbit_model")
    x = torch.ones(1, 8)
    ok = lowbit.load(path, base)(x)
    cases = [
        (
            {**arrays, "0.weight_codes": arrays["0.weight_codes"].to(torch.int64) * 1000},
            meta,
            "0.weight_codes",
        ),
        ({**arrays, "0.weight_scale": arrays["0.weight_scale"] * float("nan")}, meta, "0.weight_scale"),
        (arrays, "[1]", "path"),
        (arrays, {**meta, "architecture": "x"}, "path"),
    ]
    for arr, m, argument in cases:
        _resave(path, arr, "lowbit_model", m)
        with pytest.raises(LowbitError, match=argument):
            lowbit.load(path, base)
    for config in ({"zz": 1}, "x", {"hidden_size": -5}, None):
        arch = {"kind": "bert"} if config is None else {"kind": "bert", "config": config}
        _resave(path, arrays, "lowbit_model", {**meta, "architecture": arch})
        with pytest.raises(LowbitError, match="path"):
            lowbit.load(path)
    _resave(path, arrays, "lowbit_model", meta)
    with pytest.raises(LowbitError, match="model"):
        lowbit.load(path, 5)
    torch.testing.assert_close(lowbit.load(path, base)(x), ok)


@pytest.mark.parametrize("eps", ["x", None, [1e-12]])
def test_layernorm_eps_of_another_type(eps):
    # math.isfinite(eps) raised TypeError for a str or None
    from lowbit.ops.intops_kernels import ibert_layernorm

    q = RNG.integers(-300, 300, (3, 16)).astype(np.int16)
    with pytest.raises(LowbitError, match="eps"):
        ibert_layernorm(q, 0.05, np.ones(16), np.zeros(16), 0.1, eps=eps)
