// AVX-512 VNNI int8 GEMM: vpdpbusd (uint8 x int8, 4 products per int32 lane) on the k4n64 layout.
// A tile is MR rows x 64 columns = MR x 4 zmm accumulators; each k4 step loads the panel's 256 bytes
// once and broadcasts 4 activation bytes per row.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "gemm_epilogue.h"
#include "simd_avx512.h"

namespace lowbit {

namespace {

struct alignas(64) Zmm {
  int32_t v[16];
};

constexpr int kMR = 6;  // 6 x 4 = 24 accumulators + 4 weight registers + 2 broadcasts <= 32 zmm
static_assert(kGemmRowPad % kMR == 0);

// s32 / f32 outputs of 16 accumulators of one row.
inline void store16(__m512i acc, int64_t row, int64_t n, __mmask16 mask, const GemmEpilogue& ep) {
  const __m512i v = _mm512_add_epi32(acc, _mm512_maskz_loadu_epi32(mask, ep.corr + n));
  const int64_t o = row * ep.ldo + n;
  switch (ep.kind) {
    case GemmOut::s32: {
      const __m512i r = ep.relu ? _mm512_max_epi32(v, _mm512_setzero_si512()) : v;
      _mm512_mask_storeu_epi32(static_cast<int32_t*>(ep.out) + o, mask, r);
      break;
    }
    case GemmOut::f32: {
      const __m512 s = ep.scale_per_channel ? _mm512_maskz_loadu_ps(mask, ep.scale + n) : _mm512_set1_ps(ep.scale[0]);
      __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), s);
      if (ep.relu) f = _mm512_max_ps(f, _mm512_setzero_ps());
      _mm512_mask_storeu_ps(static_cast<float*>(ep.out) + o, mask, f);
      break;
    }
    default:  // s8 / u8 / s16: store_requant16, per 16-column group
      break;
  }
}

// The pieces of the 6-row tile's inline asm (zmm0-23 accumulators, 24-27 weights, 28-29 activations).
#define LB_TILE6_LOAD \
  "vmovdqa64 0(%[c]), %%zmm0\n vmovdqa64 64(%[c]), %%zmm1\n vmovdqa64 128(%[c]), %%zmm2\n" \
  "vmovdqa64 192(%[c]), %%zmm3\n vmovdqa64 256(%[c]), %%zmm4\n vmovdqa64 320(%[c]), %%zmm5\n" \
  "vmovdqa64 384(%[c]), %%zmm6\n vmovdqa64 448(%[c]), %%zmm7\n vmovdqa64 512(%[c]), %%zmm8\n" \
  "vmovdqa64 576(%[c]), %%zmm9\n vmovdqa64 640(%[c]), %%zmm10\n vmovdqa64 704(%[c]), %%zmm11\n" \
  "vmovdqa64 768(%[c]), %%zmm12\n vmovdqa64 832(%[c]), %%zmm13\n vmovdqa64 896(%[c]), %%zmm14\n" \
  "vmovdqa64 960(%[c]), %%zmm15\n vmovdqa64 1024(%[c]), %%zmm16\n vmovdqa64 1088(%[c]), %%zmm17\n" \
  "vmovdqa64 1152(%[c]), %%zmm18\n vmovdqa64 1216(%[c]), %%zmm19\n vmovdqa64 1280(%[c]), %%zmm20\n" \
  "vmovdqa64 1344(%[c]), %%zmm21\n vmovdqa64 1408(%[c]), %%zmm22\n vmovdqa64 1472(%[c]), %%zmm23\n"
