"""pot, log2, flint, float (minifloat), lns and ant: codes, level grids, nearest-level encoding, errors.

The oracle for every format is its level list written out plainly below (not taken from the module) and
a brute-force argmin over it.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lowbit
from lowbit import LowbitError
from lowbit.formats.ant import CANDIDATES, select_type
from lowbit.formats.granularity import to_blocks
from lowbit.formats.packing import unpack_codes

# Normalised RMSE ||dequant - x|| / ||x|| on N(0, 1) data [64, 256], per-tensor, seed 0 (log2: softmax rows
# of 2 * N(0, 1), scale 1.0; flint-u: |N(0, 1)|). Limits are the measured values plus 5%, rounded up.
# pot and flint level off above 4-5 bits: their top gap (1/2 .. 1 of the absmax) dominates the error.
NRMSE_MAX = {
    "pot": {2: 1.0, 3: 0.331, 4: 0.201, 5: 0.201, 6: 0.201, 7: 0.201, 8: 0.201},
    "log2": {1: 1.0, 2: 0.736, 3: 0.26, 4: 0.218, 5: 0.218, 6: 0.218, 7: 0.218, 8: 0.218},
    "flint": {3: 0.331, 4: 0.132, 5: 0.115, 6: 0.114, 7: 0.114, 8: 0.114},
    "flint-u": {3: 0.132, 4: 0.115, 5: 0.114, 6: 0.114, 7: 0.114, 8: 0.114},
    "float": {2: 1.0, 3: 0.331, 4: 0.132, 5: 0.063, 6: 0.056, 7: 0.028, 8: 0.028},
    "lns": {2: 1.0, 3: 0.335, 4: 0.148, 5: 0.083, 6: 0.053, 7: 0.027, 8: 0.027},
    "ant": {3: 0.228, 4: 0.117, 5: 0.061, 6: 0.036, 7: 0.019, 8: 0.01},
}

# (case id, registry row, options, bit-widths). The case id keys the oracle and NRMSE_MAX.
CASES = [
    ("pot", "pot", {}, range(2, 9)),
    ("log2", "log2", {"scale": 1.0}, range(1, 9)),
    ("log2-fit", "log2", {"scale": None}, range(1, 9)),
    ("flint", "flint", {}, range(3, 9)),
    ("flint-u", "flint", {"signed": False}, range(3, 9)),
    ("float", "float", {}, range(2, 9)),
    ("float-e5m2", "float", {"exp_bits": 5, "man_bits": 2}, [8]),
    ("float-e2m3", "float", {"exp_bits": 2}, [6]),
    ("lns", "lns", {}, range(2, 9)),
    ("lns-f2", "lns", {"frac_bits": 2}, range(2, 9)),
    ("ant", "ant", {}, range(3, 9)),
]
CASE_BITS = [(c, f, o, b) for c, f, o, bs in CASES for b in bs]
GRANULARITIES = {
    "tensor": lowbit.per_tensor(),
    "channel0": lowbit.per_channel(0),
    "group4": lowbit.per_group(4, axis=-1),
    "group8": lowbit.per_group(8, axis=-1),
    "vector-act": lowbit.vector("activation"),
}


# ----------------------------------------------------------------------------------------------------
# The oracle: each format's normalised levels (value for scale = 1), written out from its definition.


def pot_levels(bits):
    return [0.0] + [s * 2.0**-e for e in range(2 ** (bits - 1) - 1) for s in (1, -1)]


def log2_levels(bits):
    return [2.0**-k for k in range(2**bits - 1)] + [0.0]


def flint_levels(bits, signed=True):
    """ANT's flint_value construction (exponents below, at and above 0, then the max), normalised to 1."""
    b = bits - 1 if signed else bits
    vals = [0.0]
    for i in range(b - 1):  # negative exponents -1 .. -(b-1), mantissa bits b-2 .. 0
        mb = b - 2 - i
        vals += [2.0 ** -(i + 1) * (1 + j / 2**mb) for j in range(2**mb)]
    vals += [1 + j / 2 ** (b - 2) for j in range(2 ** (b - 2))]  # exponent 0
    for i in range(1, b - 1):  # positive exponents, mantissa bits b-2-i
        mb = b - 2 - i
        vals += [2.0**i * (1 + j / 2**mb) for j in range(2**mb)]
    vals.append(2.0 ** (b - 1))
    top = max(vals)
    mags = [v / top for v in vals]
    return mags + [-v for v in mags] if signed else mags


