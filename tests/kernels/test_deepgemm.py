"""DeepGEMM 2x2 (one 16-entry product table) against its oracle, every ISA, odd K, extreme tables."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops import available_isas
from lowbit.ops.deepgemm import deepgemm_2x2, deepgemm_2x2_ref, pack_2bit, product_table


@settings(max_examples=80, deadline=None)
@given(
    m=st.integers(1, 9),
    n=st.integers(1, 40),
    k=st.one_of(st.integers(1, 300), st.sampled_from([255, 256, 257, 1024, 1031])),
    isa=st.sampled_from(available_isas()),
    table=st.sampled_from(["signed", "unsigned", "random", "extreme"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_deepgemm_bit_exact(m, n, k, isa, table, seed):
    rng = np.random.default_rng(seed)
    a, w = rng.integers(0, 4, (m, k)), rng.integers(0, 4, (n, k))
    t = {
        "signed": product_table([-2, -1, 0, 1], [-2, -1, 0, 1]),
        "unsigned": product_table([0, 1, 2, 3], [0, 1, 2, 3]),
        "random": rng.integers(-128, 128, 16).astype(np.int8),
        "extreme": np.where(np.arange(16) % 2, -128, 127).astype(np.int8),
    }[table]
    got = deepgemm_2x2(pack_2bit(a), pack_2bit(w), k, t, isa=isa)
    np.testing.assert_array_equal(got, deepgemm_2x2_ref(a, w, t))


def test_deepgemm_bad_input():
    a = pack_2bit(np.zeros((2, 9), np.int64))
    t = product_table([0, 1, 2, 3], [0, 1, 2, 3])
    with pytest.raises(LowbitError, match="a, w: expected ceil"):
        deepgemm_2x2(a, a, 20, t)
    with pytest.raises(LowbitError, match="table"):
        deepgemm_2x2(a, a, 9, t[:8])
    with pytest.raises(LowbitError, match="codes"):
        pack_2bit(np.full((1, 4), 4))
    with pytest.raises(LowbitError, match="levels"):
        product_table([0, 1, 2, 30], [0, 1, 2, 30])
