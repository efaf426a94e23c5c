"""Optional llama.cpp peers for `lowbit bench lowbit`: ggml's own quantized mat-vec (ggml_mul_mat of a
Q4_0 / Q2_K / TQ2_0 weight by one float column, CPU backend, one thread) through ctypes on a small library
over the ggml sources that the llama-cpp-python sdist vendors (tools/llama_peer, built by
`make llama-peer`). Never built by `make test`; when the library is absent the bench prints BUILD_HINT.

ggml's row-major weight [n rows x k] times x [k] gives y [n]: the same product as lowbit's 1 x k x n GEMV.
Each call includes ggml's conversion of x to its dot-product type (Q8_0 for Q4_0, Q8_K for the K/ternary
types), as in llama.cpp. Weight bytes are ggml's bytes per block times blocks.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lowbit.errors import LowbitError

# impl -> (ggml type, repack). llama.cpp's default on an AVX2/AVX-512 CPU keeps Q4_0 and Q2_K weights in
# the CPU_REPACK buffer (8 rows interleaved per block, its own GEMV kernels): those are the main rows;
# -plain is the same type in ggml's plain block layout. TQ2_0 has no repacked form.
TYPES = {
    "llama-q4_0": ("q4_0", True),
    "llama-q4_0-plain": ("q4_0", False),
    "llama-q2_k": ("q2_k", True),
    "llama-q2_k-plain": ("q2_k", False),
    "llama-tq2_0": ("tq2_0", False),
}
LIB_NAME = "libggml_gemv.so"
BUILD_HINT = "llama.cpp peers (llama-q4_0, llama-q2_k, llama-tq2_0) not built: `make llama-peer` adds them"


def lib_path() -> Path:
    """$LOWBIT_LLAMA_PEER, else .cache/llama-peer/build/libggml_gemv.so in the source checkout."""
    env = os.environ.get("LOWBIT_LLAMA_PEER")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".cache" / "llama-peer" / "build" / LIB_NAME


_LIB: ctypes.CDLL | None = None
_LOAD_ERROR: str | None = None  # why an existing library file did not load (e.g. built for another CPU)


def load() -> ctypes.CDLL | None:
    """The harness library, or None when it has not been built (or does not load)."""
    global _LIB, _LOAD_ERROR
    if _LIB is not None:
        return _LIB
    path = lib_path()
    if not path.is_file():
        return None
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        _LOAD_ERROR = str(e)
        return None
    i64, vp, fp = ctypes.c_int64, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)
    lib.lg_type.argtypes, lib.lg_type.restype = [ctypes.c_char_p], ctypes.c_int
    lib.lg_block_size.argtypes, lib.lg_block_size.restype = [ctypes.c_int], i64
    lib.lg_block_bytes.argtypes, lib.lg_block_bytes.restype = [ctypes.c_int], i64
    lib.lg_quantize.argtypes, lib.lg_quantize.restype = [ctypes.c_int, fp, i64, i64, vp], i64
    lib.lg_dequantize.argtypes, lib.lg_dequantize.restype = [ctypes.c_int, vp, i64, fp], None
    lib.lg_matvec.argtypes = [ctypes.c_int, vp, i64, i64, fp, fp, ctypes.c_int]
    lib.lg_matvec.restype = ctypes.c_int
    lib.lg_bench_new.argtypes = [ctypes.c_int, vp, i64, i64, ctypes.c_int, fp, ctypes.c_int]
    lib.lg_bench_new.restype = vp
    lib.lg_bench_weight_bytes.argtypes, lib.lg_bench_weight_bytes.restype = [vp], ctypes.c_size_t
    lib.lg_bench_run.argtypes, lib.lg_bench_run.restype = [vp], ctypes.c_int
    lib.lg_bench_free.argtypes, lib.lg_bench_free.restype = [vp], None
    _LIB = lib
    return lib


def missing_hint() -> str | None:
    """The line `lowbit bench lowbit` prints (and puts in its JSON) when the harness is not built."""
    if load() is not None:
        return None
    if _LOAD_ERROR and lib_path().is_file():
        return f"{BUILD_HINT} ({lib_path()} did not load: {_LOAD_ERROR})"
    return f"{BUILD_HINT} (looked for {lib_path()})"


def _need() -> ctypes.CDLL:
    lib = load()
    if lib is None:
        raise LowbitError(f"llama peer library {lib_path()} not found; {BUILD_HINT}")
    return lib


def _fptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _type(lib: ctypes.CDLL, name: str, k: int) -> int:
    t = lib.lg_type(name.encode())
    if t < 0:
        raise LowbitError(f"type: expected one of q4_0, q2_k, tq2_0, q8_0, got {name!r}")
    if k % lib.lg_block_size(t):
        raise LowbitError(f"k: expected a multiple of {name}'s block of {lib.lg_block_size(t)}, got {k}")
    return t


def quantize(w: np.ndarray, name: str) -> np.ndarray:
    """ggml_quantize_chunk of float weights [n, k] (no importance matrix): the packed bytes, uint8."""
    lib = _need()
    w = np.ascontiguousarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise LowbitError(f"w: expected a 2-D [n, k] float array, got shape {w.shape}")
    n, k = w.shape
    t = _type(lib, name, k)
    out = np.empty(n * (k // lib.lg_block_size(t)) * lib.lg_block_bytes(t), np.uint8)
    got = lib.lg_quantize(t, _fptr(w), n, k, out.ctypes.data)
    assert got == out.nbytes, (got, out.nbytes)
    return out


def dequantize(q: np.ndarray, name: str, n: int, k: int) -> np.ndarray:
    """ggml's own to_float of packed bytes: float32 [n, k]."""
    lib = _need()
    t = _type(lib, name, k)
    _check_bytes(lib, t, q, n, k)
    out = np.empty((n, k), np.float32)
    lib.lg_dequantize(t, np.ascontiguousarray(q).ctypes.data, n * k, _fptr(out))
    return out


