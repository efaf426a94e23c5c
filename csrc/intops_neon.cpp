// NEON I-BERT softmax / GELU / LayerNorm, bit-exact with intops_one.h (the self-test compares them with
// the scalar kernels under qemu). 4 lanes of 32 bits; the same 32-bit forms of the rescales as the
// AVX-512 kernels (intops_fast.h), and the scalar kernels where those forms do not apply or for row tails.
#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "ibert_exp_neon.h"
#include "intops.h"
#include "intops_fast.h"
#include "intops_one.h"
#include "rows_neon.h"

namespace lowbit {
namespace {

using neon::ExpLanes;
using neon::exp4;
using neon::load4;
using neon::row_max;

template <typename T>
void softmax_fast(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, const SoftmaxFast& f,
                  uint8_t* out) {
  thread_local std::vector<uint32_t> ebuf;
  ebuf.resize(size_t(n));
  uint32_t* e = ebuf.data();
  const ExpLanes k(p, f);
  const uint32x4_t rnd = vdupq_n_u32(1u << (kSoftmaxOutShift - 33)), u8max = vdupq_n_u32(255);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const int32_t mx = row_max(row, n);
    const int32x4_t mxv = vdupq_n_s32(mx);
    uint64x2_t acc = vdupq_n_u64(0);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      const uint32x4_t ev = exp4(neon::sub_u4(mxv, load4(row + i)), k);
      vst1q_u32(e + i, ev);
      acc = vpadalq_u32(acc, ev);
    }
    int64_t total = int64_t(vgetq_lane_u64(acc, 0) + vgetq_lane_u64(acc, 1));
    for (; i < n; ++i) total += e[i] = uint32_t(ibert_exp_one(int64_t(row[i]) - mx, p));
    const int64_t factor = (int64_t(1) << 62) / total;  // < 2^32: total > 2^30
    const uint32x2_t fv = vdup_n_u32(uint32_t(factor));
    uint8_t* o = out + r * n;
    i = 0;
    for (; i + 8 <= n; i += 8) {
      uint16x4_t h[2];
      for (int j = 0; j < 2; ++j) {
        const uint32x4_t ev = vld1q_u32(e + i + 4 * j);
        // rshift_round(e f, 54) = (hi32(e f) + 2^21) >> 22 (the rounding term leaves the low half alone)
        const uint32x4_t hi = vcombine_u32(vshrn_n_u64(vmull_u32(vget_low_u32(ev), fv), 32),
                                           vshrn_n_u64(vmull_high_u32(ev, vcombine_u32(fv, fv)), 32));
        h[j] = vmovn_u32(vminq_u32(vshrq_n_u32(vaddq_u32(hi, rnd), kSoftmaxOutShift - 32), u8max));
      }
      vst1_u8(o + i, vmovn_u16(vcombine_u16(h[0], h[1])));
    }
    for (; i < n; ++i) o[i] = ibert_softmax_out_one(e[i], factor);
  }
}

template <typename T, typename O>
void gelu_fast(const T* q, int64_t size, const GeluParams& p, const GeluFast& f, O* out) {
  const uint32x4_t acap = vdupq_n_u32(f.acap), ml = vdupq_n_u32(f.r.ml), mh = vdupq_n_u32(f.r.mh);
  const uint32x4_t ch = vdupq_n_u32(f.r.ch), cl_neg = vdupq_n_u32(f.cl_neg), cap = vdupq_n_u32(1u << kErfK);
  const int32x4_t neg_g = vdupq_n_s32(-f.r.g);
  const uint32x4_t qc = vdupq_n_u32(uint32_t(p.qc + (1 << (kErfDrop - 1))));
  const int32_t one_c = ibert_gelu_one_constant(p);
  const int32x4_t one = vdupq_n_s32(one_c);
  int64_t i = 0;
  for (; i + 4 <= size; i += 4) {
    const int32x4_t qv = load4(q + i);
    const uint32x4_t a = vreinterpretq_u32_s32(vabsq_s32(qv));  // |INT32_MIN| reads as 2^31
    const uint32x4_t neg = vcltzq_s32(qv);                       // all ones where q < 0
    const uint32x4_t ac = vminq_u32(a, acap);
    // a negative q rounds its product with 2^(shift-1) - 1: low half 0xFFFF, high half ch - 1
    const uint32x4_t lo = vshrq_n_u32(vmlaq_u32(vandq_u32(neg, cl_neg), ac, ml), 16);
    const uint32x4_t hi = vaddq_u32(vmlaq_u32(ch, ac, mh), neg);
    const uint32x4_t xe = vminq_u32(vshlq_u32(vaddq_u32(hi, lo), neg_g), cap);
    const uint32x4_t t = vsubq_u32(cap, xe);
    const int32x4_t mag = vreinterpretq_s32_u32(vshrq_n_u32(vmlsq_u32(qc, t, t), kErfDrop));
    if constexpr (std::is_same_v<O, int32_t>) {  // 16-bit codes: q one + |q| mag < 2^31
      vst1q_s32(out + i, vmlaq_s32(vmulq_s32(qv, one), vreinterpretq_s32_u32(a), mag));
    } else {
      const int32x4_t g = vbslq_s32(neg, vsubq_s32(one, mag), vaddq_s32(one, mag));
      vst1q_s64(out + i, vmull_s32(vget_low_s32(qv), vget_low_s32(g)));
      vst1q_s64(out + i + 2, vmull_high_s32(qv, g));
    }
  }
  for (; i < size; ++i) out[i] = O(ibert_gelu_one(q[i], p, one_c));
}

}  // namespace