#define LB_TILE6_STEP \
  "vmovdqu64 0(%[b]), %%zmm24\n vmovdqu64 64(%[b]), %%zmm25\n" \
  "vmovdqu64 128(%[b]), %%zmm26\n vmovdqu64 192(%[b]), %%zmm27\n" \
  "prefetcht0 4096(%[b])\n prefetcht0 4160(%[b])\n prefetcht0 4224(%[b])\n prefetcht0 4288(%[b])\n" \
  "vpbroadcastd (%[a]), %%zmm28\n" \
  "vpdpbusd %%zmm24, %%zmm28, %%zmm0\n vpdpbusd %%zmm25, %%zmm28, %%zmm1\n" \
  "vpdpbusd %%zmm26, %%zmm28, %%zmm2\n vpdpbusd %%zmm27, %%zmm28, %%zmm3\n" \
  "vpbroadcastd (%[a],%[lda],1), %%zmm29\n" \
  "vpdpbusd %%zmm24, %%zmm29, %%zmm4\n vpdpbusd %%zmm25, %%zmm29, %%zmm5\n" \
  "vpdpbusd %%zmm26, %%zmm29, %%zmm6\n vpdpbusd %%zmm27, %%zmm29, %%zmm7\n" \
  "vpbroadcastd (%[a],%[lda],2), %%zmm28\n" \
  "vpdpbusd %%zmm24, %%zmm28, %%zmm8\n vpdpbusd %%zmm25, %%zmm28, %%zmm9\n" \
  "vpdpbusd %%zmm26, %%zmm28, %%zmm10\n vpdpbusd %%zmm27, %%zmm28, %%zmm11\n" \
  "vpbroadcastd (%[a3]), %%zmm29\n" \
  "vpdpbusd %%zmm24, %%zmm29, %%zmm12\n vpdpbusd %%zmm25, %%zmm29, %%zmm13\n" \
  "vpdpbusd %%zmm26, %%zmm29, %%zmm14\n vpdpbusd %%zmm27, %%zmm29, %%zmm15\n" \
  "vpbroadcastd (%[a3],%[lda],1), %%zmm28\n" \
  "vpdpbusd %%zmm24, %%zmm28, %%zmm16\n vpdpbusd %%zmm25, %%zmm28, %%zmm17\n" \
  "vpdpbusd %%zmm26, %%zmm28, %%zmm18\n vpdpbusd %%zmm27, %%zmm28, %%zmm19\n" \
  "vpbroadcastd (%[a3],%[lda],2), %%zmm29\n" \
  "vpdpbusd %%zmm24, %%zmm29, %%zmm20\n vpdpbusd %%zmm25, %%zmm29, %%zmm21\n" \
  "vpdpbusd %%zmm26, %%zmm29, %%zmm22\n vpdpbusd %%zmm27, %%zmm29, %%zmm23\n"
#define LB_TILE6_STORE \
  "vmovdqa64 %%zmm0, 0(%[c])\n vmovdqa64 %%zmm1, 64(%[c])\n vmovdqa64 %%zmm2, 128(%[c])\n" \
  "vmovdqa64 %%zmm3, 192(%[c])\n vmovdqa64 %%zmm4, 256(%[c])\n vmovdqa64 %%zmm5, 320(%[c])\n" \
  "vmovdqa64 %%zmm6, 384(%[c])\n vmovdqa64 %%zmm7, 448(%[c])\n vmovdqa64 %%zmm8, 512(%[c])\n" \
  "vmovdqa64 %%zmm9, 576(%[c])\n vmovdqa64 %%zmm10, 640(%[c])\n vmovdqa64 %%zmm11, 704(%[c])\n" \
  "vmovdqa64 %%zmm12, 768(%[c])\n vmovdqa64 %%zmm13, 832(%[c])\n vmovdqa64 %%zmm14, 896(%[c])\n" \
  "vmovdqa64 %%zmm15, 960(%[c])\n vmovdqa64 %%zmm16, 1024(%[c])\n vmovdqa64 %%zmm17, 1088(%[c])\n" \
  "vmovdqa64 %%zmm18, 1152(%[c])\n vmovdqa64 %%zmm19, 1216(%[c])\n vmovdqa64 %%zmm20, 1280(%[c])\n" \
  "vmovdqa64 %%zmm21, 1344(%[c])\n vmovdqa64 %%zmm22, 1408(%[c])\n vmovdqa64 %%zmm23, 1472(%[c])\n"
