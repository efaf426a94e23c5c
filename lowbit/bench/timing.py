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


def interleaved_median_seconds(
    fns: dict[str, Callable[[], object]], repeats: int = 11, min_time: float = 0.02, pause: float = 0.0
) -> dict[str, float]:
    """Median wall time of one call of each function, sampled in rounds (A, B, C, A, B, C, ...).

    On a shared machine the load changes during a run; interleaving spreads it over every function
    alike, so the ratios between them hold even when the absolute times drift. ``pause`` seconds of
    sleep before each sample let the previous function's thread pools (OpenMP, ORT) stop spinning.
    Every sample starts after ``min_time / 2`` of untimed calls: with a pause the function's own
    sleeping threads wake and move to their cores in them (lowbit's pool worker took ~5 ms after a
    pause, at half speed); without one they bring its data back into the caches that the other
    functions' samples took (a 1 x 4096 x 4096 GEMV's 16 MiB of weights, after a peer's sample, took
    ~450 us and then ~270 us for its first two calls instead of ~170 us: ~2% of a 20 ms sample, for
    every function alike, that the timed loop no longer counts).
    """
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if pause:
                time.sleep(pause)
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < min_time / 2:
                fn()
            n, t0 = 0, time.perf_counter()
            while True:
                fn()
                n += 1
                elapsed = time.perf_counter() - t0
                if elapsed >= min_time:
                    break
            samples[name].append(elapsed / n)
    return {name: sorted(s)[len(s) // 2] for name, s in samples.items()}
