"""Low-bit GEMV kernels (fields = unpack + VNNI, planes = T-MAC-style LUT), every ISA variant this CPU runs,
against the int64 oracle: bit-exact for int32 output, float64-exact up to float32 rounding for scales."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lowbit
from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.lowbit_gemv import (
    LowbitWeight,
    from_qtensor,
    lowbit_gemv,
    lowbit_gemv_ref,
    pack_bcq,
    pack_lowbit,
)

ISAS = available_isas()
WIDTHS = [("fields", 1), ("fields", 2), ("fields", 4)] + [("planes", b) for b in (1, 2, 3, 4)]


def _acts(rng, m, k, signed, extreme):
    if signed:
        a = np.full((m, k), -128, np.int8) if extreme else rng.integers(-128, 128, (m, k)).astype(np.int8)
        return a, (127 if extreme else int(rng.integers(-128, 128)))
    a = np.full((m, k), 255, np.uint8) if extreme else rng.integers(0, 256, (m, k)).astype(np.uint8)
    return a, (0 if extreme else int(rng.integers(0, 256)))


@settings(max_examples=150, deadline=None)
@given(
    m=st.integers(1, 7), n=st.one_of(st.integers(1, 300), st.sampled_from([32, 64, 127, 128, 129])),
    k=st.one_of(st.integers(1, 700), st.sampled_from([31, 32, 33, 255, 256, 257])),
    width=st.sampled_from(WIDTHS), signed=st.booleans(), isa=st.sampled_from(ISAS),
    threads=st.integers(1, 3), extreme=st.booleans(), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_int32_bit_exact(m, n, k, width, signed, isa, threads, extreme, seed):
    layout, bits = width
    rng = np.random.default_rng(seed)
    u = np.full((n, k), (1 << bits) - 1) if extreme else rng.integers(0, 1 << bits, (n, k))
    off = -(1 << (bits - 1))
    a, za = _acts(rng, m, k, signed, extreme)
    w = pack_lowbit(u, bits, layout=layout, off=off)
    got = lowbit_gemv(a, w, a_zero_point=za, isa=isa, threads=threads)
    np.testing.assert_array_equal(got, lowbit_gemv_ref(a, u, off=off, a_zero_point=za))


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 4), n=st.integers(1, 200), groups=st.integers(1, 6), gmul=st.integers(1, 3),
    width=st.sampled_from(WIDTHS), isa=st.sampled_from(ISAS), threads=st.integers(1, 2),
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_grouped_float(m, n, groups, gmul, width, isa, threads, seed):
    layout, bits = width
    rng = np.random.default_rng(seed)
    group = 32 * gmul
    k = group * groups - int(rng.integers(0, group))  # the last group may be short
    u = rng.integers(0, 1 << bits, (n, k))
    scale = rng.uniform(0.01, 1.0, (n, -(-k // group))).astype(np.float32)
    act = rng.uniform(0.01, 0.1, m).astype(np.float32)
    a, za = _acts(rng, m, k, False, False)
    w = pack_lowbit(u, bits, layout=layout, off=-1, scale=scale, group=group)
    got = lowbit_gemv(a, w, a_zero_point=za, out_dtype=np.float32, act_scale=act, isa=isa, threads=threads)
    ref = lowbit_gemv_ref(a, u, off=-1, a_zero_point=za, scale=scale, group=group, act_scale=act)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("layout", ["fields", "planes"])
@pytest.mark.parametrize(
    "fmt,bits,gran",
    [
        ("int", 4, lowbit.per_channel(0)),
        ("int", 2, lowbit.per_group(64)),
        ("int", 3, lowbit.per_channel(0)),
        ("ternary", 2, lowbit.per_channel(0)),
        ("binary", 1, lowbit.per_group(32)),
        ("int", 4, lowbit.per_tensor()),
    ],
)
def test_from_qtensor(fmt, bits, gran, layout, isa):
    """Weights straight from lowbit.quantize: y = s_a (a - za) @ dequant(W)^T up to float32 rounding."""
    torch.manual_seed(0)
    w = torch.randn(70, 192)
    q = lowbit.quantize(w, fmt, bits, gran)
    p = from_qtensor(q, layout=layout)
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (3, 192)).astype(np.uint8)
    y = lowbit_gemv(a, p, a_zero_point=128, out_dtype=np.float32, act_scale=0.05, isa=isa)
    want = 0.05 * (a.astype(np.float64) - 128) @ q.dequantize().double().numpy().T
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    if fmt == "ternary":
        assert p.off == -1 and int(p.rowsum.max()) <= 2 * 192


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("layout", ["fields", "planes"])
@pytest.mark.parametrize(
    "bits,gran", [(3, lowbit.per_channel(0)), (2, lowbit.per_group(64)), (1, lowbit.per_channel(0))]
)
def test_bcq(bits, gran, layout, isa):
    """nuQmm BCQ: sum_j alpha_j (a - za) . b_j for +-1 planes b_j, against the float64 dequantized weight."""
    torch.manual_seed(2)
    w = torch.randn(67, 256)
    q = lowbit.quantize(w, "bcq", bits, gran)
    p = pack_bcq(q, layout=layout)
    assert p.combine == bits and p.n_out == 67
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (2, 256)).astype(np.int8)
    y = lowbit_gemv(a, p, a_zero_point=-3, out_dtype=np.float32, act_scale=np.array([0.1, 0.2], np.float32),
                    isa=isa)  # fmt: skip
    deq = q.dequantize().double().numpy()
    want = np.array([[0.1], [0.2]]) * ((a.astype(np.float64) + 3) @ deq.T)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_layouts_by_hand():
    u = np.zeros((2, 40), np.int64)
    u[1, 5] = 3
    u[0, 33] = 1
    f = pack_lowbit(u, 2, layout="fields")
    assert f.data.shape == (64 // 4 * 64 + 32,)  # K padded to 64: 16 k4 steps of 64 bytes, the tag
    # row 1 = field 0, lane 1; k = 5 -> k4 step 1, byte 1
    assert f.data[1 * 64 + 1 * 4 + 1] == 3 and f.data[8 * 64 + 1] == 1 and f.data[:-32].sum() == 3 + 1
    p = pack_lowbit(u, 2, layout="planes")
    assert p.data.shape == (2 * 2 * 256 + 32,)  # kpad 64 -> 2 steps of 32, 2 planes; the tag
    # row 1: c 0, i 0, h 1; k 5: q 0, s 0, t 5; both planes
    assert p.data[0 * 256 + 4] == 1 << 5 and p.data[1 * 256 + 4] == 1 << 5 and p.data[512] == 1 << 1
    assert p.rowsum.tolist() == [[1], [3]]


def test_bad_inputs():
    u = np.ones((5, 40), np.int64)
    w = pack_lowbit(u, 2, layout="fields")
    a = np.zeros((1, 40), np.uint8)
    with pytest.raises(LowbitError, match="u: expected unsigned 2-bit"):
        pack_lowbit(u * 4, 2)
    with pytest.raises(LowbitError, match="bits"):
        pack_lowbit(u, 3, layout="fields")
    with pytest.raises(LowbitError, match="layout"):
        pack_lowbit(u, 2, layout="rows")
    with pytest.raises(LowbitError, match="w: expected a weight packed for layout 'planes'"):
        lowbit_gemv(a, w, layout="planes")
    with pytest.raises(LowbitError, match="a: expected K = 40"):
        lowbit_gemv(np.zeros((1, 41), np.uint8), w)
    with pytest.raises(LowbitError, match="a: expected dtype"):
        lowbit_gemv(np.zeros((1, 40), np.int32), w)
    with pytest.raises(LowbitError, match="a_zero_point"):
        lowbit_gemv(a, w, a_zero_point=300)
    with pytest.raises(LowbitError, match="w: expected a weight packed with scales"):
        lowbit_gemv(a, w, out_dtype=np.float32)
    # a weight packed for another kernel or shape: refused by its size or its tag before any read
    other = pack_lowbit(u, 4, layout="fields")  # same bytes as the 2-bit one here: the tag tells them apart
    with pytest.raises(LowbitError, match="w: expected data packed for 2-bit layout 'fields'"):
        lowbit_gemv(a, LowbitWeight(other.data, w.rowsum, 5, 40, 2, "fields", group=40))
    planes = pack_lowbit(u, 2, layout="planes")
    with pytest.raises(LowbitError, match="packed for another kernel"):
        lowbit_gemv(a, LowbitWeight(planes.data, w.rowsum, 5, 40, 2, "fields", group=40))
    with pytest.raises(LowbitError, match="w: expected 1056 bytes"):
        lowbit_gemv(a, LowbitWeight(w.data[:-1], w.rowsum, 5, 40, 2, "fields", group=40))
    with pytest.raises(LowbitError, match="rowsum"):
        lowbit_gemv(a, LowbitWeight(w.data, w.rowsum[:3], 5, 40, 2, "fields", group=40))
    with pytest.raises(LowbitError, match="group"):
        pack_lowbit(np.ones((5, 100), np.int64), 2, group=48)
    with pytest.raises(LowbitError, match="scale"):
        pack_lowbit(u, 2, scale=np.ones((5, 2), np.float32))
    with pytest.raises(LowbitError, match="q: expected"):
        from_qtensor(lowbit.quantize(torch.randn(8, 64), "nf", 4, lowbit.per_channel(0)))
    with pytest.raises(LowbitError, match="u: expected"):
        pack_lowbit(np.ones((2, 40000), np.int64), 1)


# The AVX-512 epilogue (lb_finish_avx512: wrapping int32, then one float64 product per row) runs where
# rowsum and scale hold one K segment per row, and lb_combine_avx512 (the float output, combine rows summed
# per output) wherever scales are given; both must equal the scalar loops bit for bit: per-row scales, BCQ's
# combined rows, binary (mul 2) and int weights, row and output counts that leave partial vectors, several
# activation rows and threads, every layout.
# (layout, bits, mul, off)
EPILOGUE_FORMATS = [("fields", 1, 2, -1), ("fields", 2, 1, -2), ("fields", 4, 2, -16), ("fields", 4, 1, 0),
                    ("planes", 3, 1, -4), ("planes", 1, 2, -1), ("trits", 2, 1, -1)]  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(
    m=st.integers(1, 5), units=st.integers(1, 150), k=st.integers(1, 600),
    fmt=st.sampled_from(EPILOGUE_FORMATS), combine=st.sampled_from([1, 2, 3, 5]), threads=st.integers(1, 3),
    signed=st.booleans(), float_out=st.booleans(), extreme=st.booleans(), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
@pytest.mark.skipif("avx512" not in ISAS, reason="AVX-512 only")
def test_vector_epilogue_matches_scalar(m, units, k, fmt, combine, threads, signed, float_out, extreme, seed):
    layout, bits, mul, off = fmt
    combine = combine if float_out else 1
    n = units * combine
    rng = np.random.default_rng(seed)
    top = 3 if layout == "trits" else 1 << bits
    u = np.full((n, k), top - 1) if extreme else rng.integers(0, top, (n, k))
    a, za = _acts(rng, m, k, signed, extreme)
    # scales over 30 octaves: terms of very different size in the combined rows' float64 sums
    scale = np.exp2(rng.uniform(-30, 0, n)).astype(np.float32) if float_out else None
    w = pack_lowbit(u, bits, layout=layout, mul=mul, off=off, scale=scale, combine=combine)
    kw = dict(a_zero_point=za, out_dtype=np.float32 if float_out else np.int32, threads=threads)
    if float_out:
        kw["act_scale"] = rng.uniform(0.01, 0.1, m).astype(np.float32)
    got = lowbit_gemv(a, w, isa="avx512", **kw)
    np.testing.assert_array_equal(got, lowbit_gemv(a, w, isa="scalar", **kw))
    if not float_out:
        np.testing.assert_array_equal(got, lowbit_gemv_ref(a, u, mul=mul, off=off, a_zero_point=za))


@pytest.mark.skipif("avx512" not in ISAS, reason="AVX-512 only")
@pytest.mark.parametrize("mul,off", [(2, 0), (1, -16), (2, -1)])
def test_vector_epilogue_extremes(mul, off):
    """|acc| up to 255 * 30 * 32768 (mul 2, u 15, K = 32768): the wrapping int32 epilogue stays exact."""
    k = 32768
    u = np.full((37, k), 15)
    u[::2] = 0
    for a, za in ((np.full((1, k), 255, np.uint8), 0), (np.zeros((1, k), np.uint8), 255)):
        w = pack_lowbit(u, 4, mul=mul, off=off)
        ref = lowbit_gemv_ref(a, u, mul=mul, off=off, a_zero_point=za)
        np.testing.assert_array_equal(lowbit_gemv(a, w, a_zero_point=za, isa="avx512"), ref)


@pytest.mark.parametrize("layout,bits", [("fields", 4), ("planes", 3), ("trits", 2)])
def test_packed_bytes_aligned(layout, bits):
    """pack_lowbit and LowbitWeight.copy leave the packed bytes on a page boundary (see _aligned_bytes); the
    copy computes the same."""
    rng = np.random.default_rng(3)
    u = rng.integers(0, 3 if layout == "trits" else 1 << bits, (100, 300))
    w = pack_lowbit(u, bits, layout=layout)
    c = w.copy()
    assert w.data.ctypes.data % 4096 == 0 and c.data.ctypes.data % 4096 == 0 and c.data is not w.data
    np.testing.assert_array_equal(c.data, w.data)
    a = rng.integers(0, 256, (2, 300)).astype(np.uint8)
    np.testing.assert_array_equal(lowbit_gemv(a, c, a_zero_point=9), lowbit_gemv(a, w, a_zero_point=9))


# M = 1 on weights of >= 1 MiB per thread (fields layout, AVX-512) runs two read streams over the two halves
# of each thread's row blocks (csrc/lowbit_gemv.h, kLbStreams): odd block counts leave one block to the
# one-stream kernel, a short last block, several threads, K groups, and weights just under the threshold.
# (bits, n, k, threads): block bytes 16 kpad, rows per block 16 * 8 / bits
STREAM_CASES = [
    (4, 32 * 34 + 5, 2048, 1),  # 35 blocks of 32 KiB: 17 per stream + a short one alone
    (4, 32 * 32, 2048, 1),  # exactly 1 MiB, even
    (4, 32 * 31 + 1, 2048, 1),  # just under 1 MiB: one stream
    (2, 64 * 37 + 1, 4096, 2),  # 38 blocks of 64 KiB, 19 per thread: 9 per stream + 1 alone
    (1, 128 * 50 + 3, 4096, 3),  # 51 blocks over 3 threads (3.2 MiB)
    (2, 64 * 32, 4096, 3),  # 2 MiB over 3 threads: under 1 MiB each, one stream
    (4, 2 * 32 + 1, 32768, 1),  # K = 32768: 3 blocks of 512 KiB, one stream of length 1 each + one alone
    (1, 1, 32768, 1),  # one row, one block
]


@pytest.mark.skipif("avx512" not in ISAS, reason="AVX-512 only")
@pytest.mark.parametrize("bits,n,k,threads", STREAM_CASES)
@pytest.mark.parametrize("extreme", [False, True])
def test_streams_int32_bit_exact(bits, n, k, threads, extreme):
    rng = np.random.default_rng(n * k + bits)
    u = np.full((n, k), (1 << bits) - 1) if extreme else rng.integers(0, 1 << bits, (n, k))
    off = -(1 << (bits - 1))
    a, za = _acts(rng, 1, k, True, extreme)
    w = pack_lowbit(u, bits, layout="fields", off=off)
    got = lowbit_gemv(a, w, a_zero_point=za, isa="avx512", threads=threads)
    np.testing.assert_array_equal(got, lowbit_gemv_ref(a, u, off=off, a_zero_point=za))


@pytest.mark.skipif("avx512" not in ISAS, reason="AVX-512 only")
@pytest.mark.parametrize("bits,threads", [(4, 1), (2, 2), (1, 3)])
def test_streams_grouped_float_match_scalar(bits, threads):
    """Grouped scales through the streams: the int32 raw sums are exact, so the float output equals the
    scalar kernel's bit for bit."""
    rng = np.random.default_rng(bits)
    n, k, group = 16 * (8 // bits) * 61 + 7, 4096 - 96, 1024  # 62 blocks of 64 KiB, the last group short
    u = rng.integers(0, 1 << bits, (n, k))
    scale = rng.uniform(0.01, 1.0, (n, -(-k // group))).astype(np.float32)
    a = rng.integers(0, 256, (1, k)).astype(np.uint8)
    w = pack_lowbit(u, bits, layout="fields", off=-1, scale=scale, group=group)
    kw = dict(a_zero_point=7, out_dtype=np.float32, act_scale=0.5, threads=threads)
    np.testing.assert_array_equal(
        lowbit_gemv(a, w, isa="avx512", **kw), lowbit_gemv(a, w, isa="scalar", **kw)
    )


@pytest.mark.skipif("avx512" not in ISAS, reason="AVX-512 only")
def test_streams_bcq_match_scalar():
    """BCQ (3 packed rows per output row; threads split on whole output rows) through the streams."""
    torch.manual_seed(5)
    q = lowbit.quantize(torch.randn(1400, 4096), "bcq", 3, lowbit.per_group(1024))
    p = pack_bcq(q, layout="fields")  # 4200 rows of 1 bit: 33 blocks of 64 KiB
    a = np.random.default_rng(5).integers(0, 256, (1, 4096)).astype(np.uint8)
    for threads in (1, 2):
        kw = dict(a_zero_point=7, out_dtype=np.float32, act_scale=0.5, threads=threads)
        np.testing.assert_array_equal(
            lowbit_gemv(a, p, isa="avx512", **kw), lowbit_gemv(a, p, isa="scalar", **kw)
        )