def float_levels(bits, e=None, m=None):
    """Every finite value of a sign + EeMm float with subnormals (E4M3 and E5M2 per OCP FP8)."""
    defaults = {2: (1, 0), 3: (2, 0), 4: (2, 1), 5: (2, 2), 6: (3, 2), 7: (3, 3), 8: (4, 3)}
    if e is None:
        e, m = defaults[bits] if m is None else (bits - 1 - m, m)
    m = bits - 1 - e if m is None else m
    bias = 2 ** (e - 1) - 1
    vals = []
    for ef in range(2**e):
        for mf in range(2**m):
            if (e, m) == (5, 2) and ef == 31:
                continue  # inf / NaN
            if (e, m) == (4, 3) and ef == 15 and mf == 7:
                continue  # NaN
            v = mf / 2**m * 2.0 ** (1 - bias) if ef == 0 else (1 + mf / 2**m) * 2.0 ** (ef - bias)
            vals += [v, -v]
    return vals


def lns_frac_bits(bits, frac_bits=None):
    if frac_bits is not None:
        return frac_bits
    return 0 if bits <= 3 else (1 if bits == 4 else (2 if bits <= 6 else 3))


def lns_levels(bits, frac_bits=None):
    g = 2 ** lns_frac_bits(bits, frac_bits)
    return [0.0] + [s * 2.0 ** (-e / g) for e in range(2 ** (bits - 1) - 1) for s in (1, -1)]


def int_levels(bits):
    return [float(q) for q in range(-(2 ** (bits - 1)), 2 ** (bits - 1))]


def levels_for(case, bits, opts):
    """(levels, rule) for the scale-1 grid of a non-ant case; rule says how 'nearest' is measured."""
    fmt = case.split("-")[0]
    if fmt == "pot":
        return pot_levels(bits), "linear"
    if fmt == "log2":
        return log2_levels(bits), "log2"
    if fmt == "flint":
        return flint_levels(bits, opts.get("signed", True)), "linear"
    if fmt == "float":
        return float_levels(bits, opts.get("exp_bits"), opts.get("man_bits")), "linear"
    if fmt == "lns":
        return lns_levels(bits, opts.get("frac_bits")), "lns"
    if fmt == "int":
        return int_levels(bits), "linear"
    raise AssertionError(case)


def cost_table(x, scale, levels, rule, bits, opts):
    """[B, L, K] cost of each level for each x (float64); the encoder must pick a least-cost level."""
    x = x.double()[:, :, None]
    s = scale.double()[:, None, None]
    lv = levels[None, None, :]
    if rule == "linear":
        return (x - s * lv).abs()
    y = x.abs() / s
    if rule == "log2":
        # FQ-ViT: k = round(-log2 y) in the log domain; zero stands where k = K (the last code).
        big = 2.0**bits - 1
        t = torch.where(y > 0, -torch.log2(y), torch.full_like(y, 1e9))
        k = torch.where(lv > 0, -torch.log2(lv.clamp(min=1e-300)), torch.full_like(lv, big))
        return (torch.clamp(t, min=0.0) - k).abs()
    # lns: zero iff |x| is at most half the smallest level; otherwise nearest in the log domain, same sign.
    g = 2.0 ** lns_frac_bits(bits, opts.get("frac_bits"))
    smallest = 2.0 ** (-(2 ** (bits - 1) - 2) / g)
    t = -g * torch.log2(y.clamp(min=1e-300))
    e = -g * torch.log2(lv.abs().clamp(min=1e-300))
    same_sign = (lv * x) > 0
    nonzero_cost = torch.where(
        same_sign, (torch.clamp(t, min=0.0) - e).abs(), torch.full_like(t * e, math.inf)
    )
    zero = y <= smallest / 2
    return torch.where(lv == 0, torch.where(zero, 0.0, math.inf), torch.where(zero, math.inf, nonzero_cost))