#define LB_TILE6_SHIFT \
  "vpslld %%xmm30, %%zmm0, %%zmm0\n" \
  "vpslld %%xmm30, %%zmm1, %%zmm1\n" \
  "vpslld %%xmm30, %%zmm2, %%zmm2\n" \
  "vpslld %%xmm30, %%zmm3, %%zmm3\n" \
  "vpslld %%xmm30, %%zmm4, %%zmm4\n" \
  "vpslld %%xmm30, %%zmm5, %%zmm5\n" \
  "vpslld %%xmm30, %%zmm6, %%zmm6\n" \
  "vpslld %%xmm30, %%zmm7, %%zmm7\n" \
  "vpslld %%xmm30, %%zmm8, %%zmm8\n" \
  "vpslld %%xmm30, %%zmm9, %%zmm9\n" \
  "vpslld %%xmm30, %%zmm10, %%zmm10\n" \
  "vpslld %%xmm30, %%zmm11, %%zmm11\n" \
  "vpslld %%xmm30, %%zmm12, %%zmm12\n" \
  "vpslld %%xmm30, %%zmm13, %%zmm13\n" \
  "vpslld %%xmm30, %%zmm14, %%zmm14\n" \
  "vpslld %%xmm30, %%zmm15, %%zmm15\n" \
  "vpslld %%xmm30, %%zmm16, %%zmm16\n" \
  "vpslld %%xmm30, %%zmm17, %%zmm17\n" \
  "vpslld %%xmm30, %%zmm18, %%zmm18\n" \
  "vpslld %%xmm30, %%zmm19, %%zmm19\n" \
  "vpslld %%xmm30, %%zmm20, %%zmm20\n" \
  "vpslld %%xmm30, %%zmm21, %%zmm21\n" \
  "vpslld %%xmm30, %%zmm22, %%zmm22\n" \
  "vpslld %%xmm30, %%zmm23, %%zmm23\n"
#define LB_TILE6_CLOBBERS \
  "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", \
  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", \
  "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29"

// The 6-row tile in inline asm: gcc 12 keeps these 24 accumulators in memory however the intrinsics are
// written (it stores them back every k step, 4x slower). acc (6 x 4 zmm) is read, added to and written.
inline void tile6_asm(const uint8_t* a, int64_t lda, const int8_t* b, int64_t k4, __m512i* acc) {
  const uint8_t* a3 = a + 3 * lda;
  __asm__ volatile(
      LB_TILE6_LOAD
      "1:\n"
      LB_TILE6_STEP
      "add $256, %[b]\n add $4, %[a]\n add $4, %[a3]\n dec %[k]\n jnz 1b\n"
      LB_TILE6_STORE
      : [a] "+r"(a), [a3] "+r"(a3), [b] "+r"(b), [k] "+r"(k4)
      : [lda] "r"(lda), [c] "r"(acc)
      : LB_TILE6_CLOBBERS);
}

// The same over K segments (csrc/gemm.h): lens[s] k4 steps, then every accumulator << shift[s], all in
// registers (one tile call per segment would store and reload the 24 accumulators each time).
inline void tile6_asm_segments(const uint8_t* a, int64_t lda, const int8_t* b, const int32_t* lens,
                               const int32_t* shifts, int64_t nseg, __m512i* acc) {
  const uint8_t* a3 = a + 3 * lda;
  int64_t k = 0;
  __asm__ volatile(
      LB_TILE6_LOAD
      "2:\n"
      "movslq (%[lens]), %[k]\n test %[k], %[k]\n jz 3f\n"
      "1:\n"
      LB_TILE6_STEP
      "add $256, %[b]\n add $4, %[a]\n add $4, %[a3]\n dec %[k]\n jnz 1b\n"
      "3:\n"
      "vmovd (%[sh]), %%xmm30\n"
      LB_TILE6_SHIFT
      "add $4, %[lens]\n add $4, %[sh]\n dec %[n]\n jnz 2b\n"
      LB_TILE6_STORE
      : [a] "+r"(a), [a3] "+r"(a3), [b] "+r"(b), [k] "+r"(k), [lens] "+r"(lens), [sh] "+r"(shifts),
        [n] "+r"(nseg)
      : [lda] "r"(lda), [c] "r"(acc)
      : LB_TILE6_CLOBBERS, "xmm30");
}