def _check_bytes(lib: ctypes.CDLL, t: int, q: np.ndarray, n: int, k: int) -> None:
    want = n * (k // lib.lg_block_size(t)) * lib.lg_block_bytes(t)
    if q.dtype != np.uint8 or q.size != want:
        raise LowbitError(f"q: expected {want} uint8 bytes for {n} x {k}, got {q.size} {q.dtype}")


def matvec(q: np.ndarray, x: np.ndarray, name: str, n: int, repack: bool = False) -> np.ndarray:
    """ggml_mul_mat of packed weights [n, k] by float x [k], one thread: y [n] float32. repack: weights
    in ggml's CPU_REPACK buffer (n a multiple of 8 for its interleaved blocks)."""
    lib = _need()
    x = np.ascontiguousarray(x, dtype=np.float32).ravel()
    k = x.size
    t = _type(lib, name, k)
    _check_bytes(lib, t, q, n, k)
    y = np.empty(n, np.float32)
    if lib.lg_matvec(t, np.ascontiguousarray(q).ctypes.data, n, k, _fptr(x), _fptr(y), int(repack)) != 0:
        raise LowbitError(f"ggml mat-vec failed for {name} {n} x {k} (repack={repack})")
    return y


class _Bench:
    """One ggml mat-vec set up once: `copies` weight copies, called in rotation (a callable to time)."""

    def __init__(self, lib: ctypes.CDLL, t: int, q: np.ndarray, n: int, k: int, copies: int, x: np.ndarray,
                 repack: bool):  # fmt: skip
        self._lib = lib
        self._h = lib.lg_bench_new(t, q.ctypes.data, n, k, copies, _fptr(x), int(repack))
        if not self._h:
            raise LowbitError(f"ggml set-up failed for {copies} copies of {n} x {k} (repack={repack})")
        self.nbytes = int(lib.lg_bench_weight_bytes(self._h))

    def __call__(self) -> None:
        self._lib.lg_bench_run(self._h)

    def __del__(self) -> None:
        if getattr(self, "_h", None):
            self._lib.lg_bench_free(self._h)
            self._h = None


def peers(k: int, n: int, need_bytes: int, seed: int = 0) -> dict[str, tuple[Callable[[], None], int]]:
    """{impl: (call, weight bytes per call)} for the llama rows at 1 x k x n, each with enough weight
    copies to total need_bytes (0: one copy, hot); {} when the library is not built."""
    lib = load()
    if lib is None:
        return {}
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, k)).astype(np.float32)
    x = rng.normal(size=k).astype(np.float32)
    out: dict[str, tuple[Callable[[], None], int]] = {}
    qs: dict[str, np.ndarray] = {}
    for impl, (name, repack) in TYPES.items():
        t = _type(lib, name, k)
        if name not in qs:
            qs[name] = quantize(w, name)  # once per type; repack happens in the set-up
        q = qs[name]
        copies = max(1, -(-need_bytes // q.nbytes))
        b = _Bench(lib, t, q, n, k, copies, x, repack)
        out[impl] = (b, b.nbytes)
    return out
