"""`lowbit bench gemm --threads N`: lowbit at 1 thread is timed in the same rounds as everything else, so the
thread scaling it prints is a ratio from one run (the peers are replaced here: only the wiring is tested)."""

import json

import pytest

from lowbit.bench import gemm as bench


@pytest.fixture
def fake_run(monkeypatch):
    timed: list[list[str]] = []

    def fake_seconds(fns, repeats, pause):
        timed.append(list(fns))
        for fn in fns.values():
            fn()  # the real calls, on a tiny shape
        return {name: (0.5 if name == "lowbit" else 1.0) for name in fns}

    monkeypatch.setattr(bench, "QUICK", [(2, 64, 48)])
    monkeypatch.setattr(bench, "int8_peak_gops", lambda threads: None)
    monkeypatch.setattr(bench, "numpy_fp32_ms", lambda shapes, threads, repeats: ([1.0] * len(shapes), []))
    monkeypatch.setattr(bench, "torch_peers", lambda a, w, threads: {"torch-fp32": lambda: None})
    monkeypatch.setattr(bench, "ort_peer", lambda a, w, threads: None)
    monkeypatch.setattr(bench, "interleaved_median_seconds", fake_seconds)
    return timed


def test_two_threads_time_the_one_thread_baseline_in_the_same_rounds(fake_run, capsys):
    assert bench.run(quick=True, as_json=True, threads=2) == 0
    assert fake_run == [["lowbit", bench._ONE, "torch-fp32"]]
    rows = json.loads(capsys.readouterr().out)["rows"]
    lowbit = {r["threads"]: r for r in rows if r["impl"] == "lowbit"}
    assert set(lowbit) == {1, 2} and lowbit[2]["ms"] == 500.0 and lowbit[1]["ms"] == 1000.0
    assert bench.run(quick=True, threads=2) == 0
    assert "lowbit 2 threads / 1 thread (same rounds): 2.00x" in capsys.readouterr().out


def test_one_thread_has_no_extra_row(fake_run, capsys):
    assert bench.run(quick=True, as_json=True, threads=1) == 0
    assert fake_run == [["lowbit", "torch-fp32"]]
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["threads"] for r in rows if r["impl"] == "lowbit"] == [1]
