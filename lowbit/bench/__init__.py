"""Benchmarks: `lowbit bench NAME`. Each row of BENCHES times lowbit and its peers in the same run."""

from lowbit.bench import bitserial, gemm, intops, lowbit_gemv, minilm, requant

BENCHES = {
    "requant": requant.run,
    "gemm": gemm.run,
    "intops": intops.run,
    "bitserial": bitserial.run,
    "lowbit": lowbit_gemv.run,
    "minilm": minilm.run,
}
