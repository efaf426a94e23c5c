// AVX-512 raw kernels of the low-bit GEMV (layouts in lowbit_gemv.h).
//
// fields (unpack + VNNI): one 64-byte load of a row block holds F = 8 / bits vpdpbusd operands; each is
// the load ANDed with its field's mask (the field stays scaled by 2^(bits f): no shift), multiplied by the
// broadcast int8 activations. One accumulator per field (and per unrolled k4 step, so that enough
// vpdpbusd chains are in flight), shifted back once at the end.
//
// planes (LUT, T-MAC style): per 32 k and bit-plane, one 64-byte load holds the 4 x 8 k bits of 64 rows;
// vpmultishiftqb + vpternlogd turn each row's byte into the 4 table indices of its dword, vpermb looks them
// up in the 64-byte table of those 8 activations, vpdpbusd (multipliers 1, 16, 1, 16) adds them.
#include <immintrin.h>

#include <cstring>

#include "lowbit_gemv.h"

namespace lowbit {

namespace {

// Software prefetch distance of the weight stream, in bytes (16 KiB measured the same as 8 KiB).
constexpr int64_t kAhead = 8192;
// The same for each of the streams of fields_streams (8 KiB: 1-6% slower cold, 3-19% hot, in one A/B).
constexpr int64_t kStreamAhead = 4096;

inline __m512i bcast4(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int B, int MR, int U>
void fields_tile(const uint8_t* block, int64_t s0, int64_t s1, const uint8_t* x, int64_t lda, int32_t* raw,
                 int64_t ldr) {
  constexpr int F = 8 / B;
  __m512i acc[MR][F][U];
  __m512i mask[F];
#pragma GCC unroll 8
  for (int f = 0; f < F; ++f) mask[f] = _mm512_set1_epi8(char(((1 << B) - 1) << (B * f)));
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int f = 0; f < F; ++f)
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) acc[m][f][u] = _mm512_setzero_si512();
  for (int64_t s = s0; s < s1; s += U) {
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const __m512i wv = _mm512_loadu_si512(block + (s + u) * 64);
      // the line kAhead bytes ahead is asked for explicitly: without it the cold 4-bit GEMV streamed at
      // ~13 GB/s while the int8 one (prefetching 4 KiB ahead) read at the full DRAM rate; 8 KiB rather than
      // 4 KiB made the cold 1- and 2-bit GEMVs ~15% faster (a line takes fewer cycles to consume there)
      _mm_prefetch(reinterpret_cast<const char*>(block + (s + u) * 64 + kAhead), _MM_HINT_T0);
      __m512i xb[MR];
#pragma GCC unroll 8
      for (int m = 0; m < MR; ++m) xb[m] = bcast4(x + m * lda + (s + u) * 4);
#pragma GCC unroll 8
      for (int f = 0; f < F; ++f) {
        const __m512i wf = F == 1 ? wv : _mm512_and_si512(wv, mask[f]);
#pragma GCC unroll 8
        for (int m = 0; m < MR; ++m) acc[m][f][u] = _mm512_dpbusd_epi32(acc[m][f][u], wf, xb[m]);
      }
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int f = 0; f < F; ++f) {
      __m512i v = acc[m][f][0];
#pragma GCC unroll 8
      for (int u = 1; u < U; ++u) v = _mm512_add_epi32(v, acc[m][f][u]);
      // an exact multiple of 2^(B f): the arithmetic shift divides exactly
      _mm512_storeu_si512(raw + m * ldr + 16 * f, _mm512_srai_epi32(v, B * f));
    }
}

template <int B>
void fields_rows(const uint8_t* block, int64_t s0, int64_t s1, const uint8_t* x, int64_t lda, int64_t M,
                 int32_t* raw) {
  constexpr int64_t R = 16 * (8 / B);
  // M = 1 is bound by the weight stream: unroll k4 steps so 8 vpdpbusd chains run; small M reuses each
  // unpacked operand for several activation rows instead.
  constexpr int U1 = B == 4 ? 4 : (B == 2 ? 2 : 1);
  constexpr int MRX = B == 4 ? 4 : (B == 2 ? 3 : 2);
  int64_t m = 0;
  if (M == 1) {
    fields_tile<B, 1, U1>(block, s0, s1, x, lda, raw, R);
    return;
  }
  for (; m + MRX <= M; m += MRX) fields_tile<B, MRX, 1>(block, s0, s1, x + m * lda, lda, raw + m * R, R);
  for (; m < M; ++m) fields_tile<B, 1, U1>(block, s0, s1, x + m * lda, lda, raw + m * R, R);
}

// M = 1 over S row blocks at once (S read streams, lowbit_gemv.h): U k4 steps (U lines) of one block, then
// of the next, one accumulator per block and field; each stream prefetched kStreamAhead bytes ahead.
// 1-bit: the last field's accumulator takes the whole byte and the others are subtracted at the end (7 ANDs
// per line instead of 8: the 1-bit loop is bound by its 16 vector ops per line when hot, +4% at 4096 x 4096
// with the weights in L3, +1% cold; at 2 bits the same measured 3% slower hot). |sum x byte| <= 128 * 255 *
// kLbMaxK < 2^31: exact.
template <int B, int S, int U>
void fields_streams(const uint8_t* const* blocks, int64_t s0, int64_t s1, const uint8_t* x,
                    int32_t* const* raws) {
  constexpr int F = 8 / B;
  constexpr bool kWhole = B == 1;
  __m512i acc[S][F];
  __m512i mask[F];
  const uint8_t* bp[S];
#pragma GCC unroll 8
  for (int i = 0; i < S; ++i) bp[i] = blocks[i];
#pragma GCC unroll 8
  for (int f = 0; f < F; ++f) mask[f] = _mm512_set1_epi8(char(((1 << B) - 1) << (B * f)));
#pragma GCC unroll 8
  for (int i = 0; i < S; ++i)
#pragma GCC unroll 8
    for (int f = 0; f < F; ++f) acc[i][f] = _mm512_setzero_si512();
  for (int64_t s = s0; s < s1; s += U) {  // s0, s1: multiples of 8
    __m512i xb[U];
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) xb[u] = bcast4(x + (s + u) * 4);
#pragma GCC unroll 8
    for (int i = 0; i < S; ++i)
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) {
        const __m512i wv = _mm512_loadu_si512(bp[i] + (s + u) * 64);
        _mm_prefetch(reinterpret_cast<const char*>(bp[i] + (s + u) * 64 + kStreamAhead), _MM_HINT_T0);
#pragma GCC unroll 8
        for (int f = 0; f < F; ++f) {
          const __m512i wf = F == 1 || (kWhole && f == F - 1) ? wv : _mm512_and_si512(wv, mask[f]);
          acc[i][f] = _mm512_dpbusd_epi32(acc[i][f], wf, xb[u]);
        }
      }
  }
