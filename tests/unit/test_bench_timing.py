"""The interleaved benchmark timer samples every function in rounds and returns one median per function."""

import time

from lowbit.bench.timing import interleaved_median_seconds


def test_samples_are_taken_in_rounds_and_medians_follow_the_cost():
    calls: list[str] = []

    def make(name: str, sleep: float):
        def fn() -> None:
            calls.append(name)
            time.sleep(sleep)

        return fn

    got = interleaved_median_seconds({"fast": make("fast", 0.0), "slow": make("slow", 0.003)}, repeats=3,
                                     min_time=0.0)  # fmt: skip
    assert set(got) == {"fast", "slow"}
    assert calls == ["fast", "slow"] + ["fast", "slow"] * 3  # one warm-up each, then A, B, A, B, ...
    assert 0.0 < got["fast"] < got["slow"]
    assert got["slow"] >= 0.003