def check_blocks(xb, db, scale, levels, rule, bits, opts):
    """Dequantized values lie on the grid scale * level and each is a least-cost level for its x."""
    levels = torch.tensor(levels, dtype=torch.float64)
    grid = (scale.double()[:, None] * levels[None, :]).float()
    match = db[:, :, None] == grid[:, None, :]
    assert bool(match.any(-1).all()), "dequantized value off the level grid"
    cost = cost_table(xb, scale, levels, rule, bits, opts)
    chosen = torch.where(match, cost, torch.full_like(cost, math.inf)).amin(-1)
    best = cost.amin(-1)
    tol = 1e-6 * xb.double().abs() + 1e-300 if rule == "linear" else 1e-6
    bad = ~(chosen <= best + tol)
    assert not bool(bad.any()), f"not nearest: x={xb[bad][:4].tolist()} got={db[bad][:4].tolist()}"


def check_quantization(case, fmt, opts, bits, x, gran):
    q = lowbit.quantize(x, fmt, bits, gran, **opts)
    qmin, qmax = q.code_range
    assert q.codes.dtype == torch.int64 and q.codes.shape == x.shape
    assert qmin <= int(q.codes.min()) and int(q.codes.max()) <= qmax
    assert qmax - qmin < 2**bits, "codes must pack in bits"
    deq = q.dequantize()
    assert deq.dtype == torch.float32 and deq.shape == x.shape
    xb, _ = to_blocks(x, gran)
    db, _ = to_blocks(deq, gran)
    scale = q.params["scale"]
    assert scale.dtype == torch.float32 and scale.shape == (xb.shape[0],)
    if fmt != "ant":
        check_blocks(xb, db, scale, *levels_for(case, bits, opts), bits, opts)
        return q
    kinds = q.params["type"]
    assert kinds.dtype == torch.int64 and kinds.shape == (xb.shape[0],)
    for t, name in enumerate(CANDIDATES):
        rows = kinds == t
        if bool(rows.any()):
            lv, rule = levels_for(name, bits, {})
            check_blocks(xb[rows], db[rows], scale[rows], lv, rule, bits, {})
    return q


def make_data(case, seed, shape, dist, log_mag, zero_frac):
    g = torch.Generator().manual_seed(seed)
    if dist == "normal":
        x = torch.randn(shape, generator=g)
    elif dist == "laplace":
        x = torch.log(torch.rand(shape, generator=g)) * torch.sign(torch.rand(shape, generator=g) - 0.5)
    else:
        x = torch.rand(shape, generator=g) * 2 - 1
    x = x * 10.0**log_mag
    x[torch.rand(shape, generator=g) < zero_frac] = 0.0
    x.view(-1)[0] = 10.0**log_mag  # never all equal
    if case == "log2":
        return torch.softmax(x / 10.0**log_mag * 3, dim=-1)
    if case == "log2-fit":
        return x.abs()
    return x


# ----------------------------------------------------------------------------------------------------
# Properties on random data.