#pragma GCC unroll 8
  for (int i = 0; i < S; ++i) {
    if constexpr (kWhole)
#pragma GCC unroll 8
      for (int f = 0; f < F - 1; ++f) acc[i][F - 1] = _mm512_sub_epi32(acc[i][F - 1], acc[i][f]);
#pragma GCC unroll 8
    for (int f = 0; f < F; ++f) _mm512_storeu_si512(raws[i] + 16 * f, _mm512_srai_epi32(acc[i][f], B * f));
  }
}

template <int B, int MR>
void planes_tile(const uint8_t* block, int64_t q0, int64_t q1, const uint8_t* tables, int64_t ldt,
                 int32_t* raw) {
  __m512i acc[MR][B][4];
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int p = 0; p < B; ++p)
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) acc[m][p][c] = _mm512_setzero_si512();
  // byte offsets inside each qword (2 rows x 4 bytes): for step s, the row's byte s, its low nibble for
  // index bytes 0-1 and its high nibble for 2-3
  __m512i ctrl[4];
#pragma GCC unroll 4
  for (int s = 0; s < 4; ++s) {
    const uint64_t b = 8 * s;
    const uint64_t q = b | b << 8 | (b + 4) << 16 | (b + 4) << 24;
    ctrl[s] = _mm512_set1_epi64(int64_t(q | (q + 0x20202020u) << 32));
  }
  const __m512i low = _mm512_set1_epi8(0x0F), tsel = _mm512_set1_epi32(0x30201000);
  const __m512i mult = _mm512_set1_epi32(0x10011001);  // bytes 1, 16, 1, 16
  for (int64_t q = q0; q < q1; ++q) {
    __m512i tab[MR][4];
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
      for (int s = 0; s < 4; ++s) tab[m][s] = _mm512_loadu_si512(tables + m * ldt + (4 * q + s) * 64);
    const uint8_t* wq = block + q * B * 256;
    // B * 4 lines per step, each prefetched kAhead bytes ahead as in the fields kernel (without them the
    // cold 1-bit table GEMV read at a third of the DRAM rate)
#pragma GCC unroll 16
    for (int l = 0; l < B * 4; ++l) _mm_prefetch(reinterpret_cast<const char*>(wq + kAhead + 64 * l), _MM_HINT_T0);
#pragma GCC unroll 8
    for (int p = 0; p < B; ++p)
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m512i wv = _mm512_loadu_si512(wq + (p * 4 + c) * 64);
#pragma GCC unroll 4
        for (int s = 0; s < 4; ++s) {
          const __m512i idx =
              _mm512_ternarylogic_epi32(_mm512_multishift_epi64_epi8(ctrl[s], wv), low, tsel, 0xEA);
#pragma GCC unroll 8
          for (int m = 0; m < MR; ++m)
            acc[m][p][c] = _mm512_dpbusd_epi32(acc[m][p][c], _mm512_permutexvar_epi8(idx, tab[m][s]), mult);
        }
      }
  }
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m512i v = acc[m][0][c];
#pragma GCC unroll 8
      for (int p = 1; p < B; ++p) v = _mm512_add_epi32(v, _mm512_slli_epi32(acc[m][p][c], p));
      // lanes hold rows 2 i + h in dword order: row 16 c + lane
      _mm512_storeu_si512(raw + m * 64 + 16 * c, v);
    }
}

