"""iRNN-style adaptive PWL sigmoid / tanh: curvature-adapted breakpoints, integer evaluation within the
table's documented bound over [lo, hi], saturation outside, extremes, bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError
from lowbit.ops.pwl import FUNCS, fit_pwl, pwl_sigmoid_ref, pwl_tanh_ref

REFS = {"sigmoid": pwl_sigmoid_ref, "tanh": pwl_tanh_ref}


@pytest.mark.parametrize("name", sorted(REFS))
@given(
    seed=st.integers(0, 2**16),
    lo=st.floats(-12.0, 1.0),
    width=st.floats(0.25, 16.0),
    segments=st.sampled_from([4, 8, 16]),
    scale=st.sampled_from([1e-4, 1e-3, 0.02, 0.1]),
)
@settings(max_examples=15, deadline=None, derandomize=True)
def test_within_table_bound(name, seed, lo, width, segments, scale):
    hi = lo + width
    t = fit_pwl(name, lo, hi, segments)
    assert t.table_bytes == 10 * segments
    q = np.random.default_rng(seed).integers(int(lo / scale), int(hi / scale) + 1, size=3000).astype(np.int32)
    y, s = REFS[name](q, scale, t)
    assert y.dtype == np.int16 and s == 2.0**-14
    x = np.clip(q * scale, lo, hi)  # codes just past the ends (from rounding) read the end values
    assert np.abs(y * s - FUNCS[name][0](x)).max() <= t.bound


@pytest.mark.parametrize("name, float_err", [("sigmoid", 1.6e-3), ("tanh", 3.6e-3)])
def test_default_tables_documented_error(name, float_err):
    y, s = REFS[name](np.arange(-8000, 8001), 1e-3)
    t = fit_pwl(name, -8.0, 8.0, 16)
    assert t.float_err <= float_err * 1.01 and t.bound <= float_err + 3e-4
    assert np.abs(y * s - FUNCS[name][0](np.arange(-8000, 8001) * 1e-3)).max() <= t.bound


def test_breakpoints_follow_curvature():
    t = fit_pwl("tanh", -6.0, 6.0, 16)
    gaps = np.diff(t.starts.astype(np.int64))
    assert gaps[0] > 2 * gaps[len(gaps) // 2 - 1]  # the flat tail gets wide segments, |x| ~ 0.66 narrow
    more = fit_pwl("tanh", -6.0, 6.0, 8)
    assert t.float_err < more.float_err / 3  # twice the segments: ~4x smaller error


@pytest.mark.parametrize("name", sorted(REFS))
def test_saturates_outside_range_and_extremes(name):
    t = fit_pwl(name, -2.0, 3.0, 8)
    q = np.array([-(2**31), -1000, -201, 301, 5000, 2**31 - 1], dtype=np.int64)
    y, s = REFS[name](q, 0.01, t)
    lo_v, hi_v = REFS[name](np.array([-200, 300]), 0.01, t)[0]  # the codes at lo and hi themselves
    assert y.tolist() == [y[0]] * 3 + [y[3]] * 3  # saturated: the table's values at lo and hi, rounded
    assert abs(int(y[0]) - int(lo_v)) <= 1 and abs(int(y[3]) - int(hi_v)) <= 1
    y, _ = REFS[name](np.array([-(2**31), 2**31 - 1], dtype=np.int32), 2.0**19)  # huge scale
    assert abs(int(y[1]) * 2.0**-14 - 1) <= t.bound


def test_bad_inputs():
    with pytest.raises(LowbitError, match="func_name"):
        fit_pwl("relu", -1.0, 1.0, 8)
    with pytest.raises(LowbitError, match="lo, hi"):
        fit_pwl("tanh", 1.0, -1.0, 8)
    with pytest.raises(LowbitError, match="lo, hi"):
        fit_pwl("tanh", float("nan"), 1.0, 8)
    with pytest.raises(LowbitError, match="segments"):
        fit_pwl("tanh", -1.0, 1.0, 0)
    t = fit_pwl("tanh", -1.0, 1.0, 4)
    with pytest.raises(LowbitError, match="table"):
        pwl_sigmoid_ref(np.zeros(2, dtype=np.int8), 0.1, t)  # a tanh table for sigmoid
    with pytest.raises(LowbitError, match="q: expected an integer array"):
        pwl_tanh_ref(np.zeros(2), 0.1, t)
    with pytest.raises(LowbitError, match="scale"):
        pwl_tanh_ref(np.zeros(2, dtype=np.int8), float("inf"), t)


def test_registry_rows():
    from lowbit.ops import nnlut
    from lowbit.ops.intops import INTOPS

    assert INTOPS["sigmoid", "pwl"].table_bytes == fit_pwl("sigmoid", -8.0, 8.0, 16).table_bytes
    assert INTOPS["sigmoid", "pwl"].bound >= fit_pwl("sigmoid", -8.0, 8.0, 16).bound
    assert INTOPS["tanh", "pwl"].bound >= fit_pwl("tanh", -8.0, 8.0, 16).bound
    assert INTOPS["gelu", "nnlut"].bound >= nnlut.table("gelu").bound
    assert (
        INTOPS["softmax", "nnlut"].table_bytes
        >= nnlut.table("exp").table_bytes + nnlut.table("recip").table_bytes
    )


def test_registry_kernel_bytes_are_the_plan_rows():
    from lowbit.ops import nnlut, pwl
    from lowbit.ops.intops import INTOPS

    for scale in (1e-4, 1e-3, 3e-2):
        rows = pwl.pwl_plan(pwl.default_table("sigmoid"), scale).starts.size
        assert INTOPS["sigmoid", "pwl"].kernel_bytes(scale) == 9 * rows
        assert INTOPS["gelu", "nnlut"].kernel_bytes(scale) == 11 * nnlut.gelu_plan(scale).starts.size
    assert INTOPS["softmax", "lut_rexp"].kernel_bytes is None
