"""The input range check of the kernels that need |q| < 2^15 (I-BERT LayerNorm, ShiftGELU): a code out of
range anywhere (vector body or tail, either dtype) is a LowbitError, codes at the bounds pass."""

import numpy as np
import pytest

from lowbit import LowbitError
from lowbit.ops.intops_kernels import ibert_layernorm
from lowbit.ops.shift_lut_kernels import shiftgelu


def _ops(n):
    w, b = np.ones(n), np.zeros(n)
    return [lambda q: ibert_layernorm(q, 1e-3, w, b, 0.05, 1e-12), lambda q: shiftgelu(q, 1e-3)]


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
@pytest.mark.parametrize("n", [2, 31, 32, 33, 1000])
def test_out_of_range_anywhere_is_refused(dtype, n):
    bad = [-32768] + ([32768, -(2**31), 2**31 - 1] if dtype == np.int32 else [])
    for op in _ops(n):
        for pos in sorted({0, n // 2, n - 1}):
            for v in bad:
                q = np.zeros((3, n), dtype=dtype)
                q[2, pos] = v
                with pytest.raises(LowbitError, match="q: expected codes in"):
                    op(q)
            q = np.zeros((3, n), dtype=dtype)
            q[2, pos], q[0, 0] = 32767, -32767
            op(q)  # the bounds themselves pass