template <int B>
void planes_rows(const uint8_t* block, int64_t q0, int64_t q1, const uint8_t* tables, int64_t ldt, int64_t M,
                 int32_t* raw) {
  constexpr int MRX = B == 1 ? 4 : (B == 2 ? 2 : 1);
  int64_t m = 0;
  for (; m + MRX <= M; m += MRX) planes_tile<B, MRX>(block, q0, q1, tables + m * ldt, ldt, raw + m * 64);
  for (; m < M; ++m) planes_tile<B, 1>(block, q0, q1, tables + m * ldt, ldt, raw + m * 64);
}

}  // namespace

// The planes tables (lowbit_gemv.h) with vpdpbusd: the 16 subset sums of 4 nibbles are the dot products of
// the 16 bit patterns (0/1 bytes) with the broadcast nibbles.
void lb_build_tables_avx512(const uint8_t* x, int64_t kpad, uint8_t* t) {
  __m512i pattern;
  {
    alignas(64) uint32_t p[16];
    for (uint32_t idx = 0; idx < 16; ++idx)
      p[idx] = (idx & 1) | ((idx >> 1) & 1) << 8 | ((idx >> 2) & 1) << 16 | ((idx >> 3) & 1) << 24;
    pattern = _mm512_load_si512(p);
  }
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t e = 0; e < kpad / 8; ++e, t += 64) {
    uint64_t a;
    std::memcpy(&a, x + 8 * e, 8);
    const uint64_t lo = a & 0x0F0F0F0F0F0F0F0Full, hi = (a >> 4) & 0x0F0F0F0F0F0F0F0Full;
    const uint32_t parts[4] = {uint32_t(lo), uint32_t(hi), uint32_t(lo >> 32), uint32_t(hi >> 32)};
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      const __m512i sums = _mm512_dpbusd_epi32(zero, pattern, _mm512_set1_epi32(int32_t(parts[i])));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(t + 16 * i), _mm512_cvtepi32_epi8(sums));
    }
  }
}

