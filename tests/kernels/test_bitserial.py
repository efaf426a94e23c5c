"""Bit-serial GEMM kernels (scalar and AVX-512 VPOPCNTDQ) against the int64 oracle, bit-exactly."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.bitserial import Planes, bitserial_gemm, bitserial_gemm_ref, pack_planes

ISAS = available_isas()


@settings(max_examples=120, deadline=None)
@given(
    m=st.integers(1, 20), n=st.integers(1, 20),
    k=st.one_of(st.integers(1, 1100), st.sampled_from([64, 511, 512, 513])),
    p=st.integers(1, 4), q=st.integers(1, 4), bipolar=st.booleans(), isa=st.sampled_from(ISAS),
    extreme=st.booleans(), seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_bit_exact(m, n, k, p, q, bipolar, isa, extreme, seed):
    if bipolar:
        p = q = 1
    rng = np.random.default_rng(seed)
    if extreme:
        a, w = np.full((m, k), (1 << q) - 1), np.full((n, k), (1 << p) - 1)
    else:
        a, w = rng.integers(0, 1 << q, size=(m, k)), rng.integers(0, 1 << p, size=(n, k))
    got = bitserial_gemm(pack_planes(a, q), pack_planes(w, p), bipolar, isa=isa)
    np.testing.assert_array_equal(got, bitserial_gemm_ref(a, w, bipolar))


def test_planes_layout():
    planes = pack_planes(np.array([[1, 0, 3] + [0] * 61 + [2]]), 2)
    assert planes.data.shape == (2, 1, 8) and planes.data.dtype == np.uint64
    assert planes.data[0, 0, 0] == 0b101 and planes.data[1, 0, 0] == 0b100 and planes.data[1, 0, 1] == 1


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
    with pytest.raises(LowbitError, match="codes"):
        pack_planes(np.array([[4]]), 2)
    with pytest.raises(LowbitError, match="bits"):
        pack_planes(np.array([[1]]), 9)
    with pytest.raises(LowbitError, match="k: expected K"):
        big = np.full((1, 140000), 255)
        bitserial_gemm(pack_planes(big, 8), pack_planes(big, 8))
