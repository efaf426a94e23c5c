"""Speed helpers run torch modules, lowbit QuantizedModels and ORT sessions alike (never asserting time)."""

import os

import pytest
import torch

import lowbit
from lowbit import LowbitError
from lowbit.eval.speed import latency_ms, num_threads, sample_inputs, throughput


class _Tiny(torch.nn.Module):
    """Records the thread settings it runs under."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 4)
        self.seen = set()

    def forward(self, ids, mask):
        self.seen.add((torch.get_num_threads(), os.environ.get("LOWBIT_NUM_THREADS")))
        return self.lin(torch.ones(ids.shape[0], ids.shape[1], 4)) * mask[..., None]


def test_threads_are_set_for_the_duration_and_restored():
    before = (torch.get_num_threads(), os.environ.get("LOWBIT_NUM_THREADS"))
    m = _Tiny()
    assert latency_ms(m, threads=2, tokens=8, repeats=2) > 0
    assert m.seen == {(2, "2")}
    assert (torch.get_num_threads(), os.environ.get("LOWBIT_NUM_THREADS")) == before
    with pytest.raises(LowbitError, match="threads"):
        with num_threads(0):
            pass


def test_throughput_and_latency_on_a_lowbit_model():
    q = lowbit.quantize(torch.nn.Sequential(torch.nn.Linear(4, 4)), "dynamic-int8")

    class Wrap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q = q

        def forward(self, ids, mask):
            return self.q(ids.float()[..., :4])

    assert throughput(Wrap(), threads=1, batch=4, tokens=8, repeats=1) > 0
    assert latency_ms(Wrap(), threads=1, batch=2, tokens=8, repeats=1) > 0


def test_sample_inputs_and_bad_input():
    ids, mask = sample_inputs(2, 5)
    assert ids.shape == mask.shape == (2, 5) and ids.dtype == torch.int64 and bool(mask.all())
    assert torch.equal(ids, sample_inputs(2, 5)[0])
    with pytest.raises(LowbitError, match="batch"):
        sample_inputs(0, 5)
    with pytest.raises(LowbitError, match="model"):
        latency_ms(3, tokens=4)
    with pytest.raises(LowbitError, match="repeats"):
        latency_ms(_Tiny(), tokens=4, repeats=0)
