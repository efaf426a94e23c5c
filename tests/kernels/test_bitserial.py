"""Bit-serial GEMM kernels (scalar, AVX2, AVX-512 VPOPCNTDQ, NEON where built) in every layout against the
int64 oracle, bit-exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.formats.packing import pack_bitplanes, unpack_bitplanes
from lowbit.ops import available_isas
from lowbit.ops.bitserial import (
    LAYOUTS,
    Planes,
    bitserial_gemm,
    bitserial_gemm_ref,
    pack_planes,
    planes_from_bitplanes,
    to_bitplanes,
    to_layout,
)

ISAS = available_isas()


@settings(max_examples=300, deadline=None)
@given(
    m=st.integers(1, 20), n=st.integers(1, 40),
    k=st.one_of(st.integers(1, 1300), st.sampled_from([64, 511, 512, 513, 1023, 1537])),
    p=st.integers(1, 4), q=st.one_of(st.integers(1, 4), st.just(8)), bipolar=st.booleans(),
    isa=st.sampled_from(ISAS), layout=st.sampled_from(LAYOUTS), extreme=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_bit_exact(m, n, k, p, q, bipolar, isa, layout, extreme, seed):
    if bipolar:
        p = q = 1
    rng = np.random.default_rng(seed)
    if extreme:
        a, w = np.full((m, k), (1 << q) - 1), np.full((n, k), (1 << p) - 1)
    else:
        a, w = rng.integers(0, 1 << q, size=(m, k)), rng.integers(0, 1 << p, size=(n, k))
    got = bitserial_gemm(pack_planes(a, q, layout), pack_planes(w, p, layout), bipolar, isa=isa)
    np.testing.assert_array_equal(got, bitserial_gemm_ref(a, w, bipolar))


@settings(max_examples=60, deadline=None)
@given(
    m=st.integers(1, 19), n=st.integers(1, 19),
    # 256 words (K = 16384) up: the AVX-512 carry-save W1A1 kernel; words mod 4 (its 4-word asm steps,
    # a pair and a single word after them), K tails inside a word, and past 512 words (its K chunks)
    k=st.one_of(
        st.integers(16321, 17000),
        st.sampled_from([16384, 16385, 16448, 16512, 16576, 32768, 32769, 32832, 40000, 65600]),
    ),
    bipolar=st.booleans(), extreme=st.booleans(), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_w1a1_long_k(m, n, k, bipolar, extreme, seed):
    """W1A1 rows-interleaved at long K (every ISA; on AVX-512 this is the carry-save kernel): all-ones codes
    (extreme) make every adder carry."""
    rng = np.random.default_rng(seed)
    if extreme:
        a, w = np.ones((m, k), dtype=np.int64), np.ones((n, k), dtype=np.int64)
    else:
        a, w = rng.integers(0, 2, size=(m, k)), rng.integers(0, 2, size=(n, k))
    planes_a, planes_w = pack_planes(a, 1, "rows-interleaved"), pack_planes(w, 1, "rows-interleaved")
    for isa in ISAS:
        got = bitserial_gemm(planes_a, planes_w, bipolar, isa=isa)
        np.testing.assert_array_equal(got, bitserial_gemm_ref(a, w, bipolar), err_msg=isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    "layout, bipolar", [(layout, False) for layout in LAYOUTS] + [("rows-interleaved", True)]
)
def test_k_chunks(isa, layout, bipolar):
    """Several K chunks, each adding into the output and the XNOR form applied after the last: the planes
    kernel cuts K past 2 MiB of activation planes (the XNOR case at that size is in the C++ selftest, M x K
    = 1100 x 31000), the rows-interleaved one at 32 KiB of weight tile (K > 10880 for 1-bit weights)."""
    p, q = (1, 1) if bipolar else (2, 8)
    m, k, n = (20, 12000, 29) if bipolar else (300, 7000, 9)
    rng = np.random.default_rng(1)
    a, w = rng.integers(0, 1 << q, size=(m, k)), rng.integers(0, 1 << p, size=(n, k))
    got = bitserial_gemm(pack_planes(a, q, layout), pack_planes(w, p, layout), bipolar, isa=isa)
    np.testing.assert_array_equal(got, bitserial_gemm_ref(a, w, bipolar))


def test_planes_layout():
    planes = pack_planes(np.array([[1, 0, 3] + [0] * 61 + [2]]), 2)
    assert planes.layout == "planes-outer" and planes.bits == 2 and planes.rows == 1
    assert planes.data.shape == (2, 1, 8) and planes.data.dtype == np.uint64
    assert planes.data[0, 0, 0] == 0b101 and planes.data[1, 0, 0] == 0b100 and planes.data[1, 0, 1] == 1


def test_rows_interleaved_layout():
    codes = np.zeros((10, 130), dtype=np.int64)
    codes[9, 0], codes[2, 129] = 3, 2
    p = pack_planes(codes, 2, "rows-interleaved")
    assert p.data.shape == (2, 2, 3, 8) and p.rows == 10 and p.bits == 2  # [groups, bits, words, 8]
    assert p.data[1, 0, 0, 1] == 1 and p.data[1, 1, 0, 1] == 1  # row 9 = group 1 lane 1, k = 0
    assert p.data[0, 1, 2, 2] == 2 and p.data[0, 0, 2, 2] == 0  # row 2, bit 1 of code 2 at k = 129
    assert int(np.count_nonzero(p.data)) == 3


def test_interleaved_layout():
    codes = np.zeros((2, 600), dtype=np.int64)
    codes[1, 0], codes[1, 513] = 3, 2
    inter = pack_planes(codes, 2, "planes-interleaved")
    assert inter.data.shape == (2, 2, 2, 8) and inter.bits == 2 and inter.rows == 2  # [rows, blocks, bits, 8]
    assert inter.data[1, 0, 0, 0] == 1 and inter.data[1, 0, 1, 0] == 1  # bits 0 and 1 of code 3 at k = 0
    assert inter.data[1, 1, 1, 0] == 2 and inter.data[1, 1, 0, 0] == 0  # bit 1 of code 2 at k = 513
    assert not inter.data[0].any()


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 5), k=st.integers(1, 1500), bits=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_packers_consume_pack_bitplanes(rows, k, bits, seed):
    codes = np.random.default_rng(seed).integers(0, 1 << bits, size=(rows, k))
    raw = pack_bitplanes(codes, bits)
    outer = planes_from_bitplanes(raw, k, "planes-outer")
    np.testing.assert_array_equal(outer.data, pack_planes(codes, bits).data)
    for layout in LAYOUTS:
        planes = planes_from_bitplanes(raw, k, layout)
        np.testing.assert_array_equal(to_bitplanes(planes), raw)
        np.testing.assert_array_equal(to_layout(outer, layout).data, planes.data)
        np.testing.assert_array_equal(to_layout(planes, "planes-outer").data, outer.data)
    # back to the bytes pack_bitplanes wrote, and to the codes
    back = outer.data.view(np.uint8)[:, :, : (k + 7) // 8]
    np.testing.assert_array_equal(unpack_bitplanes(back, k), codes)


def test_bad_inputs():
    a = pack_planes(np.ones((2, 100), dtype=np.int64), 1)
    w = pack_planes(np.ones((3, 100), dtype=np.int64), 2)
    with pytest.raises(LowbitError, match="bipolar"):
        bitserial_gemm(a, w, bipolar=True)
    with pytest.raises(LowbitError, match="w: expected the same K"):
        bitserial_gemm(a, pack_planes(np.ones((3, 90), dtype=np.int64), 1))
    dirty = a.data.copy()
    dirty[0, 0, 1] |= np.uint64(1) << np.uint64(40)  # a bit past K = 100
    with pytest.raises(LowbitError, match="padding"):
        bitserial_gemm(Planes(dirty, 100), w)
    inter = to_layout(a, "planes-interleaved")
    dirty = inter.data.copy()
    dirty[1, 0, 0, 7] = 1  # a word past K = 100
    with pytest.raises(LowbitError, match="padding"):
        bitserial_gemm(Planes(dirty, 100, "planes-interleaved"), to_layout(w, "planes-interleaved"))
    by_rows = to_layout(a, "rows-interleaved")
    dirty = by_rows.data.copy()
    dirty[0, 0, 1, 1] |= np.uint64(1) << np.uint64(40)  # row 1, a bit past K = 100
    with pytest.raises(LowbitError, match="padding"):
        bitserial_gemm(Planes(dirty, 100, "rows-interleaved", 2), to_layout(w, "rows-interleaved"))
    with pytest.raises(LowbitError, match="codes"):
        pack_planes(np.array([[4]]), 2)
    with pytest.raises(LowbitError, match="bits"):
        pack_planes(np.array([[1]]), 9)
    with pytest.raises(LowbitError, match="k: expected K"):
        big = np.full((1, 140000), 255)
        bitserial_gemm(pack_planes(big, 8), pack_planes(big, 8))


def test_wrong_layout():
    codes = np.ones((3, 700), dtype=np.int64)
    outer, inter = pack_planes(codes, 2), pack_planes(codes, 2, "planes-interleaved")
    with pytest.raises(LowbitError, match="w: expected the layout of a"):
        bitserial_gemm(outer, inter)
    with pytest.raises(LowbitError, match="layout: expected the layout the planes were packed in"):
        bitserial_gemm(outer, outer, layout="planes-interleaved")
    with pytest.raises(LowbitError, match="layout: expected one of"):
        pack_planes(codes, 2, "planes-sideways")
    # planes-outer words labelled interleaved (and the other way round): refused by the kernel's checks
    with pytest.raises(LowbitError, match="another layout"):
        mislabelled = Planes(outer.data, 700, "planes-interleaved")
        bitserial_gemm(mislabelled, mislabelled)
    with pytest.raises(LowbitError, match="another layout"):
        bitserial_gemm(Planes(inter.data, 700), Planes(inter.data, 700))
    by_rows = pack_planes(codes, 2, "rows-interleaved")
    assert by_rows.data.shape == (1, 2, 11, 8) and by_rows.rows == 3
    for other in ("planes-interleaved", "planes-outer"):  # 4-D of another shape, or 3 dimensions expected
        with pytest.raises(LowbitError, match="another layout"):
            bitserial_gemm(Planes(by_rows.data, 700, other), Planes(by_rows.data, 700, other))
    with pytest.raises(LowbitError, match="another layout"):
        mislabelled = Planes(inter.data, 700, "rows-interleaved", 3)
        bitserial_gemm(mislabelled, mislabelled)
    # the right number of dimensions but not the packer's shape
    bad = np.zeros((3, 1, 2, 16), dtype=np.uint64)
    with pytest.raises(LowbitError, match="packer's layout"):
        bitserial_gemm(Planes(bad, 700, "planes-interleaved"), Planes(bad, 700, "planes-interleaved"))
    with pytest.raises(LowbitError, match="bitplanes"):
        planes_from_bitplanes(pack_bitplanes(codes, 2), 600)
    with pytest.raises(LowbitError, match="isa"):
        bitserial_gemm(outer, outer, isa="sve")
