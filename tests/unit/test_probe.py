"""`lowbit probe`: results are positive, ordered as a memory hierarchy must be, cached and reloaded."""

import json

import pytest

from lowbit import _C, LowbitError
from lowbit.roofline import ceiling, gemm_cost
from lowbit.roofline.probe import cache_sizes, limits, probe


def test_cache_sizes_from_the_os():
    sizes = cache_sizes()
    assert sizes.get("L1", 0) > 0 and sizes.get("L2", 0) > sizes["L1"]


def test_probe_is_sane_cached_and_usable(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    r = probe(quick=True)
    assert 0.3 < r["clock_ghz"] < 10
    bw = r["bw_gbps"]
    assert all(v > 0 for v in bw.values())
    # a hierarchy: each level at least as fast as the next (with slack for a noisy shared machine)
    assert bw["L1"] > bw["L2"] * 0.9 and bw["L2"] > bw["DRAM"] and bw["L3"] > bw["DRAM"]
    assert r["fp32_gflops"] > 0 and r["all_cores"]["threads"] >= 1
    if "popcount_binmac_gops" in r:  # the accumulating loop runs wherever the plain one does
        assert r["popcount_add_binmac_gops"] > 0
    cached = list((tmp_path / "lowbit").glob("probe-*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text()) == r
    assert probe(quick=True) == r  # reloaded, not re-measured
    lim = limits(r)
    assert ceiling(gemm_cost(1024, 1024, 1024, lim, a_bytes=4, w_bytes=4, kind="fp32"), lim).gops > 0


def test_bad_probe_arguments():
    with pytest.raises(LowbitError, match="which"):
        _C.probe_compute_seconds("warp-drive", 10)
    with pytest.raises(LowbitError, match="bytes"):
        _C.probe_read_seconds(100, 1)
