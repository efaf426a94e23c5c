"""Ternary GEMV at 1.6 bits per weight (layout "trits": five trits per byte, csrc/lowbit_gemv_trits.h),
every ISA variant this CPU runs, against the int64 oracle: bit-exact int32, float32-rounding for scales."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lowbit
from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.lowbit_gemv import LowbitWeight, from_qtensor, lowbit_gemv, lowbit_gemv_ref, pack_lowbit

ISAS = available_isas()


def _decode(byte: int) -> list[int]:
    """The five codes of one packed byte, from the layout's definition (independent of _pack_trits)."""
    idx, neg = byte & 127, byte >> 7
    lo, hi = idx % 14, idx // 14
    if neg:
        lo = 26 - lo
    return [lo % 3, lo // 3 % 3, lo // 9, hi % 3, hi // 3]


def test_every_tuple_round_trips():
    """All 243 code tuples pack to distinct bytes with a 7-bit index < 126, and decode back."""
    tuples = np.array(np.meshgrid(*[range(3)] * 5, indexing="ij")).reshape(5, -1).T  # [243, 5]
    u = np.zeros((80, 243 * 4), np.int64)
    for f in range(5):
        u[16 * f, 0::4] = tuples[:, f]  # row 16 f + 0, k = 4 i: k4 step i, lane 0, byte 0
    data = pack_lowbit(u, 2, layout="trits").data[:-32]
    bytes_ = data.reshape(-1, 64)[:243, 0]
    assert len(set(bytes_.tolist())) == 243 and int((bytes_ & 127).max()) < 126
    assert [_decode(int(b)) for b in bytes_] == tuples.tolist()


@settings(max_examples=150, deadline=None)
@given(
    m=st.integers(1, 7), n=st.one_of(st.integers(1, 300), st.sampled_from([79, 80, 81, 160, 161])),
    k=st.one_of(st.integers(1, 700), st.sampled_from([31, 32, 33, 255, 256, 257])),
    signed=st.booleans(), isa=st.sampled_from(ISAS), threads=st.integers(1, 3),
    extreme=st.sampled_from([None, 0, 2]), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_int32_bit_exact(m, n, k, signed, isa, threads, extreme, seed):
    rng = np.random.default_rng(seed)
    u = rng.integers(0, 3, (n, k)) if extreme is None else np.full((n, k), extreme)
    lo, hi, dt = (-128, 128, np.int8) if signed else (0, 256, np.uint8)
    if extreme is None:
        a, za = rng.integers(lo, hi, (m, k)).astype(dt), int(rng.integers(lo, hi))
    else:  # the largest |a - za| of the dtype
        a, za = np.full((m, k), lo if signed else hi - 1, dt), hi - 1 if signed else 0
    w = pack_lowbit(u, 2, layout="trits", off=-1)
    got = lowbit_gemv(a, w, a_zero_point=za, isa=isa, threads=threads)
    np.testing.assert_array_equal(got, lowbit_gemv_ref(a, u, off=-1, a_zero_point=za))


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 4), n=st.integers(1, 200), groups=st.integers(1, 5), gmul=st.integers(1, 3),
    isa=st.sampled_from(ISAS), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_grouped_float(m, n, groups, gmul, isa, seed):
    rng = np.random.default_rng(seed)
    group = 32 * gmul
    k = group * groups - int(rng.integers(0, group))
    u = rng.integers(0, 3, (n, k))
    scale = rng.uniform(0.01, 1.0, (n, -(-k // group))).astype(np.float32)
    act = rng.uniform(0.01, 0.1, m).astype(np.float32)
    a = rng.integers(0, 256, (m, k)).astype(np.uint8)
    w = pack_lowbit(u, 2, layout="trits", off=-1, scale=scale, group=group)
    got = lowbit_gemv(a, w, a_zero_point=128, out_dtype=np.float32, act_scale=act, isa=isa)
    ref = lowbit_gemv_ref(a, u, off=-1, a_zero_point=128, scale=scale, group=group, act_scale=act)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("gran", [lowbit.per_channel(0), lowbit.per_group(64)])
def test_from_qtensor(gran, isa):
    """A lowbit.quantize ternary weight through the 1.6-bit layout: y = s_a (a - za) @ dequant(W)^T."""
    torch.manual_seed(0)
    w = torch.randn(90, 192)
    q = lowbit.quantize(w, "ternary", 2, gran)
    p = from_qtensor(q, layout="trits")
    assert p.nbytes == 2 * 192 // 4 * 64 + 32  # 90 rows -> 2 blocks of 80 rows, 1 byte per 5 weights
    a = np.random.default_rng(1).integers(0, 256, (3, 192)).astype(np.uint8)
    y = lowbit_gemv(a, p, a_zero_point=128, out_dtype=np.float32, act_scale=0.05, isa=isa)
    want = 0.05 * (a.astype(np.float64) - 128) @ q.dequantize().double().numpy().T
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_bad_inputs():
    u = np.ones((5, 40), np.int64)
    a = np.zeros((1, 40), np.uint8)
    with pytest.raises(LowbitError, match="u: expected ternary codes in"):
        pack_lowbit(u * 3, 2, layout="trits")
    with pytest.raises(LowbitError, match="u: expected unsigned 2-bit"):
        pack_lowbit(-u, 2, layout="trits")
    with pytest.raises(LowbitError, match="bits"):
        pack_lowbit(u, 1, layout="trits")
    with pytest.raises(LowbitError, match="bits: expected one of"):
        from_qtensor(lowbit.quantize(torch.randn(8, 64), "int", 4, lowbit.per_channel(0)), layout="trits")
    t = pack_lowbit(u, 2, layout="trits", off=-1)
    with pytest.raises(LowbitError, match="w: expected a weight packed for layout 'fields'"):
        lowbit_gemv(a, t, layout="fields")
    # the first bytes of 2-bit fields data, cut to the trits size, are not trits data: the tag refuses them
    f = pack_lowbit(np.ones((80, 40), np.int64), 2, layout="fields")
    t80 = pack_lowbit(np.ones((80, 40), np.int64), 2, layout="trits")
    with pytest.raises(LowbitError, match="w: expected .*layout 'trits'"):
        lowbit_gemv(a, LowbitWeight(f.data[: t80.data.size], t80.rowsum, 80, 40, 2, "trits", group=40))
    with pytest.raises(LowbitError, match="w: expected 1056 bytes"):
        lowbit_gemv(a, LowbitWeight(t.data[:-1], t.rowsum, 5, 40, 2, "trits", group=40))