@pytest.mark.parametrize("case,fmt,opts,widths", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    seed=st.integers(0, 2**31 - 1),
    rows=st.integers(1, 5),
    cols=st.sampled_from([8, 16, 24]),
    dist=st.sampled_from(["normal", "laplace", "uniform"]),
    log_mag=st.floats(-12, 12),
    zero_frac=st.sampled_from([0.0, 0.0, 0.3]),
    gran=st.sampled_from(sorted(GRANULARITIES)),
)
def test_codes_grid_and_nearest(
    case, fmt, opts, widths, data, seed, rows, cols, dist, log_mag, zero_frac, gran
):
    bits = data.draw(st.sampled_from(list(widths)))
    x = make_data(case, seed, (rows, cols), dist, log_mag, zero_frac)
    check_quantization(case, fmt, opts, bits, x, GRANULARITIES[gran])


@pytest.mark.parametrize("gran", sorted(GRANULARITIES))
@pytest.mark.parametrize("case,fmt,opts,bits", CASE_BITS, ids=[f"{c[0]}-{c[3]}" for c in CASE_BITS])
def test_every_width_and_granularity(case, fmt, opts, bits, gran):
    x = make_data(case, bits, (4, 16), "laplace", 0.0, 0.1)
    check_quantization(case, fmt, opts, bits, x, GRANULARITIES[gran])


# ----------------------------------------------------------------------------------------------------
# Values already on the grid come back exactly.


def on_grid_tensor(levels, idx, signs, s0, group):
    """s0 * levels[idx] with the largest level at the start of every group of columns (so that every
    block of every granularity used here holds it and fits its scale to s0 * max)."""
    lv = torch.tensor(levels, dtype=torch.float32)
    top = float(lv.abs().max())
    x = lv[idx]
    x[:, ::group] = signs[:, ::group] * top
    return x * s0


@pytest.mark.parametrize("case,fmt,opts,widths", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=30, deadline=None)
@given(data=st.data(), k=st.integers(-8, 8), gran=st.sampled_from(sorted(GRANULARITIES)))
def test_on_grid_roundtrip(case, fmt, opts, widths, data, k, gran):
    bits = data.draw(st.sampled_from(list(widths)))
    if fmt == "ant":
        name = data.draw(st.sampled_from(CANDIDATES))
        levels, _ = levels_for(name, bits, {})
        if name == "int":
            levels = levels[1:]  # symmetric fit: -2^(bits-1) is outside the fitted range
    else:
        levels, _ = levels_for(case, bits, opts)
    seed = data.draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    shape = (3, 16)
    idx = torch.randint(len(levels), shape, generator=gen)
    signs = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0)
    if fmt == "log2" or opts.get("signed") is False:
        signs = torch.ones(shape)
    s0 = 1.0 if opts.get("scale") == 1.0 else 2.0**k
    x = on_grid_tensor(levels, idx, signs, s0, 4)
    q = lowbit.quantize(x, fmt, bits, GRANULARITIES[gran], **opts)
    assert torch.equal(q.dequantize(), x)


# ----------------------------------------------------------------------------------------------------
# Accuracy on Gaussian data (ggml-style table).


def nrmse_data(case):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 256, generator=g)
    if case == "log2":
        return torch.softmax(2 * x, dim=-1)
    return x.abs() if case == "flint-u" else x


@pytest.mark.parametrize("case,bits", [(c, b) for c in NRMSE_MAX for b in NRMSE_MAX[c]], ids=lambda v: str(v))
def test_nrmse_gaussian(case, bits):
    fmt, opts = {c: (f, o) for c, f, o, _ in CASES}[case]
    x = nrmse_data(case)
    deq = lowbit.quantize(x, fmt, bits, **opts).dequantize()
    nrmse = float((deq - x).norm() / x.norm())
    assert nrmse <= NRMSE_MAX[case][bits], f"{case} {bits}-bit NRMSE {nrmse:.4f}"


# ----------------------------------------------------------------------------------------------------
# Format-specific facts.


def test_flint_4bit_grid_matches_ant():
    # ANT (MICRO 2022) 4-bit unsigned flint by bit pattern 0000..1111, in units of the smallest step.
    expected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 24, 32, 64]
    x = torch.tensor([float(v) for v in expected])
    q = lowbit.quantize(x, "flint", 4, signed=False)
    assert q.codes.tolist() == list(range(16))
    assert torch.equal(q.dequantize(), x)
    assert sorted(v * 64 for v in flint_levels(4, signed=False)) == expected


