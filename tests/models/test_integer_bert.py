"""The integer-only MiniLM (recipe int8-integer-only): integer-only by construction, close to float,
saved and loaded exactly, with clear errors for what it cannot do."""

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import lowbit
from lowbit import _C, LowbitError
from lowbit.data.sentiment import load_sentences
from lowbit.models.minilm import load_minilm, tokenize
from lowbit.nn.int_bert import module_by_module

INTEGER = {torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool}


@pytest.fixture(scope="module")
def sentences():
    texts = load_sentences()[0]
    pick = np.random.default_rng(7).choice(len(texts), 96, replace=False)
    return [texts[i] for i in pick]


@pytest.fixture(scope="module")
def qmodel(sentences):
    return lowbit.quantize(load_minilm(), "int8-integer-only", calibration_data=sentences[:48])


class RecordOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        tensors = [t for t in tree_flatten((args, kwargs, out))[0] if isinstance(t, torch.Tensor)]
        self.ops.append((str(func), {t.dtype for t in tensors}))
        return out


def test_integer_forward_runs_no_float_op(qmodel, sentences, monkeypatch):
    """Between the input quantization and the output dequantization, every torch op sees only integer
    tensors and every C++ kernel receives only integer arrays."""
    kernels = []
    names = {"gemm", "attention_ibert", "ibert_gelu_requant", "ibert_layernorm", "residual_add"}
    for name in names:
        real = getattr(_C, name)

        def spy(*args, _real=real, _name=name, **kw):
            arrays = [a for a in list(args) + list(kw.values()) if isinstance(a, np.ndarray) and a.size]
            kernels.append((_name, {a.dtype for a in arrays}))
            return _real(*args, **kw)

        monkeypatch.setattr(_C, name, spy)
    ids, mask = tokenize(sentences[:3])
    enc = qmodel.module
    codes = enc.quantize_input(ids)
    enc.use_plan = False  # module by module: every kernel call is seen
    try:
        with torch.inference_mode(), RecordOps() as rec:
            out = enc.integer_forward(codes, mask)
    finally:
        enc.use_plan = True
    assert out.dtype == torch.int8
    float_ops = [(op, dt) for op, dt in rec.ops if not dt <= INTEGER]
    assert rec.ops and not float_ops, float_ops[:5]
    assert {k for k, _ in kernels} == names
    float_kernels = [(k, d) for k, d in kernels if any(x.kind == "f" for x in d)]
    assert not float_kernels, float_kernels[:3]
    assert len([k for k, _ in kernels if k == "gemm"]) == 4 * len(enc.layers)


def test_plan_is_integer_only_and_equals_the_modules(qmodel, sentences, monkeypatch):
    """The one-call C++ plan is built from integer arrays only, runs on integer arrays only, and gives the
    modules' integers exactly (padding included: sentences of different lengths)."""
    enc = qmodel.module
    ids, mask = tokenize(sentences[3:11])
    codes = enc.quantize_input(ids)
    enc.use_plan = False
    try:
        expected = enc.integer_forward(codes, mask)
    finally:
        enc.use_plan = True
    calls = []
    for name in [n for n in dir(_C) if n.startswith("int_bert_plan")]:
        real = getattr(_C, name)

        def spy(*args, _real=real, _name=name, **kw):
            arrays = [a for a in list(args) + list(kw.values()) if isinstance(a, np.ndarray) and a.size]
            calls.append((_name, {a.dtype.kind for a in arrays}))
            return _real(*args, **kw)

        monkeypatch.setattr(_C, name, spy)
    enc._plan = None  # rebuilt under the spies
    with torch.inference_mode(), RecordOps() as rec:
        got = enc.integer_forward(codes, mask)
    assert torch.equal(got, expected)
    assert {n for n, _ in calls} >= {"int_bert_plan", "int_bert_plan_linear", "int_bert_plan_run"}
    assert not [c for c in calls if "f" in c[1]], calls[:5]
    assert not [(op, dt) for op, dt in rec.ops if not dt <= INTEGER]


