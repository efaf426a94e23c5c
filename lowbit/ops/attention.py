"""Attention's integer products on the fused q|k|v projection, read in place (no head transposes), and
the residual add that follows each block.

    qkv: int8 [B, T, 3H] = [q | k | v], each H = heads * d columns, head h at columns h d .. (h+1) d
    attention_qk: scores[b, h, i, j] = sum_c q[b, i, h, c] k[b, j, h, c] + bias[b, j]      (int32)
    attention_pv: ctx[b, i, h d + c] = requantize(sum_j p[b, h, i, j] v[b, j, h, c])      (int8)

``bias`` is a per-sequence key mask (e.g. -2^29 on padding keys); p are uint8 probabilities. Both run the
int8 GEMM per (b, h) with the right-hand side packed on the fly from its strided place in qkv; the
``_ref`` functions are the oracles (numpy int64 on explicitly transposed heads).
"""

from __future__ import annotations

import functools

import numpy as np

from lowbit.errors import as_array, as_int, expect
from lowbit.ops.gemm import I32, _isa, check_threads
from lowbit.ops.requant import requantize_ref, rshift_round_ref


def _heads(qkv: np.ndarray, heads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b, t, h3 = qkv.shape
    split = qkv.astype(np.int64).reshape(b, t, 3, heads, h3 // 3 // heads)
    return tuple(split[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # [B, heads, T, d] each


def _heads_arg(heads: object, h3: int) -> int:
    """heads as an int dividing H = h3 / 3 (checked before any output is allocated from it)."""
    h = as_int(heads, "heads", 1, I32[1])
    expect(h3 % 3 == 0 and (h3 // 3) % h == 0, "heads", f"a divisor of H = {h3 // 3} (qkv is [B, T, 3H])", h)
    return h


def attention_qk(
    qkv: np.ndarray, heads: int, bias: np.ndarray | None = None, threads: int | None = None, isa: str = "auto"
) -> np.ndarray:
    """int32 scores [B, heads, T, T] (bit-exact with ``attention_qk_ref``)."""
    from lowbit import _C

    qkv = as_array(qkv, "qkv")
    expect(qkv.ndim == 3, "qkv", "an int8 array [B, T, 3H]", qkv.shape)
    b, t, h3 = qkv.shape
    heads = _heads_arg(heads, h3)
    out = np.empty((b, heads, t, t), dtype=np.int32)
    empty = np.empty((0, 0), np.int32)
    _C.attention_qk(qkv, heads, empty if bias is None else as_array(bias, "bias"), out, _isa(isa),
                    check_threads(threads))  # fmt: skip
    return out


def attention_qk_ref(qkv: np.ndarray, heads: int, bias: np.ndarray | None = None) -> np.ndarray:
    q, k, _ = _heads(qkv, heads)
    s = q @ k.transpose(0, 1, 3, 2)
    if bias is not None:
        s = s + np.asarray(bias, np.int64)[:, None, None, :]
    return s.astype(np.int32)


def attention_pv(
    p: np.ndarray,
    qkv: np.ndarray,
    heads: int,
    m0: int,
    shift: int,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    """int8 context [B, T, H], requantized with (m0, shift) to [-127, 127] (bit-exact with the ref)."""
    from lowbit import _C

    qkv = as_array(qkv, "qkv")
    expect(qkv.ndim == 3, "qkv", "an int8 array [B, T, 3H]", qkv.shape)
    b, t, h3 = qkv.shape
    heads = _heads_arg(heads, h3)
    out = np.empty((b, t, h3 // 3), dtype=np.int8)
    _C.attention_pv(as_array(p, "p"), qkv, heads, as_int(m0, "m0", *I32), as_int(shift, "shift", *I32), out,
                    _isa(isa), check_threads(threads))  # fmt: skip
    return out


def attention_pv_ref(p: np.ndarray, qkv: np.ndarray, heads: int, m0: int, shift: int) -> np.ndarray:
    _, _, v = _heads(qkv, heads)
    acc = np.asarray(p, np.int64) @ v  # [B, heads, T, d]
    ctx = requantize_ref(acc, m0, shift, 0, -127, 127).astype(np.int8)
    b, _, t, d = ctx.shape
    return ctx.transpose(0, 2, 1, 3).reshape(b, t, heads * d)


def residual_add(
    x: np.ndarray, shift: np.ndarray, y: np.ndarray, threads: int | None = None, isa: str = "auto"
) -> np.ndarray:
    """clamp((x << shift[c]) + y, -32767, 32767) as int16: int8 x, int32 shift [C] in [0, 23], int16 y."""
    from lowbit import _C

    x, shift, y = as_array(x, "x"), as_array(shift, "shift"), as_array(y, "y")
    out = np.empty(y.shape, dtype=np.int16)
    _C.residual_add(x, shift, y, out, _isa(isa), check_threads(threads))
    return out


def residual_add_ref(x: np.ndarray, shift: np.ndarray, y: np.ndarray) -> np.ndarray:
    v = (np.asarray(x, np.int64) << np.asarray(shift, np.int64)) + np.asarray(y, np.int64)
    return np.clip(v, -32767, 32767).astype(np.int16)


EXP_INPUT_CAP = 65535  # the I-BERT exp's fast AVX-512 path takes (max - q) clamped within 16 bits


@functools.lru_cache(maxsize=256)
def score_shift(score_scale: float) -> int:
    """The rounding shift j applied to attention scores before I-BERT's softmax or Log-Int-Softmax (at
    score_scale 2^j): the smallest j whose exp input range, min(dclip, first u whose exp is 0), fits 16 bits.
    Fine-grained scores (q and k of small range) otherwise need the kernels' general 64-bit path, 2x (I-BERT)
    to 12x (Log-Int-Softmax) slower; the rounding moves a score by at most half of 2^j units."""
    from lowbit.ops.intops_kernels import softmax_constants

    for j in range(17):
        dclip, m0, shift, _, _ = softmax_constants(score_scale * 2**j)
        first_zero = ((30 << 14 << shift) + m0 - 1) // m0 if m0 else dclip  # exp input below -30 ln2
        if min(dclip, first_zero) <= EXP_INPUT_CAP:
            return j
    return 16


def attention_softmax_constants(score_scale: float) -> tuple[int, int, int, int, int, int]:
    """(dclip, m0, shift, qb, qc, score_shift) of I-BERT's softmax inside attention (csrc/attention.h)."""
    from lowbit.ops.intops_kernels import softmax_constants

    j = score_shift(score_scale)
    return (*softmax_constants(score_scale * 2**j), j)


def _softmax_args(kernel: str, score_scale: float) -> tuple:
    """The integer constants (and tables) of the softmax inside each fused attention kernel."""
    from lowbit.ops.intcore import check_scale
    from lowbit.ops.shift_lut_kernels import lut_args, shift_constants

    if kernel == "attention_shiftmax":
        return shift_constants(check_scale(score_scale, hi=2.0**15))
    if kernel == "attention_lut":
        return lut_args(check_scale(score_scale))
    return attention_softmax_constants(check_scale(score_scale))


def _fused(kernel: str, qkv, heads, bias, score_scale, m0, shift, threads, isa) -> np.ndarray:
    from lowbit import _C

    qkv = as_array(qkv, "qkv")
    expect(qkv.ndim == 3, "qkv", "an int8 array [B, T, 3H]", qkv.shape)
    b, t, h3 = qkv.shape
    heads = _heads_arg(heads, h3)
    out = np.empty((b, t, h3 // 3), dtype=np.int8)
    empty = np.empty((0, 0), np.int32)
    getattr(_C, kernel)(qkv, heads, empty if bias is None else as_array(bias, "bias"),
                        *_softmax_args(kernel, score_scale), as_int(m0, "m0", *I32),
                        as_int(shift, "shift", *I32), out, _isa(isa), check_threads(threads))  # fmt: skip
    return out


def attention_shiftmax(
    qkv: np.ndarray,
    heads: int,
    bias: np.ndarray | None,
    score_scale: float,
    m0: int,
    shift: int,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    """``attention_ibert`` with I-ViT's Shiftmax; bit-exact with ``attention_shiftmax_ref``."""
    return _fused("attention_shiftmax", qkv, heads, bias, score_scale, m0, shift, threads, isa)


def attention_lut(
    qkv: np.ndarray,
    heads: int,
    bias: np.ndarray | None,
    score_scale: float,
    m0: int,
    shift: int,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    """``attention_ibert`` with the LUT softmax (rexp); bit-exact with ``attention_lut_ref``."""
    return _fused("attention_lut", qkv, heads, bias, score_scale, m0, shift, threads, isa)


def attention_ibert(
    qkv: np.ndarray,
    heads: int,
    bias: np.ndarray | None,
    score_scale: float,
    m0: int,
    shift: int,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    """attention_pv(ibert_softmax(attention_qk(qkv) at ``score_scale``)) in one pass per head (the scores
    and probabilities never leave a per-thread buffer); bit-exact with ``attention_ibert_ref``."""
    return _fused("attention_ibert", qkv, heads, bias, score_scale, m0, shift, threads, isa)


def attention_fq(
    qkv: np.ndarray,
    heads: int,
    bias: np.ndarray | None,
    score_scale: float,
    m0: int,
    shift: int,
    threads: int | None = None,
    isa: str = "auto",
) -> np.ndarray:
    """FQ-ViT per head: Log-Int-Softmax codes of the scores, then P V as sums of V << (14 - k), requantized
    with (m0, shift) to int8 [B, T, H]; bit-exact with ``attention_fq_ref``. At most 1024 tokens."""
    return _fused("attention_fq", qkv, heads, bias, score_scale, m0, shift, threads, isa)


def _rounded_scores(qkv: np.ndarray, heads: int, bias: np.ndarray | None, score_scale: float):
    """Scores rounded by score_shift, and their scale (the input of I-BERT's softmax in attention)."""
    j = score_shift(score_scale)
    return rshift_round_ref(attention_qk_ref(qkv, heads, bias).astype(np.int64), j), score_scale * 2**j


def attention_fq_ref(
    qkv: np.ndarray, heads: int, bias: np.ndarray | None, score_scale: float, m0: int, shift: int
) -> np.ndarray:
    from lowbit.ops.fqvit import lis_matmul_ref, log_int_softmax_ref

    k, _ = log_int_softmax_ref(*_rounded_scores(qkv, heads, bias, score_scale))
    _, _, v = _heads(qkv, heads)
    acc, _ = lis_matmul_ref(k, v, 1.0)
    ctx = requantize_ref(acc, m0, shift, 0, -127, 127).astype(np.int8)
    b, _, t, d = ctx.shape
    return ctx.transpose(0, 2, 1, 3).reshape(b, t, heads * d)


def attention_ibert_ref(
    qkv: np.ndarray, heads: int, bias: np.ndarray | None, score_scale: float, m0: int, shift: int
) -> np.ndarray:
    from lowbit.ops.ibert import ibert_softmax_ref

    p, _ = ibert_softmax_ref(*_rounded_scores(qkv, heads, bias, score_scale))
    return attention_pv_ref(p, qkv, heads, m0, shift)


def attention_shiftmax_ref(
    qkv: np.ndarray, heads: int, bias: np.ndarray | None, score_scale: float, m0: int, shift: int
) -> np.ndarray:
    from lowbit.ops.ivit import shiftmax_ref

    p, _ = shiftmax_ref(attention_qk_ref(qkv, heads, bias), score_scale)
    return attention_pv_ref(p, qkv, heads, m0, shift)


def attention_lut_ref(
    qkv: np.ndarray, heads: int, bias: np.ndarray | None, score_scale: float, m0: int, shift: int
) -> np.ndarray:
    from lowbit.ops.lut_softmax import lut_softmax_rexp_ref

    p, _ = lut_softmax_rexp_ref(attention_qk_ref(qkv, heads, bias), score_scale)
    return attention_pv_ref(p, qkv, heads, m0, shift)