def test_float_known_maxima_and_fp4_grid():
    for bits, opts, top in [(8, {}, 448.0), (8, {"exp_bits": 5, "man_bits": 2}, 57344.0), (6, {}, 28.0)]:
        x = torch.tensor([top, -top, 1.0, 0.0])
        q = lowbit.quantize(x, "float", bits, **opts)
        assert float(q.params["scale"][0]) == 1.0
        assert torch.equal(q.dequantize(), x)
    fp4 = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
    q = lowbit.quantize(torch.cat([fp4, -fp4[1:]]), "float", 4)
    assert q.codes.tolist() == list(range(8)) + list(range(9, 16))
    # Ties go to the even mantissa: 2.5 lies between 2 (mantissa 0) and 3 (mantissa 1).
    assert lowbit.quantize(torch.tensor([6.0, 2.5]), "float", 4).dequantize().tolist() == [6.0, 2.0]


def test_log2_zero_code_and_saturation():
    x = torch.tensor([1.0, 0.5, 0.25, 0.2, 0.0, 2.0**-20])
    q = lowbit.quantize(x, "log2", 2)  # levels 1, 1/2, 1/4 and zero (code 3)
    assert q.codes.tolist() == [0, 1, 2, 2, 3, 3]
    assert q.dequantize().tolist() == [1.0, 0.5, 0.25, 0.25, 0.0, 0.0]
    big = lowbit.quantize(torch.tensor([3.0, 0.5]), "log2", 4)  # above scale 1.0 saturates at 1.0
    assert big.dequantize().tolist() == [1.0, 0.5]


def test_pot_codes_are_signed_and_monotone():
    x = torch.tensor([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0])
    q = lowbit.quantize(x, "pot", 3)
    assert q.code_range == (-3, 3)
    assert q.codes.tolist() == [-3, -2, -1, 0, 1, 2, 3]


def heavy_and_uniform(seed, n=8192):
    """Uniform(-1, 1), Student-t with 3 degrees of freedom and Laplace(0, 1) samples, reproducibly."""
    g = torch.Generator().manual_seed(seed)
    uniform = torch.rand(n, generator=g) * 2 - 1
    chi2 = torch.randn(3, n, generator=g).pow(2).sum(0)
    student = torch.randn(n, generator=g) / torch.sqrt(chi2 / 3)
    v = torch.rand(n, generator=g) - 0.5
    laplace = -torch.sign(v) * torch.log1p(-2 * v.abs())
    return uniform, student, laplace


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ant_picks_int_for_uniform_and_log_types_for_heavy_tails(seed):
    # Measured over 12 seeds: uniform is always int; t(3) is pot/flint at 3-4 bits, flint or float at 5,
    # float at 6-7 and float or int at 8; Laplace is pot at 3 bits, float at 4-5, int or float above.
    uniform, student, laplace = heavy_and_uniform(seed)
    for bits in range(3, 9):
        assert select_type(uniform, bits) == "int"
    for bits in (3, 4):
        assert select_type(student, bits) in ("pot", "flint")
    for bits in (5, 6, 7):
        assert select_type(student, bits) != "int"
    for bits in (3, 4, 5):
        assert select_type(laplace, bits) != "int"


def test_ant_blocks_choose_independently():
    uniform, student, _ = heavy_and_uniform(0, 1024)
    x = torch.stack([uniform, student])
    q = lowbit.quantize(x, "ant", 4, lowbit.per_channel(0))
    assert CANDIDATES[int(q.params["type"][0])] == "int"
    assert CANDIDATES[int(q.params["type"][1])] in ("pot", "flint")