def test_plan_refuses_bad_input(qmodel):
    enc = qmodel.module
    plan = enc.plan()
    codes = np.zeros((1, 4, 384), np.int16)
    bias = np.zeros((1, 4), np.int32)
    out = np.empty((1, 4, 384), np.int8)
    with pytest.raises(LowbitError, match="codes: expected int16"):
        _C.int_bert_plan_run(plan, np.zeros((1, 4, 383), np.int16), bias, out)
    with pytest.raises(LowbitError, match="codes: expected codes in"):
        _C.int_bert_plan_run(plan, np.full((1, 4, 384), -32768, np.int16), bias, out)
    with pytest.raises(LowbitError, match="key_bias"):
        _C.int_bert_plan_run(plan, codes, np.zeros((1, 5), np.int32), out)
    with pytest.raises(LowbitError, match="out: expected"):
        _C.int_bert_plan_run(plan, codes, bias, np.empty((1, 4, 384), np.int16))
    empty = _C.int_bert_plan(384, 1536, 12, 1)
    with pytest.raises(LowbitError, match="embeddings LayerNorm"):
        _C.int_bert_plan_run(empty, codes, bias, out)
    norm = enc.embeddings_norm._consts
    _C.int_bert_plan_norm(empty, -1, 0, *norm)
    with pytest.raises(LowbitError, match="layer 0 is incomplete"):
        _C.int_bert_plan_run(empty, codes, bias, out)
    with pytest.raises(LowbitError, match="layer"):
        _C.int_bert_plan_norm(empty, 1, 1, *norm)
    qkv = enc.layers[0].attention.qkv
    with pytest.raises(LowbitError, match="name"):
        _C.int_bert_plan_linear(empty, 0, "query", 0, *qkv._packed_args[:7], 0, -127, 127, *qkv._segment_args)
    lin = enc.layers[0].intermediate
    data, colsum, n, k, bias_, m0, shift, *_ = lin._packed_args
    with pytest.raises(LowbitError, match="n: expected 384"):
        _C.int_bert_plan_linear(empty, 0, "output", 0, data, colsum, n, k, bias_, m0, shift, 0, -32767, 32767,
                                *lin._segment_args)  # fmt: skip


def test_close_to_float_on_real_sentences(qmodel, sentences):
    ids, mask = tokenize(sentences[48:])
    with torch.inference_mode():
        ref = load_minilm().embed(ids, mask)
        got = qmodel.embed(ids, mask)
    cos = (ref * got).sum(1)
    assert cos.mean() > 0.993 and cos.min() > 0.95, (cos.mean(), cos.min())


def test_save_load_round_trip_and_size(qmodel, sentences, tmp_path):
    path = tmp_path / "minilm-int8-integer-only.safetensors"
    lowbit.save(qmodel, path)
    back = lowbit.load(path)
    assert back.recipe == qmodel.recipe
    ids, mask = tokenize(sentences[:4])
    with torch.inference_mode():
        assert torch.equal(qmodel(ids, mask), back(ids, mask))
    float_bytes = 4 * sum(p.numel() for p in load_minilm().parameters())
    assert path.stat().st_size <= 0.3 * float_bytes


def test_corrupt_or_mismatched_file_is_refused(qmodel, tmp_path):
    path = tmp_path / "q.safetensors"
    lowbit.save(qmodel, path)
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(LowbitError, match="path"):
        lowbit.load(tmp_path / "cut.safetensors")
    dyn = lowbit.quantize(load_minilm(), "dynamic-int8")
    lowbit.save(dyn, tmp_path / "dyn.safetensors")
    from safetensors.torch import load_file, save_file

    state = load_file(str(tmp_path / "dyn.safetensors"))
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    save_file(state, str(tmp_path / "mixed.safetensors"), metadata=meta)  # integer header, dynamic tensors
    with pytest.raises(LowbitError, match="mismatch"):
        lowbit.load(tmp_path / "mixed.safetensors")


def test_bad_input_errors(sentences):
    model = load_minilm()
    with pytest.raises(LowbitError, match="calibration_data"):
        lowbit.quantize(model, "int8-integer-only", calibration_data=[])
    with pytest.raises(LowbitError, match="calibration_data"):
        lowbit.quantize(model, "int8-integer-only")
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(4, 4))
    with pytest.raises(LowbitError, match=r"0 \(Conv2d\)"):
        lowbit.quantize(conv, "int8-integer-only", calibration_data=sentences[:2])
    with pytest.raises(LowbitError, match="recipe: expected one of"):
        lowbit.quantize(model, "int8-everything", calibration_data=sentences[:2])