// M = 1 (GEMV) is bound by reading the weights, not by vpdpbusd: two k4 steps per iteration give eight
// independent accumulator chains, so the loads, not the dependency chains, set the pace.
inline void gemv_panel(const uint8_t* a, const int8_t* b, int64_t k4, __m512i* out) {
  __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
  int64_t k = 0;
  for (; k + 2 <= k4; k += 2) {
    const int8_t* bk = b + k * kPanel * 4;
    int32_t x0, x1;
    std::memcpy(&x0, a + k * 4, 4);
    std::memcpy(&x1, a + k * 4 + 4, 4);
    const __m512i v0 = _mm512_set1_epi32(x0), v1 = _mm512_set1_epi32(x1);
    c0 = _mm512_dpbusd_epi32(c0, v0, _mm512_loadu_si512(bk));
    c1 = _mm512_dpbusd_epi32(c1, v0, _mm512_loadu_si512(bk + 64));
    c2 = _mm512_dpbusd_epi32(c2, v0, _mm512_loadu_si512(bk + 128));
    c3 = _mm512_dpbusd_epi32(c3, v0, _mm512_loadu_si512(bk + 192));
    d0 = _mm512_dpbusd_epi32(d0, v1, _mm512_loadu_si512(bk + 256));
    d1 = _mm512_dpbusd_epi32(d1, v1, _mm512_loadu_si512(bk + 320));
    d2 = _mm512_dpbusd_epi32(d2, v1, _mm512_loadu_si512(bk + 384));
    d3 = _mm512_dpbusd_epi32(d3, v1, _mm512_loadu_si512(bk + 448));
  }
  if (k < k4) {
    const int8_t* bk = b + k * kPanel * 4;
    int32_t x0;
    std::memcpy(&x0, a + k * 4, 4);
    const __m512i v0 = _mm512_set1_epi32(x0);
    c0 = _mm512_dpbusd_epi32(c0, v0, _mm512_loadu_si512(bk));
    c1 = _mm512_dpbusd_epi32(c1, v0, _mm512_loadu_si512(bk + 64));
    c2 = _mm512_dpbusd_epi32(c2, v0, _mm512_loadu_si512(bk + 128));
    c3 = _mm512_dpbusd_epi32(c3, v0, _mm512_loadu_si512(bk + 192));
  }
  out[0] = _mm512_add_epi32(c0, d0);
  out[1] = _mm512_add_epi32(c1, d1);
  out[2] = _mm512_add_epi32(c2, d2);
  out[3] = _mm512_add_epi32(c3, d3);
}

// The epilogue of MR-row blocks of a finished panel: cbuf holds rows x 4 zmm.
// Requantizing epilogue of one 16-column group over all rows: the columns' multipliers, shifts and
// rounding halves are widened to int64 once, not once per row (the same arithmetic as requant16).
inline void store_requant16(const __m512i* cbuf, int64_t M, int j, int64_t n, __mmask16 mask,
                            const GemmEpilogue& ep) {
  const __m512i m = ep.per_channel ? _mm512_maskz_loadu_epi32(mask, ep.m0 + n) : _mm512_set1_epi32(ep.m0[0]);
  const __m512i s = ep.per_channel ? _mm512_maskz_loadu_epi32(mask, ep.shift + n) : _mm512_set1_epi32(ep.shift[0]);
  const __m512i m_lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(m));
  const __m512i m_hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(m, 1));
  const __m512i s_lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(s));
  const __m512i s_hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(s, 1));
  const __m512i one = _mm512_set1_epi64(1);  // 2^(s-1) for s >= 1 and 0 for s = 0
  const __m512i half_lo = _mm512_srli_epi64(_mm512_sllv_epi64(one, s_lo), 1);
  const __m512i half_hi = _mm512_srli_epi64(_mm512_sllv_epi64(one, s_hi), 1);
  const __m512i lo = _mm512_set1_epi64(int64_t(ep.qmin) - ep.zero_point);
  const __m512i hi = _mm512_set1_epi64(int64_t(ep.qmax) - ep.zero_point);
  const __m512i zp = _mm512_set1_epi32(ep.zero_point);
  const __m512i corr = _mm512_maskz_loadu_epi32(mask, ep.corr + n);
  for (int64_t r = 0; r < M; ++r) {
    const __m512i v = _mm512_add_epi32(cbuf[r * 4 + j], corr);
    const __m512i v_lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v));
    const __m512i v_hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1));
    const __m512i r_lo = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(v_lo, m_lo), half_lo), s_lo);
    const __m512i r_hi = _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(v_hi, m_hi), half_hi), s_hi);
    const __m512i c_lo = _mm512_max_epi64(_mm512_min_epi64(r_lo, hi), lo);
    const __m512i c_hi = _mm512_max_epi64(_mm512_min_epi64(r_hi, hi), lo);
    const __m512i q = _mm512_add_epi32(
        _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(c_lo)), _mm512_cvtepi64_epi32(c_hi), 1), zp);
    const int64_t o = r * ep.ldo + n;
    // q is inside [qmin, qmax]: truncating is exact for int8, uint8 and int16
    if (ep.kind == GemmOut::s16) _mm512_mask_cvtepi32_storeu_epi16(static_cast<int16_t*>(ep.out) + o, mask, q);
    else _mm512_mask_cvtepi32_storeu_epi8(static_cast<uint8_t*>(ep.out) + o, mask, q);
  }
}

