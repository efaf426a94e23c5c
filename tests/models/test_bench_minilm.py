"""`lowbit bench minilm`: every peer and every implemented lowbit recipe gets a latency and a throughput
row (run here on tiny shapes: the shapes are module constants; time is never asserted)."""

import json

import pytest
import torch

import lowbit
from lowbit.bench import minilm
from lowbit.cli import main
from lowbit.recipes import Recipe

PEERS = {"fp32", "torch-dynamic-int8", "ort-fp32", "ort-int8", "ort-int8-u8"}


@pytest.fixture
def tiny(monkeypatch, tmp_path_factory):
    monkeypatch.setattr(minilm, "TOKENS", 8)
    monkeypatch.setattr(minilm, "THROUGHPUT_BATCH", 2)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg"))


def test_cli_json_rows_cover_peers_and_recipes(tiny, capsys):
    assert main(["bench", "minilm", "--quick", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    implemented = {n for n, r in lowbit.RECIPES.items() if r.implemented}
    assert {r["impl"] for r in out["rows"]} == PEERS | implemented
    lat = [r for r in out["rows"] if "latency_ms" in r]
    tp = [r for r in out["rows"] if "throughput" in r]
    assert len(lat) == len(tp) == len(PEERS | implemented)
    assert all(r["batch"] == 1 and r["tokens"] == 8 and r["threads"] == 1 for r in lat)
    assert all(r["latency_ms"] > 0 for r in lat)
    assert all(r["batch"] == 2 and r["throughput"] > 0 for r in tp)
    assert "qint8" in out["impls"]["ort-int8"] and "quint8" in out["impls"]["ort-int8-u8"]


def test_table_and_ratios():
    rows = [
        {"impl": "fp32", "threads": 1, "latency_ms": 30.0},
        {"impl": "fp32", "threads": 1, "throughput": 30.0},
        {"impl": "ort-int8", "threads": 1, "latency_ms": 10.0},
        {"impl": "ort-int8", "threads": 1, "throughput": 100.0},
        {"impl": "x", "threads": 1, "latency_ms": 5.0},
        {"impl": "x", "threads": 1, "throughput": 200.0},
    ]
    text = minilm.table(rows)
    assert "| x | 1 | 5.0 | 200.0 | 6.00x | 2.00x | 2.00x |" in text
    assert "| fp32 | 1 | 30.0 | 30.0 | 1.00x | 0.33x | 0.30x |" in text


def test_static_recipes_get_calibration_data(monkeypatch, tiny):
    monkeypatch.setitem(lowbit.RECIPES, "fake-static", Recipe("fake-static", "test", activations="static",
                                                              implemented=True))  # fmt: skip
    seen = {}
    real = lowbit.quantize

    def spy(x, *args, **kw):
        if not isinstance(x, torch.nn.Module):
            return real(x, *args, **kw)  # the tensors inside lowbit's own modules
        recipe = args[0]
        seen[recipe] = kw
        if recipe == "fake-static":
            raise lowbit.LowbitError("recipe: no converter for 'fake-static'")
        return real(x, *args, **kw)

    monkeypatch.setattr(lowbit, "quantize", spy)
    logged = []
    impls, notes = minilm.build_impls(log=logged.append)
    ids, mask = seen["fake-static"]["calibration_data"]
    assert ids.shape[0] == minilm.CALIBRATION_SENTENCES and ids.shape == mask.shape
    assert seen["dynamic-int8"] == {}
    assert "fake-static" not in impls and "fake-static" in logged[0]
    assert PEERS <= set(impls) and set(impls) == set(notes)
    assert isinstance(impls["dynamic-int8"], lowbit.QuantizedModel)
    assert isinstance(impls["fp32"], torch.nn.Module)


@pytest.mark.parametrize(
    "argv", [["bench", "minilm", "--threads", "0"], ["bench", "minilm", "--threads", "a,b"],
             ["bench", "gemm", "--threads", "1,2"]]
)  # fmt: skip
def test_bad_threads(argv, capsys):
    assert main(argv) == 2
    assert "--threads" in capsys.readouterr().err
