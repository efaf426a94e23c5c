"""The packaged MiniLM loads and matches an independent reference (HF transformers' BertModel, whose
outputs for four sentences were saved in tests/fixtures/minilm_reference.json)."""

import json
from pathlib import Path

import pytest
import torch

from lowbit import LowbitError
from lowbit.models.minilm import load_minilm, tokenize

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "minilm_reference.json").read_text())


def test_embeddings_match_reference():
    ids, mask = tokenize(FIXTURE["sentences"])
    with torch.inference_mode():
        emb = load_minilm().embed(ids, mask)
    ref = torch.tensor(FIXTURE["embeddings"])
    assert emb.shape == ref.shape == (4, 384)
    assert float((emb - ref).abs().max()) <= 1e-5


def test_padding_does_not_change_a_sentence():
    model = load_minilm()
    short = "ok"
    ids1, m1 = tokenize([short])
    ids2, m2 = tokenize([short, "a much longer sentence that forces padding of the short one"])
    with torch.inference_mode():
        assert torch.allclose(model.embed(ids1, m1)[0], model.embed(ids2, m2)[0], atol=1e-5)


def test_bad_input():
    with pytest.raises(LowbitError, match="sentences"):
        tokenize([])
    with pytest.raises(LowbitError, match="input_ids"):
        load_minilm()(torch.zeros(1, 600, dtype=torch.int64), torch.ones(1, 600, dtype=torch.int64))