def test_too_long_sequence_is_refused(qmodel):
    ids = torch.ones(1, qmodel.module.cfg.max_position_embeddings + 1, dtype=torch.int64)
    with pytest.raises(LowbitError, match="input_ids"):
        qmodel(ids, torch.ones_like(ids))


STATIC = ["int8-shift", "int8-lut", "w8a8-fq", "w4a8-octav"]
MIN_COSINE = {"int8-shift": 0.985, "int8-lut": 0.99, "w8a8-fq": 0.97, "w4a8-octav": 0.9}


@pytest.mark.parametrize("recipe", STATIC)
def test_other_static_recipes_are_integer_close_and_round_trip(recipe, sentences, tmp_path, monkeypatch):
    q = lowbit.quantize(load_minilm(), recipe, calibration_data=sentences[:32])
    ids, mask = tokenize(sentences[32:40])
    enc = q.module
    codes = enc.quantize_input(ids)
    kernels = []
    for name in [n for n in dir(_C) if not n.startswith("_") and callable(getattr(_C, n))]:
        real = getattr(_C, name)

        def spy(*args, _real=real, _name=name, **kw):
            arrays = [a for a in list(args) + list(kw.values()) if isinstance(a, np.ndarray) and a.size]
            kernels.append((_name, {a.dtype.kind for a in arrays}))
            return _real(*args, **kw)

        monkeypatch.setattr(_C, name, spy)
    with torch.inference_mode(), RecordOps() as rec:
        out = enc.integer_forward(codes, mask)
    float_ops = [(op, dt) for op, dt in rec.ops if not dt <= INTEGER]
    assert out.dtype == torch.int8 and not float_ops, float_ops[:5]
    assert kernels and not [k for k in kernels if "f" in k[1]], kernels[:5]
    assert enc.plan() is not None
    with module_by_module(enc):
        assert torch.equal(enc.integer_forward(codes, mask), out)
    with torch.inference_mode():
        cos = (load_minilm().embed(ids, mask) * q.embed(ids, mask)).sum(1)
    assert cos.mean() > MIN_COSINE[recipe], cos
    lowbit.save(q, tmp_path / "m.safetensors")
    with torch.inference_mode():
        assert torch.equal(lowbit.load(tmp_path / "m.safetensors")(ids, mask), q(ids, mask))


def test_layer_report_names_every_layernorm(qmodel, sentences):
    from lowbit.eval.layers import layer_report

    ids, mask = tokenize(sentences[48:64])
    rows = layer_report(load_minilm(), qmodel, ids, mask)
    names = [r["layer"] for r in rows]
    assert names[:3] == ["embeddings_norm", "layers.0.attention_norm", "layers.0.output_norm"]
    assert len(rows) == 1 + 2 * len(qmodel.module.layers)
    assert all(0.98 < r["cosine"] <= 1.0 + 1e-6 and 0 < r["rel_rms"] < 0.2 for r in rows), rows
    assert rows[-1]["cosine"] < rows[0]["cosine"]  # error accumulates with depth


def test_fused_gelu_requant_equals_gelu_then_requantize(qmodel):
    from lowbit.nn.int_nonlinear import _ibert_gelu
    from lowbit.ops.requant import requantize

    gelu = qmodel.module.layers[0].gelu
    x = torch.from_numpy(
        np.random.default_rng(3).integers(-32767, 32768, (5, gelu.features)).astype(np.int16)
    )
    g, _ = _ibert_gelu(x.numpy(), gelu._in_scale)
    want = requantize(g, gelu._m0, gelu._shift, gelu._zp, out_dtype=np.uint8)
    np.testing.assert_array_equal(gelu(x).numpy(), want)


@pytest.mark.parametrize("tokens", [1, 3, 67, 130])
def test_plan_equals_modules_at_awkward_lengths(qmodel, tokens):
    """Token counts that are not multiples of the attention kernel's 4-token steps, 12-row blocks or
    64-key chunks, with a padded sequence beside a full one."""
    enc = qmodel.module
    ids = torch.randint(1000, 20000, (2, tokens))
    mask = torch.ones(2, tokens, dtype=torch.long)
    mask[1, tokens // 2 + 1 :] = 0
    codes = enc.quantize_input(ids)
    with module_by_module(enc):
        expected = enc.integer_forward(codes, mask)
    assert torch.equal(enc.integer_forward(codes, mask), expected)
