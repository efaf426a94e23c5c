"""A plain BERT encoder (float32) that loads a HuggingFace-layout state dict: no `transformers` needed.

It is the float reference that quantized models are compared with, and the skeleton whose Linear,
LayerNorm, GELU and softmax lowbit's quantized modules replace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from lowbit.errors import LowbitError


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @staticmethod
    def from_json(d: dict) -> BertConfig:
        return BertConfig(**{k: d[k] for k in BertConfig.__dataclass_fields__ if k in d})


class SelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        h = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        probs = self.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask_bias)
        return (probs @ v).transpose(1, 2).reshape(b, t, h)


class Layer(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        h, eps = cfg.hidden_size, cfg.layer_norm_eps
        self.attention = SelfAttention(cfg)
        self.attention_output = nn.Linear(h, h)
        self.attention_norm = nn.LayerNorm(h, eps=eps)
        self.intermediate = nn.Linear(h, cfg.intermediate_size)
        self.gelu = nn.GELU()
        self.output = nn.Linear(cfg.intermediate_size, h)
        self.output_norm = nn.LayerNorm(h, eps=eps)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        x = self.attention_norm(x + self.attention_output(self.attention(x, mask_bias)))
        return self.output_norm(x + self.output(self.gelu(self.intermediate(x))))


class BertEncoder(nn.Module):
    """Token ids -> hidden states [batch, tokens, hidden]; ``embed`` adds mean pooling + L2 norm."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden_size
        self.word_embeddings = nn.Embedding(cfg.vocab_size, h)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, h)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, h)
        self.embeddings_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        if t > self.cfg.max_position_embeddings:
            raise LowbitError(
                f"input_ids: expected at most {self.cfg.max_position_embeddings} tokens, got {t}"
            )
        pos = torch.arange(t, device=input_ids.device)
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(pos)
            + self.token_type_embeddings.weight[0]
        )
        x = self.embeddings_norm(x)
        # padding keys get a large negative bias, as HF BERT does
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentence embeddings: mean over real tokens, then L2-normalised (sentence-transformers)."""
        return mean_pool(self(input_ids, attention_mask), attention_mask)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Sentence embeddings from hidden states: mean over real tokens, then L2-normalised."""
    m = attention_mask[..., None].to(hidden.dtype)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return F.normalize(pooled, p=2, dim=1)


# HF key fragment -> our module path (per layer keys get "layers.{i}." prefixed)
_LAYER_KEYS = {
    "attention.self.query": "attention.query",
    "attention.self.key": "attention.key",
    "attention.self.value": "attention.value",
    "attention.output.dense": "attention_output",
    "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "intermediate",
    "output.dense": "output",
    "output.LayerNorm": "output_norm",
}
_TOP_KEYS = {
    "embeddings.word_embeddings": "word_embeddings",
    "embeddings.position_embeddings": "position_embeddings",
    "embeddings.token_type_embeddings": "token_type_embeddings",
    "embeddings.LayerNorm": "embeddings_norm",
}


def convert_hf_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """HuggingFace BertModel keys -> BertEncoder keys (pooler and position_ids dropped)."""
    out = {}
    for key, value in sd.items():
        key = key.removeprefix("bert.")
        stem, _, leaf = key.rpartition(".")
        if stem in _TOP_KEYS:
            out[f"{_TOP_KEYS[stem]}.{leaf}"] = value
        elif stem.startswith("encoder.layer."):
            idx, _, rest = stem.removeprefix("encoder.layer.").partition(".")
            if rest not in _LAYER_KEYS:
                raise LowbitError(f"state_dict: unexpected key {key!r}")
            out[f"layers.{idx}.{_LAYER_KEYS[rest]}.{leaf}"] = value
    return out
