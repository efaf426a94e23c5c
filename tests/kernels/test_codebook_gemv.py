"""Codebook GEMV (3/4-bit indices into float tables: SqueezeLLM, NF4) on every ISA variant against the
float64 oracle: |y - ref| <= 1e-6 * sum_k |x w_hat| (float32 products, float64 chunk sums)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lowbit
from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.codebook_gemv import (
    CodebookWeight,
    codebook_gemv,
    codebook_gemv_ref,
    decode,
    from_qtensor,
    pack_codebook,
    word_index,
)

ISAS = available_isas()


def _close(got, x, w_hat, ref):
    bound = 1e-6 * (np.abs(np.atleast_2d(x).astype(np.float64)) @ np.abs(w_hat.astype(np.float64)).T)
    assert np.all(np.abs(np.atleast_2d(got).astype(np.float64) - np.atleast_2d(ref)) <= bound + 1e-30)


@settings(max_examples=120, deadline=None)
@given(
    m=st.integers(1, 4), n=st.integers(1, 90), kind=st.sampled_from(["shared", "row", "group"]),
    bits=st.sampled_from([3, 4]), gmul=st.integers(1, 12), groups=st.integers(1, 5),
    acts=st.sampled_from(["float32", "uint8", "int8"]), isa=st.sampled_from(ISAS), threads=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_against_float64(m, n, kind, bits, gmul, groups, acts, isa, threads, seed):
    rng = np.random.default_rng(seed)
    group = 16 * gmul
    k = group * groups if kind != "row" else int(rng.integers(1, 700))
    u = rng.integers(0, 1 << bits, (n, k))
    levels = np.sort(rng.normal(size=(n, k // group if kind == "group" else 1, 1 << bits)), axis=-1)
    if kind == "shared":
        w = pack_codebook(u, bits, levels[0, 0], group=group, scale=rng.uniform(0.1, 2, (n, groups)))
    elif kind == "row":
        w = pack_codebook(u, bits, levels[:, 0])
    else:
        w = pack_codebook(u, bits, levels, group=group)
    za = 0
    if acts == "float32":
        a = rng.normal(size=(m, k)).astype(np.float32)
    elif acts == "uint8":
        a, za = rng.integers(0, 256, (m, k)).astype(np.uint8), int(rng.integers(0, 256))
    else:
        a, za = rng.integers(-128, 128, (m, k)).astype(np.int8), int(rng.integers(-128, 128))
    w_hat = decode(w, u)
    got = codebook_gemv(a, w, a_zero_point=za, isa=isa, threads=threads)
    ref = codebook_gemv_ref(a, w_hat, a_zero_point=za)
    _close(got, np.asarray(a, np.float64) - za, w_hat, ref)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("bits", [3, 4])
@pytest.mark.parametrize("k", [8192, 8200])
def test_long_rows(bits, k, isa):
    """Rows of 4 KiB and more (4-row tiles, a 1-row remainder, the next-tile prefetch) at bench-size K."""
    rng = np.random.default_rng(bits * k)
    n = 9
    u = rng.integers(0, 1 << bits, (n, k))
    w = pack_codebook(u, bits, np.sort(rng.normal(size=(n, 1 << bits)), axis=1))
    a = rng.integers(0, 256, (2, k)).astype(np.uint8)
    w_hat = decode(w, u)
    got = codebook_gemv(a, w, a_zero_point=128, isa=isa, threads=1)
    _close(got, a.astype(np.float64) - 128, w_hat, codebook_gemv_ref(a, w_hat, a_zero_point=128))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    "fmt,bits,gran",
    [
        ("codebook", 3, lowbit.per_channel(0)),
        ("codebook", 4, lowbit.per_channel(0)),
        ("codebook", 3, lowbit.per_group(64)),
        ("nf", 4, lowbit.per_group(64)),
        ("nf", 3, lowbit.per_channel(0)),
    ],
)
def test_from_qtensor(fmt, bits, gran, isa):
    """What lowbit.quantize produces: the kernel's w_hat is the format's own decode, bit for bit."""
    torch.manual_seed(0)
    q = lowbit.quantize(torch.randn(45, 320), fmt, bits, gran)
    w = from_qtensor(q)
    w_hat = q.dequantize().numpy()
    np.testing.assert_array_equal(decode(w, q.codes.numpy()), w_hat)
    x = np.random.default_rng(1).normal(size=(2, 320)).astype(np.float32)
    got = codebook_gemv(x, w, act_scale=0.5, isa=isa)
    _close(got, 0.5 * x, w_hat, codebook_gemv_ref(x, w_hat, act_scale=0.5))


def test_bad_inputs():
    u = np.zeros((4, 50), np.int64)
    w = pack_codebook(u, 4, np.zeros((4, 16)))
    with pytest.raises(LowbitError, match="u: expected 3-bit"):
        pack_codebook(u + 8, 3, np.zeros((4, 8)))
    with pytest.raises(LowbitError, match="codebook: expected 8 entries"):
        pack_codebook(u, 3, np.zeros((4, 16)))
    with pytest.raises(LowbitError, match="scale"):
        pack_codebook(u, 4, np.zeros(16))
    with pytest.raises(LowbitError, match="bits"):
        pack_codebook(u, 2, np.zeros((4, 4)))
    with pytest.raises(LowbitError, match="a: expected activations"):
        codebook_gemv(np.zeros((1, 49), np.float32), w)
    with pytest.raises(LowbitError, match="a: expected dtype"):
        codebook_gemv(np.zeros((1, 50), np.float64), w)
    w3 = pack_codebook(u, 3, np.zeros((4, 8)))
    lie = CodebookWeight(w3.data, w.tables, 16, 0, None, 4, 50, 4, 50)
    with pytest.raises(LowbitError, match="w: expected"):
        codebook_gemv(np.zeros((1, 50), np.float32), lie)
    few = CodebookWeight(w.data, w.tables[:2], 16, 0, None, 4, 50, 4, 50)
    with pytest.raises(LowbitError, match="codebook: expected one table per row"):
        codebook_gemv(np.zeros((1, 50), np.float32), few)
    with pytest.raises(LowbitError, match="q: expected"):
        from_qtensor(lowbit.quantize(torch.randn(8, 64), "int", 4, lowbit.per_channel(0)))


@pytest.mark.parametrize("n", [1, 3, 4, 9, 30])
@pytest.mark.parametrize("chunks", [1, 5, 12, 13, 30])
def test_layout_is_a_permutation(n, chunks):
    """Every (row, chunk) of the K-blocked, 4-row-tiled layout owns its own 16 words, all of them used."""
    r, c = np.meshgrid(np.arange(n), np.arange(chunks), indexing="ij")
    idx = word_index(n, chunks, r, c).reshape(-1)
    assert np.array_equal(np.sort(idx), 16 * np.arange(n * chunks))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("bits", [3, 4])
def test_accuracy_same_sign_wide_range(bits, isa):
    """Positive products of widely spread magnitudes (no cancellation to hide rounding, the partial sums
    as large as they get) at K = 16400: the float32 chains and trees stay within 1e-6 of sum |x w_hat|."""
    rng = np.random.default_rng(bits)
    n, k = 8, 16400
    u = rng.integers(0, 1 << bits, (n, k))
    levels = np.sort(np.exp(rng.normal(scale=2.0, size=(n, 1 << bits))), axis=1)
    w = pack_codebook(u, bits, levels)
    x = np.exp(rng.normal(scale=2.0, size=(1, k))).astype(np.float32)
    w_hat = decode(w, u)
    got = codebook_gemv(x, w, isa=isa, threads=1)
    _close(got, x, w_hat, codebook_gemv_ref(x, w_hat))


def test_asm_header_is_generated():
    """csrc/codebook_gemv_avx512_asm.h is what tools/gen_codebook_asm.py writes (edit the generator)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "gen_codebook_asm.py"
    spec = importlib.util.spec_from_file_location("gen_codebook_asm", path)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.HEADER.read_text() == gen.render()
