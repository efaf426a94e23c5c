"""The int8 GEMM's row tiling and in-place activations, against the numpy int64 oracle, bit-exactly.

The AVX-512 kernel cuts M rows into ceil(M / 6) tiles of 1-6 rows each and reads uint8 activations with
K % 4 == 0 in place (no copy, no zero-padded rows): every row count up to 40 is checked on every ISA,
on both the in-place path (uint8, K % 4 == 0) and the copied one (int8 or K % 4 != 0), and an in-place
A that ends right before an unmapped page must not be read past its last row.
"""

import ctypes
import mmap
import sys

import numpy as np
import pytest

from lowbit.ops import available_isas, quantize_multiplier
from lowbit.ops.gemm import gemm, gemm_ref, pack_weight

ISAS = available_isas()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("a_dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("k", [8, 67, 260])
def test_every_row_count_bit_exact(isa, a_dtype, k):
    rng = np.random.default_rng(k)
    info = np.iinfo(a_dtype)
    for n in (5, 129):
        w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
        packed = pack_weight(w)
        for m in range(1, 41):
            a = rng.integers(info.min, info.max, size=(m, k), endpoint=True).astype(a_dtype)
            zp = int(rng.integers(info.min, info.max, endpoint=True))
            got = gemm(a, packed, a_zero_point=zp, isa=isa, threads=1)
            np.testing.assert_array_equal(got, gemm_ref(a, w, a_zero_point=zp), err_msg=f"m={m} n={n}")


@pytest.mark.parametrize("isa", ISAS)
def test_row_tiles_with_requantized_output_and_threads(isa):
    rng = np.random.default_rng(7)
    m, k, n = 35, 256, 200
    a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    m0, shift = quantize_multiplier(rng.uniform(1e-6, 1e-3, size=n))
    kw = {"a_zero_point": 100, "out_dtype": np.int8, "m0": m0, "shift": shift, "zero_point": -3}
    want = gemm_ref(a, w, **kw)
    for threads in (1, 2, 3):
        np.testing.assert_array_equal(gemm(a, pack_weight(w), isa=isa, threads=threads, **kw), want)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mprotect through libc (Linux)")
@pytest.mark.parametrize("isa", ISAS)
def test_in_place_activations_are_not_read_past_their_end(isa):
    page = mmap.PAGESIZE
    buf = mmap.mmap(-1, 2 * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(ctypes.c_void_p(base + page), page, 0) == 0  # PROT_NONE
    try:
        rng = np.random.default_rng(3)
        for m, k in ((7, 584), (1, 4096), (13, 312), (2, 2048)):
            assert m * k <= page and k % 4 == 0
            raw = np.frombuffer(buf, dtype=np.uint8, count=page)  # the accessible first page only
            a = raw[page - m * k :].reshape(m, k)  # ends exactly at the unmapped page
            a[:] = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
            w = rng.integers(-128, 128, size=(70, k), dtype=np.int8)
            got = gemm(a, pack_weight(w), a_zero_point=5, isa=isa, threads=1)
            np.testing.assert_array_equal(got, gemm_ref(a, w, a_zero_point=5))
            del raw, a
    finally:
        assert libc.mprotect(ctypes.c_void_p(base + page), page, mmap.PROT_READ | mmap.PROT_WRITE) == 0


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("k", [4, 12, 72, 260])
@pytest.mark.parametrize("threads", [1, 2])
def test_large_int32_output_bit_exact(isa, k, threads, monkeypatch):
    # int32 outputs of >= _NT_OUT_BYTES (lowered here to 2 MiB) are stored non-temporally by the AVX-512
    # kernel when every row is 64-byte aligned (N % 16 == 0): whole panels and a last partial one
    # (N % 64 == 16), every tile height, K with no loop iteration, with only the tile's last 16 k4 steps
    # (which prefetch the next tile's start) and with both loops; N % 16 != 0 takes the regular stores
    monkeypatch.setattr(sys.modules[gemm.__module__], "_NT_OUT_BYTES", 2 << 20)
    rng = np.random.default_rng(k)
    for m, n in ((515, 1040), (700, 750)):
        a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
        w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
        bias = rng.integers(-(2**20), 2**20, size=n, dtype=np.int32)
        got = gemm(a, pack_weight(w), a_zero_point=77, bias=bias, isa=isa, threads=threads)
        assert got.ctypes.data % 64 == 0
        np.testing.assert_array_equal(got, gemm_ref(a, w, a_zero_point=77, bias=bias), err_msg=f"m={m} n={n}")


@pytest.mark.parametrize("isa", ISAS)
def test_large_int32_output_unaligned_bit_exact(isa, monkeypatch):
    # an output that does not start on a 64-byte line takes the regular stores
    gemm_mod = sys.modules[gemm.__module__]  # lowbit.ops.gemm (the package's name gemm is the function)

    def unaligned(shape, dtype):
        buf = np.empty(shape[0] * shape[1] * dtype.itemsize + 128, dtype=np.uint8)
        off = -buf.ctypes.data % 64 + 4
        return buf[off : off + shape[0] * shape[1] * dtype.itemsize].view(dtype).reshape(shape)

    monkeypatch.setattr(gemm_mod, "_empty_out", unaligned)
    monkeypatch.setattr(gemm_mod, "_NT_OUT_BYTES", 1 << 20)
    rng = np.random.default_rng(11)
    m, k, n = 520, 136, 1024
    a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    got = gemm(a, pack_weight(w), a_zero_point=3, isa=isa, threads=1)
    assert got.ctypes.data % 64 == 4
    np.testing.assert_array_equal(got, gemm_ref(a, w, a_zero_point=3))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("out", ["int32", "int8", "float32", "relu"])
@pytest.mark.parametrize("threads", [1, 2])
def test_row_blocks_bit_exact(isa, out, threads):
    # M x K past 384 KiB: the AVX-512 kernel runs the rows in blocks of tiles (each block over every
    # panel); blocks of uneven tile counts, a last partial panel, every output kind, and K segments
    rng = np.random.default_rng(5)
    m, k, n = 701, 1100, 200
    a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    kw = {"a_zero_point": 131, "bias": rng.integers(-(2**20), 2**20, size=n, dtype=np.int32)}
    if out == "int8":
        kw["out_dtype"] = np.int8
        kw["m0"], kw["shift"] = quantize_multiplier(rng.uniform(1e-7, 1e-4, size=n))
    elif out == "float32":
        kw["out_dtype"] = np.float32
        kw["scale"] = rng.uniform(1e-4, 1e-3, size=n).astype(np.float32)
    elif out == "relu":
        kw["relu"] = True
    want = gemm_ref(a, w, **kw)
    got = gemm(a, pack_weight(w), isa=isa, threads=threads, **kw)
    np.testing.assert_array_equal(got, want)
    e = rng.integers(0, 3, size=k)
    np.testing.assert_array_equal(
        gemm(a, pack_weight(w, e), isa=isa, threads=threads, a_zero_point=131),
        gemm_ref(a, w, in_exponent=e, a_zero_point=131),
    )
