// AVX-512 (F/BW/DQ/VL) requantization: 16 accumulators at a time, their even and odd lanes as int64 products.
#include <immintrin.h>

#include "requant.h"
#include "requant_tail.h"
#include "simd_avx512.h"

namespace lowbit {

namespace {

// 16 lanes of clamp(rshift_round(a * m, s), lo, hi) - zp offsets folded into lo / hi (64-bit lanes): the
// even and odd int32 lanes as two sets of 64-bit products (vpmuldq reads each lane's low half), no widening
struct Shifts {
  __m512i even, odd, half_even, half_odd;
  explicit Shifts(__m512i s) {
    const __m512i one = _mm512_set1_epi64(1);
    even = _mm512_and_si512(s, _mm512_set1_epi64(0xFFFFFFFF));
    odd = _mm512_srli_epi64(s, 32);
    half_even = _mm512_srli_epi64(_mm512_sllv_epi64(one, even), 1);  // 2^(s-1), 0 for s = 0
    half_odd = _mm512_srli_epi64(_mm512_sllv_epi64(one, odd), 1);
  }
};

inline __m512i requant16_lanes(__m512i a, __m512i m, const Shifts& s, __m512i lo, __m512i hi) {
  const __m512i p_even = _mm512_mul_epi32(a, m);
  const __m512i p_odd = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), _mm512_srli_epi64(m, 32));
  __m512i v_even = _mm512_srav_epi64(_mm512_add_epi64(p_even, s.half_even), s.even);
  __m512i v_odd = _mm512_srav_epi64(_mm512_add_epi64(p_odd, s.half_odd), s.odd);
  v_even = _mm512_max_epi64(_mm512_min_epi64(v_even, hi), lo);
  v_odd = _mm512_max_epi64(_mm512_min_epi64(v_odd, hi), lo);
  return _mm512_mask_blend_epi32(0xAAAA, v_even, _mm512_slli_epi64(v_odd, 32));
}

}  // namespace

void requantize_avx512(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                       void* out) {
  const __m512i lo = _mm512_set1_epi64(int64_t(p.qmin) - p.zero_point);
  const __m512i hi = _mm512_set1_epi64(int64_t(p.qmax) - p.zero_point);
  const __m512i zp = _mm512_set1_epi32(p.zero_point);
  const __m512i m_one = _mm512_set1_epi32(p.m0[0]);
  const Shifts s_one(_mm512_set1_epi32(p.shift[0]));
  // locals, not p.*: byte stores may alias the struct and force reloads
  const int32_t* m0 = p.m0;
  const int32_t* shift = p.shift;
  const bool per_channel = p.per_channel;
  const int64_t vec_end = cols - cols % 16;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    for (int64_t c = 0; c < vec_end; c += 16) {
      const __m512i av = _mm512_loadu_si512(a + c);
      __m512i v;
      if (per_channel) {
        const Shifts sc(_mm512_loadu_si512(shift + c));
        v = requant16_lanes(av, _mm512_loadu_si512(m0 + c), sc, lo, hi);
      } else {
        v = requant16_lanes(av, m_one, s_one, lo, hi);
      }
      v = _mm512_add_epi32(v, zp);
      const int64_t o = r * cols + c;
      // values are already inside [qmin, qmax], so truncating to bytes is exact for s8 and u8
      if (t == OutType::s32) _mm512_storeu_si512(static_cast<int32_t*>(out) + o, v);
      else _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint8_t*>(out) + o), _mm512_cvtepi32_epi8(v));
    }
    requant_row_tail(a, vec_end, cols, p, t, out, r * cols);
  }
}

}  // namespace lowbit
