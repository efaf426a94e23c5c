"""The int format against its definition, and the driver's input checks."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lowbit
from lowbit import LowbitError, per_channel, per_group, per_tensor, vector

BITS = [1, 2, 3, 4, 5, 6, 7, 8, 16]
GRANS = [per_tensor(), per_channel(0), per_channel(1), per_group(4, axis=1), vector("activation")]


def code_range(bits, signed, narrow):
    qmin = -(2 ** (bits - 1)) if signed else 0
    qmax = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    return qmin + narrow, qmax


def valid(bits, signed, symmetric, narrow) -> bool:
    """Whether the combination leaves room for a non-trivial grid around zero."""
    qmin, qmax = code_range(bits, signed, narrow)
    zp = 0 if signed else 2 ** (bits - 1)
    return qmax > qmin and (not signed or qmax >= 1) and (not symmetric or min(qmax - zp, zp - qmin) >= 1)


def reference(x: np.ndarray, bits: int, signed: bool, symmetric: bool, narrow: bool):
    """Per-tensor int quantization written from the definition, in float64."""
    qmin, qmax = code_range(bits, signed, narrow)
    lo, hi = min(x.min(), 0.0), max(x.max(), 0.0)
    if symmetric:
        zp = 0 if signed else 2 ** (bits - 1)
        scale = max(-lo, hi) / min(qmax - zp, zp - qmin)
    else:
        scale = (hi - lo) / (qmax - qmin)
        zp = int(np.clip(np.round(qmin - lo / scale), qmin, qmax))
    return qmin, qmax, scale, zp


@settings(max_examples=150, deadline=None)
@given(
    bits=st.sampled_from(BITS),
    signed=st.booleans(),
    symmetric=st.booleans(),
    narrow=st.booleans(),
    gran=st.sampled_from(GRANS),
    seed=st.integers(0, 2**32 - 1),
    spread=st.floats(1e-3, 1e3),
)
def test_codes_and_error_bound(bits, signed, symmetric, narrow, gran, seed, spread):
    if not valid(bits, signed, symmetric, narrow):
        with pytest.raises(LowbitError, match="bits: expected"):
            lowbit.quantize(torch.randn(4), "int", bits, signed=signed, symmetric=symmetric, narrow=narrow)
        return
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((6, 8)).astype(np.float32) * spread)
    q = lowbit.quantize(x, "int", bits, gran, signed=signed, symmetric=symmetric, narrow=narrow)
    qmin, qmax = q.code_range
    assert q.codes.dtype == torch.int64 and q.codes.shape == x.shape
    assert qmin <= int(q.codes.min()) and int(q.codes.max()) <= qmax
    err = (q.dequantize() - x).abs()
    scale = q.params["scale"]
    from lowbit.formats.granularity import to_blocks

    # inside the fitted range the error is at most half a step (float32 slack)
    blocks_err, _ = to_blocks(err, gran)
    blocks_x, _ = to_blocks(x, gran)
    zp = q.params["zero_point"][:, None].float()
    inside = (blocks_x >= scale[:, None] * (qmin - zp)) & (blocks_x <= scale[:, None] * (qmax - zp))
    bound = scale[:, None] / 2 * (1 + 1e-5) + 1e-6 * blocks_x.abs()
    assert bool((blocks_err <= bound)[inside].all())
    if gran == per_tensor():
        rq = reference(x.double().numpy(), bits, signed, symmetric, narrow)
        assert (qmin, qmax) == rq[:2]
        assert abs(float(scale[0]) - rq[2]) <= 1e-5 * rq[2] and int(q.params["zero_point"][0]) == rq[3]


@pytest.mark.parametrize("bits", BITS)
def test_zero_is_exact_and_minmax_covers(bits):
    x = torch.tensor([-3.0, -0.7, 0.0, 0.2, 5.0])
    for signed in (True, False):
        for symmetric in (True, False):
            if not valid(bits, signed, symmetric, False):
                continue
            q = lowbit.quantize(x, "int", bits, signed=signed, symmetric=symmetric)
            assert float(q.dequantize()[2]) == 0.0


def test_int8_defaults_and_narrow():
    q = lowbit.quantize(torch.linspace(-1, 1, 101), "int", 8)
    assert q.code_range == (-128, 127) and int(q.codes.min()) == -127 and int(q.codes.max()) == 127
    assert lowbit.quantize(torch.randn(10), "int", 8, narrow=True).code_range == (-127, 127)
    assert lowbit.quantize(torch.randn(10), "int", 8, signed=False).code_range == (0, 255)
    assert lowbit.quantize(torch.randn(10), "int", 16).code_range == (-32768, 32767)


def test_zero_block_inside_per_channel_is_exact():
    w = torch.randn(4, 16)
    w[2] = 0
    q = lowbit.quantize(w, "int", 4, per_channel(0))
    assert torch.equal(q.dequantize()[2], torch.zeros(16))


def test_packed_codes_round_trip():
    from lowbit.formats.packing import unpack_codes

    q = lowbit.quantize(torch.randn(7, 9), "int", 3, per_channel(0))
    qmin, _ = q.code_range
    back = unpack_codes(q.packed(), 3, q.codes.numel()) + qmin
    assert np.array_equal(back.reshape(7, 9), q.codes.numpy())
    assert q.nbytes() == -(-63 * 3 // 8) + 7 * 4 + 8  # codes, 7 scales, one shared zero point
    q = lowbit.quantize(
        torch.randn(7, 9, generator=torch.Generator().manual_seed(0)),
        "int",
        3,
        per_channel(0),
        symmetric=False,
    )
    assert len(set(q.params["zero_point"].tolist())) > 1
    assert q.nbytes() == -(-63 * 3 // 8) + 7 * 4 + 7 * 8


def test_bad_inputs():
    x = torch.randn(4, 8)
    for bad in (0, 9, 17, 4.0, True, "8"):
        with pytest.raises(LowbitError, match="bits"):
            lowbit.quantize(x, "int", bad)
    with pytest.raises(LowbitError, match="bits: expected a width with room"):
        lowbit.quantize(x, "int", 1, signed=True)
    with pytest.raises(LowbitError, match="bits: expected at least 2 bits"):
        lowbit.quantize(x, "int", 1, signed=False, symmetric=True)
    for value in (float("nan"), float("inf")):
        y = x.clone()
        y[1, 2] = value
        with pytest.raises(LowbitError, match="x: expected finite values"):
            lowbit.quantize(y, "int", 8)
    with pytest.raises(LowbitError, match="x: expected a non-empty"):
        lowbit.quantize(torch.zeros(0, 8), "int", 8)
    with pytest.raises(LowbitError, match="x: expected a tensor with a non-zero range"):
        lowbit.quantize(torch.full((4, 4), 0.5), "int", 8)
    with pytest.raises(LowbitError, match="x: expected a floating-point"):
        lowbit.quantize(torch.ones(4, dtype=torch.int32), "int", 8)
    with pytest.raises(LowbitError, match="x: expected a torch.Tensor"):
        lowbit.quantize([1.0, 2.0], "int", 8)
    with pytest.raises(LowbitError, match="group_size: expected a divisor"):
        lowbit.quantize(x, "int", 4, per_group(3))
    with pytest.raises(LowbitError, match="format"):
        lowbit.quantize(x, "int9", 4)
    with pytest.raises(LowbitError, match="observer"):
        lowbit.quantize(x, "int", 4, observer="nope")


def test_numpy_input_and_float64():
    x = np.random.default_rng(0).standard_normal((3, 5))
    q = lowbit.quantize(x, "int", 8)
    assert q.dequantize().dtype == torch.float32
    assert np.abs(q.dequantize().numpy() - x).max() <= float(q.params["scale"][0]) / 2 + 1e-6
