"""The optional llama.cpp (ggml) peer: the "not built" path always; ggml's mat-vec against numpy only when
`make llama-peer` has built the harness (no timing here)."""

from __future__ import annotations

import numpy as np
import pytest

from lowbit.bench import llama_peer
from lowbit.errors import LowbitError

BUILT = llama_peer.load() is not None
needs_lib = pytest.mark.skipif(
    not BUILT, reason=f"llama peer harness not built ({llama_peer.lib_path()} absent; `make llama-peer`)"
)


def test_not_built_path_gives_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("LOWBIT_LLAMA_PEER", str(tmp_path / "missing.so"))
    monkeypatch.setattr(llama_peer, "_LIB", None)
    assert llama_peer.load() is None
    assert llama_peer.peers(256, 8, 0) == {}
    hint = llama_peer.missing_hint()  # what `lowbit bench lowbit` prints and puts in its JSON
    assert hint is not None and "make llama-peer" in hint and "missing.so" in hint
    with pytest.raises(LowbitError, match="make llama-peer"):
        llama_peer.quantize(np.zeros((2, 32), np.float32), "q4_0")


def _q4_0_dequant(q: np.ndarray, n: int, k: int) -> np.ndarray:
    """Q4_0 block (ggml-common.h): fp16 scale d, 16 bytes; weight j = (low nibble j - 8) d,
    weight j + 16 = (high nibble j - 8) d."""
    b = q.reshape(n * k // 32, 18)
    d = b[:, :2].copy().view(np.float16).astype(np.float32)
    nib = b[:, 2:]
    codes = np.concatenate([nib & 0xF, nib >> 4], axis=1).astype(np.float32) - 8
    return (codes * d).reshape(n, k)


def test_unloadable_library_is_reported(monkeypatch, tmp_path):
    bad = tmp_path / "libggml_gemv.so"
    bad.write_bytes(b"not an ELF file")
    monkeypatch.setenv("LOWBIT_LLAMA_PEER", str(bad))
    monkeypatch.setattr(llama_peer, "_LIB", None)
    monkeypatch.setattr(llama_peer, "_LOAD_ERROR", None)
    assert llama_peer.load() is None
    assert "did not load" in llama_peer.missing_hint()


def test_missing_hint_is_none_when_built():
    assert (llama_peer.missing_hint() is None) == BUILT


@needs_lib
def test_q4_0_matvec_matches_numpy_dequant():
    rng = np.random.default_rng(1)
    n, k = 64, 512
    w = rng.normal(size=(n, k)).astype(np.float32)
    x = rng.normal(size=k).astype(np.float32)
    q = llama_peer.quantize(w, "q4_0")
    assert q.size == n * k // 32 * 18
    wd = _q4_0_dequant(q, n, k)
    np.testing.assert_array_equal(wd, llama_peer.dequantize(q, "q4_0", n, k))
    assert np.abs(wd - w).max() < 0.6  # 4-bit error of N(0, 1) weights: sane, not garbage
    y = llama_peer.matvec(q, x, "q4_0", n)
    ref = wd.astype(np.float64) @ x
    # ggml rounds x to Q8_0 (8 bits per 32) before the dot product: ~0.5% of |w||x|
    tol = 0.01 * np.linalg.norm(wd, axis=1) * np.linalg.norm(x)
    assert np.all(np.abs(y - ref) <= tol), np.abs(y - ref).max()


@needs_lib
def test_tq2_0_ternary_weights_are_exact():
    rng = np.random.default_rng(2)
    n, k = 32, 512
    w = rng.integers(-1, 2, (n, k)).astype(np.float32)
    x = rng.normal(size=k).astype(np.float32)
    q = llama_peer.quantize(w, "tq2_0")
    assert q.size == n * k // 256 * 66
    np.testing.assert_array_equal(llama_peer.dequantize(q, "tq2_0", n, k), w)
    y = llama_peer.matvec(q, x, "tq2_0", n)
    tol = 0.01 * np.linalg.norm(w, axis=1) * np.linalg.norm(x)
    assert np.all(np.abs(y - w @ x) <= tol)


@needs_lib
def test_q2_k_matvec_matches_its_dequant():
    rng = np.random.default_rng(3)
    n, k = 32, 512
    w = rng.normal(size=(n, k)).astype(np.float32)
    x = rng.normal(size=k).astype(np.float32)
    q = llama_peer.quantize(w, "q2_k")
    assert q.size == n * k // 256 * 84
    wd = llama_peer.dequantize(q, "q2_k", n, k)
    assert np.corrcoef(wd.ravel(), w.ravel())[0, 1] > 0.8  # 2 bits still tracks the weights
    y = llama_peer.matvec(q, x, "q2_k", n)
    tol = 0.01 * np.linalg.norm(wd, axis=1) * np.linalg.norm(x)
    assert np.all(np.abs(y - wd.astype(np.float64) @ x) <= tol)


@needs_lib
def test_bad_input_is_a_lowbit_error():
    with pytest.raises(LowbitError, match="type"):
        llama_peer.quantize(np.zeros((2, 256), np.float32), "q5_z")
    with pytest.raises(LowbitError, match="multiple of"):
        llama_peer.quantize(np.zeros((2, 100), np.float32), "q2_k")
    with pytest.raises(LowbitError, match="bytes"):
        llama_peer.matvec(np.zeros(10, np.uint8), np.zeros(256, np.float32), "q2_k", 2)


@needs_lib
def test_bench_peers_run_and_size_copies():
    got = llama_peer.peers(256, 16, need_bytes=16 * 84 * 3)
    assert set(got) == set(llama_peer.TYPES)
    for call, _ in got.values():
        call()
    assert got["llama-q4_0"][1] == got["llama-q4_0-plain"][1] == 16 * 8 * 18
    assert got["llama-q2_k"][1] == got["llama-q2_k-plain"][1] == 16 * 84
    assert got["llama-tq2_0"][1] == 16 * 66


@needs_lib
@pytest.mark.parametrize("name", ["q4_0", "q2_k"])
def test_repacked_matvec_matches_plain(name):
    """llama.cpp's default CPU_REPACK layout (8 interleaved rows) gives the plain kernel's result."""
    rng = np.random.default_rng(4)
    n, k = 64, 512
    q = llama_peer.quantize(rng.normal(size=(n, k)).astype(np.float32), name)
    x = rng.normal(size=k).astype(np.float32)
    plain = llama_peer.matvec(q, x, name, n)
    rep = llama_peer.matvec(q, x, name, n, repack=True)
    np.testing.assert_allclose(rep, plain, rtol=1e-4, atol=1e-3 * np.abs(plain).max())