// 16 rows at a time. The float64 product is exact (|acc| < 2^28 times a 24-bit scale); stored, as the row's
// only K segment (the scalar epilogue adds it to zero: the same value, +0 for -0, which the later sum from
// zero gives anyway).
void lb_finish_avx512(const int32_t* raw, int64_t rows, const int32_t* rowsum, int32_t mul, int32_t zm,
                      int32_t offxs, const float* scale, int32_t* out, double* yacc) {
  const __m512i vz = _mm512_set1_epi32(zm), vo = _mm512_set1_epi32(offxs), vm = _mm512_set1_epi32(mul);
  for (int64_t i = 0; i < rows; i += 16) {
    const __mmask16 m = rows - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (rows - i)) - 1);
    __m512i acc = _mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, raw + i),
                                   _mm512_mullo_epi32(vz, _mm512_maskz_loadu_epi32(m, rowsum + i)));
    acc = _mm512_add_epi32(_mm512_mullo_epi32(vm, acc), vo);
    if (!scale) {
      _mm512_mask_storeu_epi32(out + i, m, acc);
      continue;
    }
    const __m512 sc = _mm512_maskz_loadu_ps(m, scale + i);
    for (int h = 0; h < 2; ++h) {
      const __mmask8 mh = __mmask8(m >> (8 * h));
      const __m512d a = _mm512_cvtepi32_pd(h ? _mm512_extracti64x4_epi64(acc, 1) : _mm512_castsi512_si256(acc));
      const __m512d s = _mm512_cvtps_pd(h ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sc), 1))
                                          : _mm512_castps512_ps256(sc));
      _mm512_mask_storeu_pd(yacc + i + 8 * h, mh, _mm512_mul_pd(s, a));
    }
  }
}

// 8 outputs at a time, their combine rows gathered (stride combine) and added in row order from zero.
void lb_combine_avx512(const double* yacc, int64_t outs, int64_t combine, double s, float* out) {
  const __m512i idx = _mm512_mullo_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi64(combine));
  const __m512d vs = _mm512_set1_pd(s);
  for (int64_t o = 0; o < outs; o += 8) {
    const __mmask8 m = outs - o >= 8 ? __mmask8(0xFF) : __mmask8((1u << (outs - o)) - 1);
    const double* y = yacc + o * combine;
    __m512d v = _mm512_setzero_pd();
    if (combine == 1)  // per-row scales: contiguous
      v = _mm512_add_pd(v, _mm512_maskz_loadu_pd(m, y));
    else
      for (int64_t j = 0; j < combine; ++j)
        v = _mm512_add_pd(v, _mm512_mask_i64gather_pd(_mm512_setzero_pd(), m, idx, y + j, 8));
    _mm256_mask_storeu_ps(out + o, m, _mm512_cvtpd_ps(_mm512_mul_pd(vs, v)));
  }
}

void lb_fields_raw_avx512(const uint8_t* block, int64_t bits, int64_t k0, int64_t k1, const uint8_t* x,
                          int64_t lda, int64_t M, const uint8_t*, int64_t, int32_t* raw) {
  const int64_t s0 = k0 / 4, s1 = k1 / 4;  // multiples of 8
  switch (bits) {
    case 1: return fields_rows<1>(block, s0, s1, x, lda, M, raw);
    case 2: return fields_rows<2>(block, s0, s1, x, lda, M, raw);
    case 4: return fields_rows<4>(block, s0, s1, x, lda, M, raw);
    default: return;
  }
}

void lb_fields_streams_avx512(const uint8_t* const* blocks, int64_t bits, int64_t k0, int64_t k1,
                              const uint8_t* x, int32_t* const* raws) {
  const int64_t s0 = k0 / 4, s1 = k1 / 4;
  switch (bits) {
    case 1: return fields_streams<1, kLbStreams, 4>(blocks, s0, s1, x, raws);
    case 2: return fields_streams<2, kLbStreams, 4>(blocks, s0, s1, x, raws);
    case 4: return fields_streams<4, kLbStreams, 4>(blocks, s0, s1, x, raws);
    default: return;
  }
}

void lb_planes_raw_avx512(const uint8_t* block, int64_t bits, int64_t k0, int64_t k1, const uint8_t*,
                          int64_t, int64_t M, const uint8_t* tables, int64_t ldt, int32_t* raw) {
  const int64_t q0 = k0 / 32, q1 = k1 / 32;
  switch (bits) {
    case 1: return planes_rows<1>(block, q0, q1, tables, ldt, M, raw);
    case 2: return planes_rows<2>(block, q0, q1, tables, ldt, M, raw);
    case 3: return planes_rows<3>(block, q0, q1, tables, ldt, M, raw);
    case 4: return planes_rows<4>(block, q0, q1, tables, ldt, M, raw);
    default: return;
  }
}

}  // namespace lowbit
