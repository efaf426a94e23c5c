"""`lowbit profile`: every kernel module of the integer-only MiniLM appears with the roofline's ops and
bytes, the glue is what the kernels leave of the forward time; no assertion on time itself."""

import json

import pytest

from lowbit.cli import main
from lowbit.nn.int_linear import IntLinear
from lowbit.nn.int_nonlinear import IntGelu, IntLayerNorm
from lowbit.roofline import Limits, gemm_cost
from lowbit.roofline.model import INT_OPS_PER_ELEMENT, batched_gemm_cost
from lowbit.roofline.profile import _inputs, by_kind, by_layer, load_model, profile

LIMITS = Limits(
    peak_gops={"int8": 460.0, "fp32": 115.0, "int32": 115.0},
    bandwidth_gbps={"L1": 200.0, "L2": 110.0, "L3": 90.0, "DRAM": 20.0},
    cache_bytes={"L1": 32 << 10, "L2": 1 << 20, "L3": 32 << 20},
)
T = 16


@pytest.fixture(scope="module")
def integer_rows():
    qmodel = load_model("int8-integer-only")
    ids, mask = _inputs(T, 1)
    assert ids.shape == (1, T) and bool(mask.all())
    return qmodel, profile(qmodel, ids, mask, LIMITS, repeats=1)


def test_every_kernel_module_appears(integer_rows):
    qmodel, rows = integer_rows
    total = rows[-1]
    assert total["kind"] == "total" and total["ms"] > 0
    by = {(r["module"], r["op"]): r for r in rows[:-1]}
    for path, m in qmodel.module.named_modules():
        if isinstance(m, IntLinear):
            assert (path, "gemm") in by, path
        if isinstance(m, IntLayerNorm):
            assert (path, "ibert_layernorm") in by, path
        if isinstance(m, IntGelu):
            assert (path, "ibert_gelu_requant") in by, path
    for i in range(qmodel.module.cfg.num_hidden_layers):
        att = [r for r in rows if r["module"] == f"layers.{i}.attention"]
        assert [(r["op"], r["calls"]) for r in att if r["op"] != "glue"] == [("attention_ibert", 1)]
        assert (f"layers.{i}", "residual_add") in by
    kinds = {r["kind"] for r in rows}
    assert {"linear GEMM", "attention (fused)", "residual", "GELU", "LayerNorm", "glue", "total"} <= kinds
    for r in rows[:-1]:
        assert r["ms"] >= 0 and r["why"]
        if r["kind"] != "glue":
            assert r["ops"] > 0 and r["ceiling_gops"] > 0
            assert r["bound"] in ("compute", "L1", "L2", "L3", "DRAM")
    # rows slowest first; kernels + glue = the forward
    ms = [r["ms"] for r in rows[:-1]]
    assert ms == sorted(ms, reverse=True)
    assert total["kernel_ms"] + total["glue_ms"] == pytest.approx(total["ms"])
    shares = by_kind(rows)
    assert shares["glue"] == pytest.approx(total["glue_share"])
    assert set(by_layer(rows)) >= {f"layers.{i}" for i in range(6)}


def test_ops_and_bytes_come_from_the_roofline_model(integer_rows):
    qmodel, rows = integer_rows
    h, f, heads = 384, 1536, 12
    d = h // heads
    row = next(r for r in rows if r["module"] == "layers.0.intermediate" and r["op"] == "gemm")
    assert row["shape"] == f"{T}x{h}x{f}" and row["ops"] == 2 * T * h * f
    assert row["bytes"] == gemm_cost(T, h, f, LIMITS).bytes
    qkv = next(r for r in rows if r["module"] == "layers.0.attention.qkv" and r["op"] == "gemm")
    assert qkv["ops"] == 2 * T * h * 3 * h
    att = next(r for r in rows if r["module"] == "layers.0.attention" and r["op"] == "attention_ibert")
    assert att["shape"] == f"{heads}x({T}x{d}x{T})x2"
    assert att["ops"] == 2 * heads * 2 * T * d * T  # q k^T and p v
    assert att["bytes"] == batched_gemm_cost(2 * heads, T, d, T, LIMITS, out_bytes=1).bytes
    gelu = next(r for r in rows if r["module"] == "layers.0.gelu" and r["op"] == "ibert_gelu_requant")
    assert gelu["ops"] == T * f * (INT_OPS_PER_ELEMENT["gelu"] + INT_OPS_PER_ELEMENT["requantize"])
    assert gelu["bytes"]["L1"] == T * f * (2 + 1)  # int16 in, uint8 out
    res = next(r for r in rows if r["module"] == "layers.0" and r["op"] == "residual_add")
    assert res["calls"] == 2 and res["ops"] == 2 * T * h * 5  # after attention and after the FFN
    ln = next(r for r in rows if r["module"] == "layers.0.output_norm" and r["op"] == "ibert_layernorm")
    assert ln["ops"] == T * h * INT_OPS_PER_ELEMENT["layernorm"] and ln["kind"] == "LayerNorm"
    assert ln["bytes"]["L1"] == T * h * (3 * 2 + 1)


def test_profiling_leaves_the_model_unchanged(integer_rows):
    from lowbit import _C

    qmodel, _ = integer_rows
    assert _C.gemm.__module__ != __name__ and not hasattr(_C.gemm, "__wrapped__")
    assert type(_C.gemm).__name__ != "function"  # the nanobind function is back, not the timing wrapper
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in qmodel.modules())


def test_dynamic_model_and_cli_json(capsys):
    qmodel = load_model("dynamic-int8")
    ids, mask = _inputs(8, 2)
    rows = profile(qmodel, ids, mask, LIMITS, repeats=1)
    kinds = {r["kind"] for r in rows}
    assert {"linear GEMM", "act quantize", "LayerNorm", "GELU", "softmax", "glue"} <= kinds
    assert main(["profile", "--tokens", "8", "--repeats", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rows"][-1]["kind"] == "total" and "glue" in data["by_kind"]
    assert main(["profile", "--recipe", "no-such-recipe"]) == 2
    assert main(["profile", "--tokens", "0"]) == 2
