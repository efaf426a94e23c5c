"""Latency and throughput of whole encoders called as ``model(input_ids, attention_mask)``: torch modules,
lowbit QuantizedModels and ONNX Runtime sessions (``OrtEncoder``) alike, on a fixed thread count.

For the duration of a measurement torch's intra-op threads and ``LOWBIT_NUM_THREADS`` (read by lowbit's
kernels on every call) are set to ``threads``; an OrtEncoder is reopened with that many intra-op threads.
Inputs are random token ids (seed 0) with a full attention mask. Timing only, never asserted in tests.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from lowbit.bench.timing import median_seconds
from lowbit.errors import LowbitError


@contextmanager
def num_threads(threads: int) -> Iterator[None]:
    """torch.set_num_threads and LOWBIT_NUM_THREADS set to ``threads``, restored afterwards."""
    if not isinstance(threads, int) or threads < 1:
        raise LowbitError(f"threads: expected a positive int, got {threads!r}")
    old, old_env = torch.get_num_threads(), os.environ.get("LOWBIT_NUM_THREADS")
    os.environ["LOWBIT_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)
        if old_env is None:
            os.environ.pop("LOWBIT_NUM_THREADS", None)
        else:
            os.environ["LOWBIT_NUM_THREADS"] = old_env


def sample_inputs(batch: int, tokens: int, vocab: tuple[int, int] = (1000, 20000)):
    """(input_ids, attention_mask) int64 [batch, tokens]: random ids (seed 0), every token real."""
    if batch < 1 or tokens < 1:
        raise LowbitError(f"batch, tokens: expected positive ints, got {batch}, {tokens}")
    ids = torch.randint(*vocab, (batch, tokens), generator=torch.Generator().manual_seed(0))
    return ids, torch.ones_like(ids)


def _seconds(model: Any, threads: int, batch: int, tokens: int, repeats: int) -> float:
    if not callable(model):
        raise LowbitError(f"model: expected a callable model(input_ids, attention_mask), got {type(model)}")
    if not isinstance(repeats, int) or repeats < 1:
        raise LowbitError(f"repeats: expected a positive int, got {repeats!r}")
    if hasattr(model, "with_threads"):  # OrtEncoder: the thread count is fixed per session
        model = model.with_threads(threads)
    ids, mask = sample_inputs(batch, tokens)
    with num_threads(threads), torch.inference_mode():
        # let thread pools of whatever ran before (OpenMP, ORT) stop spinning on the other core
        time.sleep(0.2)
        return median_seconds(lambda: model(ids, mask), repeats=repeats, min_time=0.0)


def latency_ms(model: Any, threads: int = 1, batch: int = 1, tokens: int = 128, repeats: int = 10) -> float:
    """Median wall time in ms of one forward pass at ``batch`` x ``tokens`` (after one warm-up call)."""
    return _seconds(model, threads, batch, tokens, repeats) * 1e3


def throughput(model: Any, threads: int = 1, batch: int = 32, tokens: int = 128, repeats: int = 3) -> float:
    """Sequences per second: ``batch`` / the median wall time of one forward pass at batch x tokens."""
    return batch / _seconds(model, threads, batch, tokens, repeats)
