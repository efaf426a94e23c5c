"""ONNX Runtime peers of the MiniLM encoder: the exported float graph matches the torch encoder, ORT's
int8 quantization of it stays close, and the export is cached by a hash of the weights."""

import pytest
import torch

from lowbit import LowbitError
from lowbit.bench.ort_bert import DEFAULT_OPTIMIZATION, OrtEncoder, export_onnx, weights_hash
from lowbit.eval.probe import mean_cosine
from lowbit.models.minilm import load_minilm, tokenize

SENTENCES = [
    "The battery lasts all day and the screen is bright.",
    "Terrible service, we waited an hour.",
    "ok",
    "I would not recommend this movie to anyone who values their time.",
]


@pytest.fixture(scope="module")
def model():
    return load_minilm()


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


def test_fp32_graph_matches_the_torch_encoder(model, onnx_dir):
    ort = OrtEncoder.from_model(model, None, directory=onnx_dir)
    ids, mask = tokenize(SENTENCES)  # padded, 4 x T: dynamic batch and length
    with torch.inference_mode():
        ref = model(ids, mask)
        ref_emb = model.embed(ids, mask)
    out = ort(ids, mask)
    assert out.shape == ref.shape and out.dtype == torch.float32
    assert float((out - ref).abs().max()) < 1e-4
    assert float((ort.embed(ids, mask) - ref_emb).abs().max()) < 1e-5
    one_ids, one_mask = tokenize(["a different batch and length"])
    with torch.inference_mode():
        assert torch.allclose(ort(one_ids, one_mask), model(one_ids, one_mask), atol=1e-4)


@pytest.mark.parametrize("weight_type", ["qint8", "quint8"])
def test_int8_graph_stays_close(model, onnx_dir, weight_type):
    ort = OrtEncoder.from_model(model, weight_type, directory=onnx_dir)
    assert ort.optimization == DEFAULT_OPTIMIZATION[weight_type]
    ids, mask = tokenize(SENTENCES)
    with torch.inference_mode():
        ref = model.embed(ids, mask)
    assert mean_cosine(ort.embed(ids, mask), ref) > 0.9
    fp32 = export_onnx(model, None, onnx_dir)
    assert ort.model_bytes() < 0.5 * fp32.stat().st_size


def test_export_is_cached_by_weights(model, onnx_dir):
    path = export_onnx(model, None, onnx_dir)
    mtime = path.stat().st_mtime_ns
    assert export_onnx(model, None, onnx_dir) == path and path.stat().st_mtime_ns == mtime
    other = load_minilm()
    with torch.no_grad():
        other.layers[0].output.bias[0] += 1.0
    assert weights_hash(other) != weights_hash(model)


def test_threads_and_bad_input(model, onnx_dir):
    ort = OrtEncoder.from_model(model, None, threads=1, directory=onnx_dir)
    two = ort.with_threads(2)
    assert two.threads == 2 and two.path == ort.path and ort.with_threads(1) is ort
    with pytest.raises(LowbitError, match="weight_type"):
        export_onnx(model, "int4", onnx_dir)
    with pytest.raises(LowbitError, match="model"):
        export_onnx(torch.nn.Linear(4, 4), None, onnx_dir)
    with pytest.raises(LowbitError, match="optimization"):
        OrtEncoder(ort.path, optimization="max")
    with pytest.raises(LowbitError, match="threads"):
        OrtEncoder(ort.path, threads=0)
    bad = onnx_dir / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(LowbitError, match="path"):
        OrtEncoder(bad)
