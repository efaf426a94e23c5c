"""Timing for benchmarks (never for tests): median of repeated runs after a warm-up."""

from __future__ import annotations

import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int = 15, min_time: float = 0.02) -> float:
    """Median wall time of one call; each sample loops until it lasts at least ``min_time``."""
    fn()
    samples = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
        samples.append(elapsed / n)
    samples.sort()
    return samples[len(samples) // 2]
