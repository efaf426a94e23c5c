"""The probe: same folds for every model, per-fold differences against the reference, bad input."""

import numpy as np
import pytest
import torch

from lowbit import LowbitError
from lowbit.eval.probe import embed_all, mean_cosine, probe_accuracy


def _blobs(n=200, dim=8, sep=3.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.standard_normal((n, dim))
    x[:, 0] += sep * (2 * y - 1)
    return x, y


def test_probe_separable_noisy_and_paired_deltas():
    x, y = _blobs()
    rng = np.random.default_rng(1)
    res = probe_accuracy(
        {"fp32": x, "same": torch.tensor(x, dtype=torch.float64), "noise": rng.standard_normal(x.shape)},
        y,
        folds=5,
    )
    assert res["fp32"]["accuracy"] > 0.97 and len(res["fp32"]["folds"]) == 5
    # an identical copy gets identical folds: every per-fold difference is exactly 0
    assert res["same"]["folds"] == res["fp32"]["folds"]
    assert res["same"]["delta"] == 0 and res["same"]["delta_std"] == 0
    assert res["fp32"]["delta_folds"] == [0.0] * 5
    assert 0.3 < res["noise"]["accuracy"] < 0.7
    d = np.array(res["noise"]["folds"]) - np.array(res["fp32"]["folds"])
    assert np.allclose(res["noise"]["delta_folds"], d)
    assert res["noise"]["delta"] == pytest.approx(d.mean())
    assert res["noise"]["delta_std"] == pytest.approx(d.std(ddof=1))


def test_probe_is_deterministic_and_seeded():
    x, y = _blobs(sep=0.8)
    a = probe_accuracy({"fp32": x}, y, seed=0)
    assert a == probe_accuracy({"fp32": x}, y, seed=0)
    assert a["fp32"]["folds"] != probe_accuracy({"fp32": x}, y, seed=1)["fp32"]["folds"]
    assert "delta" not in probe_accuracy({"m": x}, y, reference=None)["m"]


def test_probe_bad_input():
    x, y = _blobs(n=40)
    with pytest.raises(LowbitError, match="reference"):
        probe_accuracy({"int8": x}, y)
    with pytest.raises(LowbitError, match="embeddings"):
        probe_accuracy({}, y)
    with pytest.raises(LowbitError, match="rows"):
        probe_accuracy({"fp32": x[:-1]}, y)
    with pytest.raises(LowbitError, match="2-D"):
        probe_accuracy({"fp32": x[:, 0]}, y)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(LowbitError, match="finite"):
        probe_accuracy({"fp32": bad}, y)
    with pytest.raises(LowbitError, match="labels"):
        probe_accuracy({"fp32": x}, np.zeros(40))
    with pytest.raises(LowbitError, match="folds"):
        probe_accuracy({"fp32": x}, y, folds=1)


def test_mean_cosine():
    a = torch.randn(10, 16, generator=torch.Generator().manual_seed(0))
    assert mean_cosine(a, 3 * a) == pytest.approx(1.0)
    assert mean_cosine(a, -a) == pytest.approx(-1.0)
    b = a.clone()
    b[:5] *= -1
    assert mean_cosine(a, b) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(LowbitError, match="shape"):
        mean_cosine(a, a[:, :8])
    with pytest.raises(LowbitError, match="non-zero"):
        mean_cosine(a, torch.zeros_like(a))


class _Sum(torch.nn.Module):
    """embed = per-row sum of ids over the mask, and the width it was called with."""

    widths: list

    def embed(self, ids, mask):
        self.widths.append(ids.shape[1])
        return (ids * mask).sum(1, keepdim=True).float()


def test_embed_all_batches_and_trims_padding():
    ids = torch.tensor([[5, 6, 0, 0, 0], [1, 0, 0, 0, 0], [2, 3, 4, 0, 0]])
    mask = (ids != 0).long()
    m = _Sum()
    m.widths = []
    out = embed_all(m, ids, mask, batch=2)
    assert out.tolist() == [[11.0], [1.0], [9.0]]
    assert m.widths == [2, 3]
    with pytest.raises(LowbitError, match="input_ids"):
        embed_all(m, ids[:0], mask[:0])
