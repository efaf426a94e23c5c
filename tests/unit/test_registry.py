"""Properties every registered format must have, whatever its arithmetic."""

import numpy as np
import pytest
import torch

import lowbit
from lowbit.formats.granularity import to_blocks
from lowbit.formats.packing import unpack_codes

# one small bit-width per format keeps this fast; each format's own test file covers all widths
# (int needs 2 bits for its default signed symmetric grid)
LOWEST = {name: (2 if name == "int" else min(fmt.bits)) for name, fmt in lowbit.FORMATS.items()}
CASES = [(n, b) for n, f in lowbit.FORMATS.items() for b in sorted({LOWEST[n], min(max(f.bits), 8)})]
GRANS = [lowbit.per_tensor(), lowbit.per_channel(0), lowbit.per_group(16), lowbit.vector("activation")]


def test_at_least_nine_formats_with_metadata():
    assert len(lowbit.FORMATS) >= 9
    for name, fmt in lowbit.FORMATS.items():
        assert fmt.name == name and fmt.kind and fmt.description and fmt.bits


@pytest.mark.parametrize("name,bits", CASES)
def test_round_trip_contract(name, bits):
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((8, 32)).astype(np.float32))
    if name == "log2":  # an unsigned format for probabilities
        x = x.softmax(dim=-1)
    for gran in GRANS:
        q = lowbit.quantize(x, name, bits, gran)
        qmin, qmax = q.code_range
        assert q.codes.shape == x.shape and q.codes.dtype == torch.int64
        assert qmin <= int(q.codes.min()) and int(q.codes.max()) <= qmax
        assert qmax - qmin < 2**bits, "codes must fit in `bits` bits to be packed"
        back = unpack_codes(q.packed(), bits, x.numel()) + qmin
        assert np.array_equal(back.reshape(x.shape), q.codes.numpy())
        y = q.dequantize()
        assert y.shape == x.shape and y.dtype == torch.float32 and torch.isfinite(y).all()
        assert torch.equal(lowbit.quantize(x, name, bits, gran).codes, q.codes), (
            "quantize must be deterministic"
        )
        # the grid is a fixed point: encoding decoded values with the same parameters gives them back
        fmt = lowbit.FORMATS[name]
        blocks, _ = to_blocks(y, gran)
        again = fmt.decode(fmt.encode(blocks, q.params, bits, **q.options), q.params, bits, **q.options)
        assert torch.allclose(again, blocks, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(lowbit.FORMATS))
def test_bad_bits_and_nan(name):
    x = torch.randn(4, 16)
    with pytest.raises(lowbit.LowbitError, match="bits"):
        lowbit.quantize(x, name, 99)
    x[0, 0] = float("nan")
    with pytest.raises(lowbit.LowbitError, match="finite"):
        lowbit.quantize(x, name, LOWEST[name])