@pytest.mark.parametrize("case,fmt,opts,bits", CASE_BITS, ids=[f"{c[0]}-{c[3]}" for c in CASE_BITS])
def test_codes_pack_in_bits(case, fmt, opts, bits):
    x = make_data(case, 7, (3, 16), "normal", 0.0, 0.1)
    q = lowbit.quantize(x, fmt, bits, **opts)
    unpacked = unpack_codes(q.packed(), bits, q.codes.numel())
    assert torch.equal(torch.from_numpy(unpacked.astype("int64")) + q.code_range[0], q.codes.reshape(-1))


@pytest.mark.parametrize("fmt", ["pot", "flint", "float", "lns"])
def test_observer_option_sets_the_scale(fmt):
    def half_range(blocks, **_):
        return blocks.amin(dim=1) / 2, blocks.amax(dim=1) / 2

    x = make_data("x", 3, (4, 16), "normal", 0.0, 0.0)
    full = lowbit.quantize(x, fmt, 6, lowbit.per_channel(0))
    half = lowbit.quantize(x, fmt, 6, lowbit.per_channel(0), observer=half_range)
    assert torch.allclose(half.params["scale"], full.params["scale"] / 2)
    assert "observer" not in half.options
    # Saturation: nothing comes back larger than the observed absmax.
    assert bool((half.dequantize().abs() <= x.abs().amax(dim=1, keepdim=True) / 2 * (1 + 1e-6)).all())


def test_ant_sample_weight_changes_the_fit():
    uniform, student, _ = heavy_and_uniform(1, 512)
    x = torch.where(torch.arange(512) < 256, uniform * 0.02, student)  # small uniform half + heavy tail
    w = (torch.arange(512) < 256).float()  # only the uniform half counts

    def chosen(**kw):
        return CANDIDATES[int(lowbit.quantize(x, "ant", 4, **kw).params["type"][0])]

    assert chosen() != "int"
    assert chosen(sample_weight=w) == "int"


# ----------------------------------------------------------------------------------------------------
# Bad input.


@pytest.mark.parametrize(
    "fmt,bad_bits",
    [
        ("pot", 1),
        ("pot", 9),
        ("log2", 0),
        ("log2", 9),
        ("flint", 2),
        ("flint", 9),
        ("float", 1),
        ("float", 16),
        ("lns", 1),
        ("lns", 9),
        ("ant", 2),
        ("ant", 16),
    ],
)
def test_bits_out_of_range(fmt, bad_bits):
    with pytest.raises(LowbitError, match="bits"):
        lowbit.quantize(torch.randn(8), fmt, bad_bits)


@pytest.mark.parametrize("fmt", ["pot", "log2", "flint", "float", "lns", "ant"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_rejected(fmt, bad):
    x = torch.rand(8)
    x[3] = bad
    with pytest.raises(LowbitError, match="x"):
        lowbit.quantize(x, fmt, 4)


def test_log2_rejects_negatives_and_bad_scale():
    with pytest.raises(LowbitError, match="x: expected non-negative"):
        lowbit.quantize(torch.tensor([0.5, -0.1, 0.2]), "log2", 4)
    for scale in (0.0, -1.0, math.nan, "1"):
        with pytest.raises(LowbitError, match="scale"):
            lowbit.quantize(torch.tensor([0.5, 0.1]), "log2", 4, scale=scale)


def test_bad_options():
    x = torch.randn(16)
    with pytest.raises(LowbitError, match="exp_bits"):
        lowbit.quantize(x, "float", 8, exp_bits=4, man_bits=4)
    with pytest.raises(LowbitError, match="exp_bits"):
        lowbit.quantize(x, "float", 4, exp_bits=0)
    with pytest.raises(LowbitError, match="frac_bits"):
        lowbit.quantize(x, "lns", 4, frac_bits=-1)
    with pytest.raises(LowbitError, match="bits"):
        select_type(x, 2)
    with pytest.raises(LowbitError, match="x"):
        select_type(torch.tensor([1.0, math.nan]), 4)
