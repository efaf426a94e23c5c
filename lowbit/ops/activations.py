"""Real activations of the packaged float MiniLM on real sentences, for the integer-op error reports.

Captured by forward hooks: attention scores (softmax inputs, one [heads, L, L] block per sentence and
layer, padding removed), GELU inputs (intermediate pre-activations of real tokens) and LayerNorm inputs
(with that LayerNorm's weight, bias and eps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class MiniLMActivations:
    scores: list[np.ndarray] = field(default_factory=list)  # [heads, L, L] float32
    gelu_in: list[np.ndarray] = field(default_factory=list)  # [tokens, 1536]
    layernorm: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = field(default_factory=list)


def capture_minilm(n_sentences: int = 32, seed: int = 0) -> MiniLMActivations:
    """Run the float MiniLM on ``n_sentences`` sentences of load_sentences() (a fixed random pick)."""
    from lowbit.data.sentiment import load_sentences
    from lowbit.models.minilm import load_minilm, tokenize

    texts = load_sentences()[0]
    pick = np.random.default_rng(seed).choice(len(texts), size=n_sentences, replace=False)
    ids, mask = tokenize([texts[i] for i in pick])
    lengths = mask.sum(1).tolist()
    real = mask.bool()
    model = load_minilm()
    acts = MiniLMActivations()
    hooks = []

    def on_softmax(_m: torch.nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        for b, n in enumerate(lengths):
            acts.scores.append(inp[0][b, :, :n, :n].numpy().copy())

    def on_intermediate(_m: torch.nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        acts.gelu_in.append(out[real].numpy().copy())

    def on_norm(m: torch.nn.LayerNorm, inp: tuple[torch.Tensor, ...]) -> None:
        w, b = m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()
        acts.layernorm.append((inp[0][real].numpy().copy(), w, b, float(m.eps)))

    for layer in model.layers:
        hooks.append(layer.attention.softmax.register_forward_pre_hook(on_softmax))
        hooks.append(layer.intermediate.register_forward_hook(on_intermediate))
        hooks.append(layer.attention_norm.register_forward_pre_hook(on_norm))
        hooks.append(layer.output_norm.register_forward_pre_hook(on_norm))
    try:
        with torch.no_grad():
            model(ids, mask)
    finally:
        for h in hooks:
            h.remove()
    return acts
