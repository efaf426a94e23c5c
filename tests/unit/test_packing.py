import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.formats.packing import pack_bitplanes, pack_codes, packed_nbytes, unpack_bitplanes, unpack_codes


@settings(max_examples=200, deadline=None)
@given(bits=st.integers(1, 16), n=st.integers(1, 67), seed=st.integers(0, 2**32 - 1))
def test_codes_round_trip(bits, n, seed):
    codes = np.random.default_rng(seed).integers(0, 1 << bits, size=n)
    packed = pack_codes(codes, bits)
    assert packed.dtype == np.uint8 and packed.size == packed_nbytes(n, bits) == -(-n * bits // 8)
    np.testing.assert_array_equal(unpack_codes(packed, bits, n), codes)


@settings(max_examples=150, deadline=None)
@given(bits=st.integers(1, 8), rows=st.integers(1, 5), k=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
def test_bitplanes_round_trip(bits, rows, k, seed):
    codes = np.random.default_rng(seed).integers(0, 1 << bits, size=(rows, k))
    planes = pack_bitplanes(codes, bits)
    assert planes.shape == (bits, rows, (k + 7) // 8)
    np.testing.assert_array_equal(unpack_bitplanes(planes, k), codes)
    # plane j, byte i, bit t holds bit j of code 8i + t
    j, r, c = bits - 1, rows - 1, k - 1
    assert (planes[j, r, c // 8] >> (c % 8)) & 1 == (codes[r, c] >> j) & 1


def test_layout_is_lsb_first():
    assert list(pack_codes(np.array([1, 2, 3, 15]), 4)) == [0x21, 0xF3]
    assert list(pack_codes(np.array([5, 6, 7]), 3)) == [0b11110101, 0b1]  # 3-bit codes cross bytes
    assert list(pack_codes(np.array([1, 0, 1, 1, 0, 0, 0, 0, 1]), 1)) == [0b1101, 1]
    assert list(pack_codes(np.array([0xABCD]), 16)) == [0xCD, 0xAB]


def test_all_max_codes():
    for bits in range(1, 9):
        codes = np.full(13, (1 << bits) - 1)
        np.testing.assert_array_equal(unpack_codes(pack_codes(codes, bits), bits, 13), codes)


def test_bad_inputs():
    with pytest.raises(LowbitError, match="codes"):
        pack_codes(np.array([16]), 4)
    with pytest.raises(LowbitError, match="codes"):
        pack_codes(np.array([-1]), 4)
    with pytest.raises(LowbitError, match="codes"):
        pack_codes(np.array([0.5]), 4)
    with pytest.raises(LowbitError, match="bits"):
        pack_codes(np.array([0]), 0)
    with pytest.raises(LowbitError, match="packed"):
        unpack_codes(np.zeros(3, dtype=np.uint8), 4, 9)
    with pytest.raises(LowbitError, match="k"):
        unpack_bitplanes(np.zeros((2, 1, 2), dtype=np.uint8), 20)
    with pytest.raises(LowbitError, match="codes"):
        pack_bitplanes(np.zeros(5, dtype=np.int64), 2)
