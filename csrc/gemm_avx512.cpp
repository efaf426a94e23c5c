// AVX-512 VNNI int8 GEMM: vpdpbusd (uint8 x int8, 4 products per int32 lane) on the k4n64 layout.
// A tile is up to 6 rows x 64 columns = 6 x 4 zmm accumulators (csrc/gemm_tile_avx512.h); each k4 step
// loads the panel's 256 bytes once and broadcasts 4 activation bytes per row.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "gemm_epilogue.h"
#include "gemm_tile_avx512.h"
#include "simd_avx512.h"

namespace lowbit {

namespace {

struct alignas(64) Zmm {
  int32_t v[16];
};

constexpr int kMR = 6;  // 6 x 4 = 24 accumulators + 4 weight registers + 2 broadcasts <= 32 zmm
static_assert(kGemmRowPad % kMR == 0);  // threads split rows at multiples of kGemmRowPad
constexpr int64_t kMBlockBytes = int64_t(384) << 10;  // activation rows kept in L2 across the panels

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

// M = 1 (GEMV) is bound by reading the weights, not by vpdpbusd: two k4 steps per iteration give eight
// independent accumulator chains, so the loads, not the dependency chains, set the pace. One panel: weights
// in L2, and the 0-3 panels left over by gemv_panels4 below.
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

// Four panels side by side (b: the first one's k4 step 0; the others stride, 2 stride, 3 stride bytes
// on), one k4 step of each per iteration: four sequential read streams instead of one, 16 accumulator
// chains. Panel after panel, the whole weight is one stream, and from L3 one stream came at ~94-108 GB/s
// on Zen 5 (as the probe's read loop did on the same 16 MiB); four streams at ~114-122 GB/s. The caller
// gives each stream a quarter of the panels, so that each one runs on from panel to panel (four panels
// next to each other, restarting three streams every four panels, was ~4% slower at 1 x 4096 x 4096 and
// up to 30% slower with short panels, K = 512-768). Measured in one process, interleaved, on a
// standalone copy of the loops (tools/gemv_streams_ab.cpp), against the one stream: 1 x 4096 x 4096
// (L3) +20-26%; DRAM +12-15% (256 MiB) and +25-31% (64 MiB, partly L3-resident), where the former
// prefetchnta 8 KiB ahead of the one stream (+10-17% at 64 MiB, -7% at 256 MiB) lost to them;
// prefetcht0/t1/t2/nta added to the streams, 1-16 KiB ahead, 0-15% slower, hot and cold; 2, 3, 6 or 8
// streams instead of 4: the same or slower; two K halves of one panel as two streams: below two panels.
// With weights in L2 four streams lost 2-4% (512 x 512) and 14% (768 x 768): they run only from
// kGemvStreamsBytes on (1024 x 1024, 1 MiB: +4-6%).
// Inline asm (gcc's intrinsics loop kept its bound on the stack and indexed three of the four streams from
// one register: 1-3% slower): accumulators zmm0-15, the activation broadcast in zmm16, a pointer per stream.
inline void gemv_panels4(const uint8_t* a, const int8_t* b, int64_t stride, int64_t k4, __m512i* out) {
  const int8_t *b0 = b, *b1 = b + stride, *b2 = b1 + stride, *b3 = b2 + stride;
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n vmovdqa64 %%zmm0, %%zmm1\n vmovdqa64 %%zmm0, %%zmm2\n"
      "vmovdqa64 %%zmm0, %%zmm3\n vmovdqa64 %%zmm0, %%zmm4\n vmovdqa64 %%zmm0, %%zmm5\n"
      "vmovdqa64 %%zmm0, %%zmm6\n vmovdqa64 %%zmm0, %%zmm7\n vmovdqa64 %%zmm0, %%zmm8\n"
      "vmovdqa64 %%zmm0, %%zmm9\n vmovdqa64 %%zmm0, %%zmm10\n vmovdqa64 %%zmm0, %%zmm11\n"
      "vmovdqa64 %%zmm0, %%zmm12\n vmovdqa64 %%zmm0, %%zmm13\n vmovdqa64 %%zmm0, %%zmm14\n"
      "vmovdqa64 %%zmm0, %%zmm15\n"
      "test %[k], %[k]\n jle 2f\n"
      "1:\n"
      "vpbroadcastd (%[a]), %%zmm16\n"
      "vpdpbusd (%[b0]), %%zmm16, %%zmm0\n vpdpbusd 64(%[b0]), %%zmm16, %%zmm1\n"
      "vpdpbusd 128(%[b0]), %%zmm16, %%zmm2\n vpdpbusd 192(%[b0]), %%zmm16, %%zmm3\n"
      "vpdpbusd (%[b1]), %%zmm16, %%zmm4\n vpdpbusd 64(%[b1]), %%zmm16, %%zmm5\n"
      "vpdpbusd 128(%[b1]), %%zmm16, %%zmm6\n vpdpbusd 192(%[b1]), %%zmm16, %%zmm7\n"
      "vpdpbusd (%[b2]), %%zmm16, %%zmm8\n vpdpbusd 64(%[b2]), %%zmm16, %%zmm9\n"
      "vpdpbusd 128(%[b2]), %%zmm16, %%zmm10\n vpdpbusd 192(%[b2]), %%zmm16, %%zmm11\n"
      "vpdpbusd (%[b3]), %%zmm16, %%zmm12\n vpdpbusd 64(%[b3]), %%zmm16, %%zmm13\n"
      "vpdpbusd 128(%[b3]), %%zmm16, %%zmm14\n vpdpbusd 192(%[b3]), %%zmm16, %%zmm15\n"
      "add $4, %[a]\n add $256, %[b0]\n add $256, %[b1]\n add $256, %[b2]\n add $256, %[b3]\n"
      "dec %[k]\n jnz 1b\n"
      "2:\n"
      "vmovdqu64 %%zmm0, (%[o])\n vmovdqu64 %%zmm1, 64(%[o])\n vmovdqu64 %%zmm2, 128(%[o])\n"
      "vmovdqu64 %%zmm3, 192(%[o])\n vmovdqu64 %%zmm4, 256(%[o])\n vmovdqu64 %%zmm5, 320(%[o])\n"
      "vmovdqu64 %%zmm6, 384(%[o])\n vmovdqu64 %%zmm7, 448(%[o])\n vmovdqu64 %%zmm8, 512(%[o])\n"
      "vmovdqu64 %%zmm9, 576(%[o])\n vmovdqu64 %%zmm10, 640(%[o])\n vmovdqu64 %%zmm11, 704(%[o])\n"
      "vmovdqu64 %%zmm12, 768(%[o])\n vmovdqu64 %%zmm13, 832(%[o])\n vmovdqu64 %%zmm14, 896(%[o])\n"
      "vmovdqu64 %%zmm15, 960(%[o])\n"
      : [a] "+r"(a), [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2), [b3] "+r"(b3), [k] "+r"(k4)
      : [o] "r"(out)
      : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16");
}

constexpr int kGemvPanels = 4;  // read streams (panels) of the GEMV
constexpr int64_t kGemvStreamsBytes = int64_t(1) << 20;  // packed weights at least this large: four streams

// np (1 or kGemvPanels) panels stride bytes apart over k4 steps: out[4 q + j] is panel q's columns 16 j ...
inline void gemv_group(int np, const uint8_t* a, const int8_t* b, int64_t stride, int64_t k4, __m512i* out) {
  if (np == kGemvPanels) gemv_panels4(a, b, stride, k4, out);
  else gemv_panel(a, b, k4, out);
}
static_assert(kGemvPanels * 4 <= kMR * 4);  // cbuf holds the group's accumulators

// The epilogue of MR-row blocks of a finished panel: cbuf holds rows x 4 zmm.
// Requantizing epilogue of one 16-column group over all rows: the columns' multipliers, shifts and
// rounding halves are prepared once, not once per row (the arithmetic of requant16), the even and odd
// int32 lanes multiplied in place as int64 products (vpmuldq reads each 64-bit lane's low half).
inline void store_requant16(const __m512i* cbuf, int64_t M, int j, int64_t n, __mmask16 mask,
                            const GemmEpilogue& ep) {
  const __m512i m = ep.per_channel ? _mm512_maskz_loadu_epi32(mask, ep.m0 + n) : _mm512_set1_epi32(ep.m0[0]);
  const __m512i s = ep.per_channel ? _mm512_maskz_loadu_epi32(mask, ep.shift + n) : _mm512_set1_epi32(ep.shift[0]);
  const __m512i m_odd = _mm512_srli_epi64(m, 32);
  const __m512i s_even = _mm512_and_si512(s, _mm512_set1_epi64(0xFFFFFFFF)), s_odd = _mm512_srli_epi64(s, 32);
  const __m512i one = _mm512_set1_epi64(1);  // 2^(s-1) for s >= 1 and 0 for s = 0
  const __m512i half_even = _mm512_srli_epi64(_mm512_sllv_epi64(one, s_even), 1);
  const __m512i half_odd = _mm512_srli_epi64(_mm512_sllv_epi64(one, s_odd), 1);
  const __m512i lo = _mm512_set1_epi64(int64_t(ep.qmin) - ep.zero_point);
  const __m512i hi = _mm512_set1_epi64(int64_t(ep.qmax) - ep.zero_point);
  const __m512i zp = _mm512_set1_epi32(ep.zero_point);
  const __m512i corr = _mm512_maskz_loadu_epi32(mask, ep.corr + n);
  for (int64_t r = 0; r < M; ++r) {
    const __m512i v = _mm512_add_epi32(cbuf[r * 4 + j], corr);
    const __m512i p_even = _mm512_add_epi64(_mm512_mul_epi32(v, m), half_even);
    const __m512i p_odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(v, 32), m_odd), half_odd);
    const __m512i c_even = _mm512_max_epi64(_mm512_min_epi64(_mm512_srav_epi64(p_even, s_even), hi), lo);
    const __m512i c_odd = _mm512_max_epi64(_mm512_min_epi64(_mm512_srav_epi64(p_odd, s_odd), hi), lo);
    const __m512i q = _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, c_even, _mm512_slli_epi64(c_odd, 32)), zp);
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
  // per-thread scratch, 64-byte aligned (C++17 aligned new): one tile's accumulators, stored out right
  // after the tile (a whole panel's worth, M x 64 int32, left L1 and cost 25-40% at large M on Zen 5)
  thread_local std::vector<Zmm> cbuf_mem(kMR * 4);
  thread_local std::vector<int32_t> seg_lens;  // k4 steps per segment
  __m512i* cbuf = reinterpret_cast<__m512i*>(cbuf_mem.data());
  seg_lens.resize(static_cast<size_t>(ep.seg.n));
  for (int64_t s = 0; s < ep.seg.n; ++s) seg_lens[size_t(s)] = ep.seg.end[s] - (s ? ep.seg.end[s - 1] : 0);
  if (M == 1) {
    const int64_t panel_bytes = k4 * kPanel * 4;
    // panels p, p + step, ... (np of them) at once; K segments: the group over each segment in turn
    auto group = [&](int np, int64_t p, int64_t step) {
      const int8_t* panel = b + p * panel_bytes;
      const int64_t stride = step * panel_bytes;
      if (ep.seg.n == 0) {
        gemv_group(np, a, panel, stride, k4, cbuf);
      } else {
        std::fill(cbuf, cbuf + 4 * np, _mm512_setzero_si512());
        for (int64_t s = 0, kb = 0; s < ep.seg.count(); kb = ep.seg.stop(s++, k4)) {
          const int64_t ke = ep.seg.stop(s, k4);
          __m512i part[kGemvPanels * 4];
          if (ke > kb) gemv_group(np, a + 4 * kb, panel + kb * kPanel * 4, stride, ke - kb, part);
          const __m128i sh = _mm_cvtsi32_si128(ep.seg.shift_of(s));
          for (int j = 0; j < 4 * np; ++j)
            cbuf[j] = _mm512_sll_epi32(ke > kb ? _mm512_add_epi32(cbuf[j], part[j]) : cbuf[j], sh);
        }
      }
      for (int q = 0; q < np; ++q) store_panel(cbuf + 4 * q, 1, (p + q * step) * kPanel, N, ep);
    };
    // Past L2, four streams over four quarters of [p0, p1) (group i: panels p0 + i + quarter * {0, 1, 2,
    // 3}); the 0-3 panels left over, and every panel of weights that sit in L2, one after another.
    const bool streams = (N + kPanel - 1) / kPanel * panel_bytes >= kGemvStreamsBytes;
    const int64_t quarter = streams ? (p1 - p0) / kGemvPanels : 0;
    for (int64_t i = 0; i < quarter; ++i) group(kGemvPanels, p0 + i, quarter);
    for (int64_t p = p0 + kGemvPanels * quarter; p < p1; ++p) group(1, p, 1);
    return;
  }
  // Rows are cut into ceil(M / 6) tiles of near-equal height (16 = 6 + 5 + 5, not 6 + 6 + 4 or a padded
  // 6 + 6 + 6); each tile runs the whole K at once, the 64-column panel (64 K bytes) streaming from L2.
  const int64_t tiles = (M + kMR - 1) / kMR, elem = gemm_out_bytes(ep.kind);
  // int32 output without ReLU (what torch._int_mm and MatMulInteger return) is stored by the tile's asm
  // from its registers: the round trip through cbuf and the C++ epilogue cost 2-3% at large shapes.
  const bool s32_in_asm = ep.kind == GemmOut::s32 && !ep.relu && ep.seg.n == 0;
  // The first tile over a panel reads it from L3 (or DRAM) as fast as it computes: at small M (16 x 4096 x
  // 4096) it was bound by that stream. The first two tiles therefore also prefetch half of the next panel
  // each into L2, spreading the L3 reads over the whole panel's compute (+9-20% at M = 12-24; neutral at
  // large M, where the first tile is a small part of the work). Tiles after them prefetch nothing (pfs
  // = 0 keeps re-touching one line of cbuf, already in L1). Prefetches past the buffer cannot fault.
  // With row blocks (below), the first two tiles of each block over a panel do this.
  const int64_t panel_bytes = k4 * kPanel * 4, half = (k4 / 2) * 256;
  // An int32 output the caller asks to stream (ep.stream_out: gemm() does for outputs of half an L3 or
  // more) is stored non-temporally (vmovntdq, whole 64-byte lines): no reads for ownership of lines that
  // leave L2 anyway (1.5-2.5% at 1024^3 and 512 x 768 x 3072 when forced on, interleaved A/B). The output
  // then ends in DRAM, not L3, so a consumer reading a 4 MiB output right away would lose more (~70 us)
  // than the GEMM gains (~35 us): hence the caller's choice by size. Needs every row's 64-column block
  // 64-byte aligned (gemm() allocates such outputs so); anything else takes the regular stores.
  const bool nt = s32_in_asm && ep.stream_out && ep.ldo % 16 == 0 && reinterpret_cast<uintptr_t>(ep.out) % 64 == 0;
  // Rows in blocks of tiles whose activations (<= 384 KiB) stay in L2 across the panels: at
  // 1024^3 A is 1 MiB, as large as L2, and was read from L3 for every panel (+0.5-1.6% at 1024^3, +2% at
  // 1536 x 1024 x 1024, interleaved A/B; blocks of 192-512 KiB measured alike).
  const int64_t blocks = (M * lda + kMBlockBytes - 1) / kMBlockBytes, tb = (tiles + blocks - 1) / blocks;
  for (int64_t t0 = 0; t0 < tiles; t0 += tb) {
    const int64_t t1 = std::min(tiles, t0 + tb);
    for (int64_t p = p0; p < p1; ++p) {
      const int8_t* panel = b + p * panel_bytes;
      // the panel after this one: the next block starts over at p0
      const int64_t pn = p + 1 < p1 || t1 == tiles ? p + 1 : p0;
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t m = M * t / tiles, rows = M * (t + 1) / tiles - m;
        const bool pft = t < t0 + 2;  // the block's first two tiles prefetch the next panel into L2
        const int8_t* pf = pft ? b + pn * panel_bytes + (t - t0) * half : reinterpret_cast<const int8_t*>(cbuf);
        const int64_t pfs = pft ? 256 : 0;
        // where the next tile starts, from this panel's end (LB_PFW_BACK)
        const int64_t back = t + 1 < t1 ? -panel_bytes : (pn - p - 1) * panel_bytes;
        if (s32_in_asm && (p + 1) * kPanel <= N) {
          int32_t* o = static_cast<int32_t*>(ep.out) + m * ep.ldo + p * kPanel;
          if (nt)
            tile_avx512::tile_s32_rows<true>(int(rows), a + m * lda, lda, panel, k4, o, ep.ldo * 4,
                                             ep.corr + p * kPanel, pf, pfs, back);
          else
            tile_avx512::tile_s32_rows<false>(int(rows), a + m * lda, lda, panel, k4, o, ep.ldo * 4,
                                              ep.corr + p * kPanel, pf, pfs, back);
          continue;
        }
        if (ep.seg.n == 0)
          tile_avx512::tile_rows(int(rows), a + m * lda, lda, panel, k4, cbuf, pf, pfs, back);
        else
          tile_avx512::tile_segments_rows(int(rows), a + m * lda, lda, panel, seg_lens.data(), ep.seg.shift,
                                          ep.seg.n, cbuf, pf, pfs);
        GemmEpilogue part = ep;
        part.out = static_cast<char*>(ep.out) + m * ep.ldo * elem;
        store_panel(cbuf, rows, p * kPanel, N, part);
      }
    }
  }
  if (nt) _mm_sfence();  // the non-temporal stores are weakly ordered: done before the caller sees them
}

}  // namespace lowbit