template <typename T>
void ibert_softmax_neon(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  const SoftmaxFast f = softmax_fast(p, sizeof(T) == 2);
  if (f.ok) softmax_fast(q, rows, n, p, f, out);
  else ibert_softmax_scalar(q, rows, n, p, out);
}

template <typename T, typename O>
void ibert_gelu_neon(const T* q, int64_t size, const GeluParams& p, O* out) {
  const GeluFast f = gelu_fast(p, sizeof(T) == 2);
  if (f.ok) gelu_fast(q, size, p, f, out);
  else ibert_gelu_scalar(q, size, p, out);
}

// LayerNorm: row sums in scalar code (vectorized by the compiler), the row constants as in the AVX-512
// kernel, and 4 lanes of the normalisation: y = (dp inv + B) >> ys with dp = d + 2^24 and inv < 2^32
// unsigned (one vmull_u32 per 2 lanes), then y m0 + beta (|y| <= 2^23 + 1, so < 2^62) shifted per
// channel and saturated to int8 by the narrowing moves (the clamp).
template <typename T>
void ibert_layernorm_neon(const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out) {
  thread_local std::vector<int64_t> br, nsh;
  br.resize(size_t(n)), nsh.resize(size_t(n));
  for (int64_t c = 0; c < n; ++c) {
    nsh[size_t(c)] = -p.shift[c];
    br[size_t(c)] = p.beta[c] + (p.shift[c] ? int64_t(1) << (p.shift[c] - 1) : 0);
  }
  const int32_t* m0 = p.m0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    int8_t* o = out + r * n;
    int64_t s = 0, s2 = 0;
    for (int64_t i = 0; i < n; ++i) s += row[i], s2 += int64_t(row[i]) * row[i];
    const LnRow st = ibert_layernorm_row_fast(s, s2, n, p.eps);
    int64_t i = 0;
    if (st.inv <= int64_t(0xFFFFFFFF)) {
      const int32x4_t mp = vdupq_n_s32(int32_t((int64_t(1) << 24) - st.mean));
      const uint32x2_t inv = vdup_n_u32(uint32_t(st.inv));
      const int64x2_t b = vdupq_n_s64((int64_t(1) << (st.y_shift - 1)) - (st.inv << 24));
      const int64x2_t nys = vdupq_n_s64(-st.y_shift);
      for (; i + 4 <= n; i += 4) {
        const uint32x4_t dp = vreinterpretq_u32_s32(vaddq_s32(vshlq_n_s32(load4(row + i), kLnF), mp));
        const int64x2_t y_lo = vshlq_s64(vaddq_s64(vreinterpretq_s64_u64(vmull_u32(vget_low_u32(dp), inv)), b), nys);
        const int64x2_t y_hi =
            vshlq_s64(vaddq_s64(vreinterpretq_s64_u64(vmull_high_u32(dp, vcombine_u32(inv, inv))), b), nys);
        const int32x4_t y = vcombine_s32(vmovn_s64(y_lo), vmovn_s64(y_hi));
        const int32x4_t mc = vld1q_s32(m0 + i);
        const int64x2_t v_lo = vshlq_s64(vaddq_s64(vmull_s32(vget_low_s32(y), vget_low_s32(mc)), vld1q_s64(br.data() + i)),
                                         vld1q_s64(nsh.data() + i));
        const int64x2_t v_hi = vshlq_s64(vaddq_s64(vmull_high_s32(y, mc), vld1q_s64(br.data() + i + 2)),
                                         vld1q_s64(nsh.data() + i + 2));
        const int16x4_t v16 = vqmovn_s32(vcombine_s32(vqmovn_s64(v_lo), vqmovn_s64(v_hi)));
        const int8x8_t v8 = vqmovn_s16(vcombine_s16(v16, v16));
        const int32_t four = vget_lane_s32(vreinterpret_s32_s8(v8), 0);
        std::memcpy(o + i, &four, 4);
      }
    }
    for (; i < n; ++i) o[i] = ibert_layernorm_one(row[i], i, st, p);
  }
}

#define LOWBIT_INTOPS_NEON(T)                                                                              \
  template void ibert_softmax_neon<T>(const T*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);         \
  template void ibert_gelu_neon<T, int64_t>(const T*, int64_t, const GeluParams&, int64_t*);              \
  template void ibert_gelu_neon<T, int32_t>(const T*, int64_t, const GeluParams&, int32_t*);              \
  template void ibert_layernorm_neon<T>(const T*, int64_t, int64_t, const LayerNormParams&, int8_t*);
LOWBIT_INTOPS_NEON(int16_t)
LOWBIT_INTOPS_NEON(int32_t)

}  // namespace lowbit
