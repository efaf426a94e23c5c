"""A real quick check of the evaluation: MiniLM embeddings of UCI sentences under the probe, and the speed
helpers on the real float, lowbit and ORT encoders (short sequences; time is never asserted)."""

import numpy as np
import pytest
import torch

import lowbit
from lowbit.bench.ort_bert import OrtEncoder
from lowbit.data.sentiment import load_sentences
from lowbit.eval.probe import embed_all, mean_cosine, probe_accuracy
from lowbit.eval.speed import latency_ms, throughput
from lowbit.models.minilm import load_minilm, tokenize


@pytest.fixture(scope="module")
def sentences():
    texts, labels, origin = load_sentences()
    pick = np.concatenate([np.flatnonzero(np.array(origin) == s)[:100] for s in ("amazon", "imdb", "yelp")])
    return [texts[i] for i in pick], np.array(labels)[pick]


def test_probe_on_real_sentences(sentences):
    texts, y = sentences
    ids, mask = tokenize(texts)
    fp32 = load_minilm()
    ref = embed_all(fp32, ids, mask)
    emb = embed_all(lowbit.quantize(fp32, "dynamic-int8"), ids, mask)
    res = probe_accuracy({"fp32": ref, "dynamic-int8": emb}, y)
    assert res["fp32"]["accuracy"] > 0.75
    assert abs(res["dynamic-int8"]["delta"]) < 0.05
    assert mean_cosine(ref, emb) > 0.95


def test_speed_helpers_on_real_encoders(tmp_path):
    fp32 = load_minilm()
    models = {
        "fp32": fp32,
        "dynamic-int8": lowbit.quantize(fp32, "dynamic-int8"),
        "ort-int8": OrtEncoder.from_model(fp32, "qint8", directory=tmp_path),
    }
    for model in models.values():
        assert latency_ms(model, threads=1, tokens=8, repeats=1) > 0
        assert throughput(model, threads=2, batch=2, tokens=8, repeats=1) > 0
    assert torch.get_num_threads() == 1  # restored (conftest runs tests on one thread)
