"""Benchmarks: `lowbit bench NAME`. Each row of BENCHES times lowbit and its peers in the same run."""

from lowbit.bench import requant

BENCHES = {"requant": requant.run}