inline void store_panel(const __m512i* cbuf, int64_t M, int64_t n0, int64_t N, const GemmEpilogue& ep) {
  const bool requant = ep.kind == GemmOut::s8 || ep.kind == GemmOut::u8 || ep.kind == GemmOut::s16;
  for (int j = 0; j < 4; ++j) {
    const int64_t n = n0 + 16 * j;
    if (n >= N) break;
    const int64_t left = N - n;
    const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    if (requant) store_requant16(cbuf, M, j, n, mask, ep);
    else
      for (int64_t r = 0; r < M; ++r) store16(cbuf[r * 4 + j], r, n, mask, ep);
  }
}

}  // namespace

void gemm_panels_avx512(const uint8_t* a, int64_t M, int64_t lda, const int8_t* b, int64_t k4, int64_t N,
                        int64_t p0, int64_t p1, const GemmEpilogue& ep) {
  // gemm.cpp pads the activation rows to a multiple of kGemmRowPad (zeros), so every row block is a full
  // 6-row tile; rows past M are computed and dropped.
  // per-thread scratch, 64-byte aligned (C++17 aligned new): one tile's accumulators, stored out right
  // after the tile (a whole panel's worth, M x 64 int32, left L1 and cost 25-40% at large M on Zen 5)
  thread_local std::vector<Zmm> cbuf_mem(kMR * 4);
  thread_local std::vector<int32_t> seg_lens;  // k4 steps per segment
  __m512i* cbuf = reinterpret_cast<__m512i*>(cbuf_mem.data());
  seg_lens.resize(static_cast<size_t>(ep.seg.n));
  for (int64_t s = 0; s < ep.seg.n; ++s) seg_lens[size_t(s)] = ep.seg.end[s] - (s ? ep.seg.end[s - 1] : 0);
  const int64_t elem = gemm_out_bytes(ep.kind);
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* panel = b + p * k4 * kPanel * 4;
    if (M == 1 && ep.seg.n == 0) {
      gemv_panel(a, panel, k4, cbuf);
      store_panel(cbuf, 1, p * kPanel, N, ep);
    } else if (M == 1) {
      std::fill(cbuf, cbuf + 4, _mm512_setzero_si512());
      for (int64_t s = 0, kb = 0; s < ep.seg.count(); kb = ep.seg.stop(s++, k4)) {
        const int64_t ke = ep.seg.stop(s, k4);
        __m512i part[4];
        if (ke > kb) gemv_panel(a + 4 * kb, panel + kb * kPanel * 4, ke - kb, part);
        const __m128i sh = _mm_cvtsi32_si128(ep.seg.shift_of(s));
        for (int j = 0; j < 4; ++j)
          cbuf[j] = _mm512_sll_epi32(ke > kb ? _mm512_add_epi32(cbuf[j], part[j]) : cbuf[j], sh);
      }
      store_panel(cbuf, 1, p * kPanel, N, ep);
    } else {
      // The whole K at once: the 64-column panel (64 * K bytes) streams from L2 under the prefetches.
      for (int64_t m = 0; m < M; m += kMR) {
        std::fill(cbuf, cbuf + kMR * 4, _mm512_setzero_si512());
        if (ep.seg.n == 0) tile6_asm(a + m * lda, lda, panel, k4, cbuf);
        else tile6_asm_segments(a + m * lda, lda, panel, seg_lens.data(), ep.seg.shift, ep.seg.n, cbuf);
        GemmEpilogue rows = ep;
        rows.out = static_cast<char*>(ep.out) + m * ep.ldo * elem;
        store_panel(cbuf, std::min<int64_t>(kMR, M - m), p * kPanel, N, rows);
      }
    }
  }
}

}  // namespace lowbit
