import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lowbit import LowbitError, per_channel, per_group, per_tensor, vector
from lowbit.formats.granularity import Granularity, from_blocks, to_blocks

SHAPES = st.lists(st.integers(1, 6), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(shape=SHAPES, data=st.data())
def test_blocks_round_trip_and_meaning(shape, data):
    x = torch.arange(torch.Size(shape).numel(), dtype=torch.float32).reshape(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    divisors = [g for g in range(1, shape[axis] + 1) if shape[axis] % g == 0]
    g = data.draw(st.sampled_from(divisors))
    for gran in (per_tensor(), per_channel(axis), per_group(g, axis), vector("weight"), vector("activation")):
        blocks, layout = to_blocks(x, gran)
        assert torch.equal(from_blocks(blocks, layout), x)
        assert blocks.numel() == x.numel()
    blocks, _ = to_blocks(x, per_channel(axis))
    for i in range(shape[axis]):  # block i holds exactly the elements with index i along axis
        assert torch.equal(blocks[i].sort().values, x.select(axis, i).reshape(-1).sort().values)
    blocks, _ = to_blocks(x, per_group(g, axis))
    moved = x.movedim(axis, -1)
    assert torch.equal(blocks[0], moved.reshape(-1)[:g])  # a group is g consecutive elements along axis


def test_vector_wise_is_per_row_of_x_and_per_output_of_w():
    x = torch.randn(2, 3, 8)
    assert to_blocks(x, vector("activation"))[0].shape == (6, 8)
    w = torch.randn(5, 8)  # torch Linear layout [out, in]
    assert torch.equal(to_blocks(w, vector("weight"))[0], w)


def test_json_round_trip():
    for gran in (per_tensor(), per_channel(1), per_group(32, 0), vector("activation")):
        assert Granularity.from_json(gran.to_json()) == gran


def test_bad_inputs():
    with pytest.raises(LowbitError, match="group_size: expected a divisor"):
        to_blocks(torch.zeros(4, 10), per_group(3))
    with pytest.raises(LowbitError, match="axis"):
        to_blocks(torch.zeros(4, 10), per_channel(2))
    with pytest.raises(LowbitError, match="group_size"):
        per_group(0)
    with pytest.raises(LowbitError, match="role"):
        vector("bias")
