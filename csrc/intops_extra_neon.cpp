// NEON Log-Int-Softmax, PWL sigmoid / tanh, NN-LUT softmax and the PTF shift, bit-exact with
// intops_extra_scalar.cpp (the self-test compares them with the scalar kernels under qemu). 8 codes per
// step as two vectors of 4 int32 lanes (PWL sigmoid / tanh: 16 codes as two vectors of 8 16-bit lanes); a
// row's last partial block runs through the same vector code, padded (rows_neon.h).
// Log-Int-Softmax: the exps of the I-BERT softmax's 32-bit pass (ibert_exp_neon.h); the reference's division
// per element is replaced by intops_extra.h's 15 thresholds per row, k = the number of them that e is
// <= (they are non-increasing, so that count is the leading run). Constants outside the 32-bit exp path
// (shift outside [16, 47] or a clamp above 16 bits) run the scalar kernel, as on AVX-512.
// PWL sigmoid / tanh: the rows of pwl.pwl_plan on the codes (pwl16_neon.h, PwlActLanes below).
// NN-LUT softmax: the exps in 16-bit lanes as on AVX-512 (the comment above nnlut_t4), rounded by urshl.
#include <arm_neon.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "ibert_exp_neon.h"
#include "intops_extra.h"
#include "pwl16_neon.h"
#include "rows_neon.h"
#include "shift_lut_one.h"

namespace lowbit {
namespace {

using neon::Block8;
using neon::live4;
using neon::load4;
using neon::row_max;
using neon::store_left;

inline void store8(uint8_t* o, int64_t left, uint8x8_t v) {
  if (left >= 8) return vst1_u8(o, v);
  uint8_t tmp[8];
  vst1_u8(tmp, v);
  store_left(o, left, tmp);
}

// ---- Log-Int-Softmax

template <typename T>
void lis_rows(const T* q, int64_t rows, int64_t n, const neon::ExpLanes& k, uint8_t* out) {
  thread_local std::vector<uint32_t> ebuf;
  ebuf.resize(size_t((n + 7) & ~int64_t(7)));
  uint32_t* e = ebuf.data();
  Block8<T> blk;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const int32_t mx = row_max(row, n);
    const int32x4_t mxv = vdupq_n_s32(mx);
    uint64x2_t acc = vdupq_n_u64(0);
    for (int64_t i = 0; i < n; i += 8) {
      const T* b = blk.at(row + i, n - i, T(mx));
      for (int h = 0; h < 2; ++h) {
        uint32x4_t ev = neon::exp4(neon::sub_u4(mxv, load4(b + 4 * h)), k);  // < 2^31
        if (n - i < 8) ev = vandq_u32(ev, live4(n - i, 4 * h));
        vst1q_u32(e + i + 4 * h, ev);
        acc = vpadalq_u32(acc, ev);
      }
    }
    int32_t thr[15];
    lis_thresholds(int64_t(vaddvq_u64(acc)), thr);  // each in [0, 2^31 - 1]
    uint32x4_t tv[15];
    for (int t = 0; t < 15; ++t) tv[t] = vdupq_n_u32(uint32_t(thr[t]));
    for (int64_t i = 0; i < n; i += 8) {
      uint16x4_t h[2];
      for (int j = 0; j < 2; ++j) {
        const uint32x4_t ev = vld1q_u32(e + i + 4 * j);
        uint32x4_t kc = vdupq_n_u32(0);
        for (int t = 0; t < 15; ++t) kc = vsubq_u32(kc, vcleq_u32(ev, tv[t]));  // + 1 per threshold reached
        h[j] = vmovn_u32(kc);
      }
      store8(out + r * n + i, n - i, vmovn_u16(vcombine_u16(h[0], h[1])));
    }
  }
}

// ---- PWL sigmoid / tanh on 16 codes per step (intops_extra.h), every step in 16-bit lanes as in
// intops_extra_avx512.cpp's PwlActLanes: w and the row j by pwl16_neon.h, the rows' columns by WordTable64,
// shifts by one vqtbl4q. With x = (w - start) << shift < 2^16 (ushl: 0 for shift 16, where w = start),
// (slope x + frac) >> 16 is umlal onto the widened frac (< 2^32) and shrn by 16; the value adds it with
// suqadd (signed + unsigned, saturating: below 2^15 the sum is the reference's, past it both end at y_hi <=
// 2^15 - 1), then the clamp to [y_lo, y_hi] (always: for clipless plans it changes nothing).
struct PwlActLanes {
  neon::RowSearch rows;
  neon::WordTable64 st, va, fr, sl;
  uint8x16x4_t sh;
  int16x8_t ylo, yhi;
  struct Cols {
    uint16_t s[kPwlActRows], v[kPwlActRows], c[kPwlActRows], l[kPwlActRows], h[kPwlActRows];
    uint8_t hb[kPwlActRows];
    explicit Cols(const PwlActParams& p) {
      neon::pad_rows(p.starts, p.k, s), neon::pad_rows(p.values, p.k, v), neon::pad_rows(p.fracs, p.k, c);
      neon::pad_rows(p.slopes, p.k, l), neon::pad_rows(p.shifts, p.k, h);
      for (int j = 0; j < kPwlActRows; ++j) hb[j] = uint8_t(h[j]);
    }
  };
  PwlActLanes(const PwlActParams& p, const Cols& c)
      : rows(p.starts, p.k, p.w_max), st(c.s), va(c.v), fr(c.c), sl(c.l), sh(vld1q_u8_x4(c.hb)) {
    ylo = vdupq_n_s16(int16_t(p.y_lo)), yhi = vdupq_n_s16(int16_t(p.y_hi));
  }
  explicit PwlActLanes(const PwlActParams& p) : PwlActLanes(p, Cols(p)) {}

  // the outputs of 16 lanes w in [0, w_max]
  void eval(const uint16x8_t w[2], int16x8_t y[2]) const {
    const uint8x16_t j = rows(w);
    uint16x8_t s[2], v[2], f[2], l[2];
    st(j, s), va(j, v), fr(j, f), sl(j, l);
    int16x8_t shv[2];
    neon::row_shifts(sh, j, shv);
    for (int h = 0; h < 2; ++h) {
      const uint16x8_t x = vshlq_u16(vsubq_u16(w[h], s[h]), shv[h]);
      const uint32x4_t p0 = vmlal_u16(vmovl_u16(vget_low_u16(f[h])), vget_low_u16(l[h]), vget_low_u16(x));
      const uint32x4_t p1 = vmlal_high_u16(vmovl_high_u16(f[h]), l[h], x);
      const uint16x8_t add = vshrn_high_n_u32(vshrn_n_u32(p0, 16), p1, 16);
      const int16x8_t yv = vuqaddq_s16(vreinterpretq_s16_u16(v[h]), add);
      y[h] = vminq_s16(vmaxq_s16(yv, ylo), yhi);
    }
  }
};

template <typename T>
void pwl_act_loop(const T* q, int64_t size, const neon::CodeWindow<T>& win, const PwlActLanes& k, int16_t* out) {
  neon::Block16<T> blk;
  int16_t ob[16];
  for (int64_t i = 0; i < size; i += 16) {
    const int64_t left = size - i;
    const T* b = blk.at(q + i, left, T(0));
    int16_t* o = left >= 16 ? out + i : ob;
    const uint16x8_t w[2] = {win(b), win(b + 8)};
    int16x8_t y[2];
    k.eval(w, y);
    vst1q_s16(o, y[0]), vst1q_s16(o + 8, y[1]);
    if (left < 16) store_left<16>(out + i, left, ob);
  }
}

// ---- NN-LUT softmax (intops_extra.h): 8 codes per step. t on 4 dword lanes (d m < 2^32 for s < 16; else
// the split (hi16(d) m + ((lo16(d) m) >> 16)) >> (s - 16), exact by nested floors), then in 8 word lanes:
// the row by a scan of bit selects over the rows (starts increase: the last row whose start <= v wins),
// y = value - ((v slope) >> 10) (umull), e = urshl(y, -(k + 1)) (= rshift_round, 0 for k >= 16), the sum
// terms urshl(y << g, -(k + 1)) on dword lanes, and the outputs urshl(e r, -sh) (e r < 2^31) saturated.
inline uint32x4_t nnlut_t4(uint32x4_t d, const NnlutSoftmaxParams& p, uint32x4_t dcap, uint32x4_t m) {
  d = vminq_u32(d, dcap);
  uint32x4_t t;
  if (p.s < 16) {
    t = vshlq_u32(vmulq_u32(d, m), vdupq_n_s32(-p.s));  // d <= dcap: d m < 2^31
  } else {
    const uint32x4_t lo = vshrq_n_u32(vmulq_u32(vandq_u32(d, vdupq_n_u32(0xFFFF)), m), 16);
    t = vshlq_u32(vaddq_u32(vmulq_u32(vshrq_n_u32(d, 16), m), lo), vdupq_n_s32(16 - p.s));  // 0 for s >= 48
  }
  return vminq_u32(t, vdupq_n_u32(kNnlutTmax));
}

template <typename T>
void nnlut_rows(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out) {
  thread_local std::vector<uint16_t> ebuf;
  ebuf.resize(size_t((n + 7) & ~int64_t(7)));
  uint16_t* e = ebuf.data();
  const int g = nnlut_g(n);
  const uint32x4_t dcap = vdupq_n_u32(uint32_t(std::min<int64_t>(p.dcap, 0xFFFFFFFF))), m = vdupq_n_u32(uint32_t(p.m));
  const uint16x8_t vmask = vdupq_n_u16((1 << kNnlutEf) - 1), one = vdupq_n_u16(1);
  const int32x4_t gv = vdupq_n_s32(g);
  Block8<T> blk;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const int32_t mx = row_max(row, n);
    const int32x4_t mxv = vdupq_n_s32(mx);
    uint64x2_t acc = vdupq_n_u64(0);
    for (int64_t i = 0; i < n; i += 8) {
      const T* b = blk.at(row + i, n - i, T(mx));
      const uint16x8_t t = vcombine_u16(vmovn_u32(nnlut_t4(neon::sub_u4(mxv, load4(b)), p, dcap, m)),
                                        vmovn_u32(nnlut_t4(neon::sub_u4(mxv, load4(b + 4)), p, dcap, m)));
      const uint16x8_t v = vandq_u16(t, vmask);
      const uint16x8_t k1 = vaddq_u16(vshrq_n_u16(t, kNnlutEf), one);  // k + 1
      uint16x8_t c = vdupq_n_u16(p.values[0]), s = vdupq_n_u16(p.slopes[0]);
      for (int j = 1; j < p.k; ++j) {
        const uint16x8_t ge = vcgeq_u16(v, vdupq_n_u16(p.starts[j]));
        c = vbslq_u16(ge, vdupq_n_u16(p.values[j]), c), s = vbslq_u16(ge, vdupq_n_u16(p.slopes[j]), s);
      }
      const uint16x8_t d = vcombine_u16(vshrn_n_u32(vmull_u16(vget_low_u16(v), vget_low_u16(s)), kNnlutEf),
                                        vshrn_n_u32(vmull_high_u16(v, s), kNnlutEf));  // < 2^16
      uint16x8_t y = vsubq_u16(c, d);
      if (n - i < 8) y = vandq_u16(y, vcombine_u16(vmovn_u32(live4(n - i, 0)), vmovn_u32(live4(n - i, 4))));
      const int16x8_t nk1 = vnegq_s16(vreinterpretq_s16_u16(k1));
      vst1q_u16(e + i, vrshlq_u16(y, nk1));
      const int32x4_t nlo = vmovl_s16(vget_low_s16(nk1)), nhi = vmovl_high_s16(nk1);
      const uint32x4_t zl = vrshlq_u32(vshlq_u32(vmovl_u16(vget_low_u16(y)), gv), nlo);
      const uint32x4_t zh = vrshlq_u32(vshlq_u32(vmovl_high_u16(y), gv), nhi);
      acc = vpadalq_u32(acc, vaddq_u32(zl, zh));  // each < 2^28
    }
    int32_t rc;
    int sh;
    nnlut_row_recip(int64_t(vaddvq_u64(acc)), g, p, rc, sh);
    const uint16x4_t rv = vdup_n_u16(uint16_t(rc));
    const int32x4_t nsh = vdupq_n_s32(-std::min(sh, 32));  // e r < 2^31: 0 from 32 on
    for (int64_t i = 0; i < n; i += 8) {
      const uint16x8_t ev = vld1q_u16(e + i);
      const uint32x4_t lo = vrshlq_u32(vmull_u16(vget_low_u16(ev), rv), nsh);
      const uint32x4_t hi = vrshlq_u32(vmull_high_u16(ev, vcombine_u16(rv, rv)), nsh);
      store8(out + r * n + i, n - i, vqmovn_u16(vcombine_u16(vqmovn_u32(lo), vqmovn_u32(hi))));
    }
  }
}

}  // namespace

template <typename T>
void log_int_softmax_neon(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  const SoftmaxFast f = softmax_fast(p, sizeof(T) == 2);
  if (!f.ok) return log_int_softmax_scalar(q, rows, n, p, out);
  lis_rows(q, rows, n, neon::ExpLanes(p, f), out);
}

template <typename T>
void pwl_act_neon(const T* q, int64_t size, const PwlActParams& p, int16_t* out) {
  const neon::CodeWindow<T> win(p.r, p.base, p.w_max);
  if (!win.ok) return pwl_act_scalar(q, size, p, out);  // every code reads one end: as on AVX-512
  pwl_act_loop(q, size, win, PwlActLanes(p), out);
}

template <typename T>
void nnlut_softmax_neon(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out) {
  if (p.binary) return nnlut_softmax_scalar(q, rows, n, p, out);  // scales >= ~22: not a model's
  nnlut_rows(q, rows, n, p, out);
}

// x = (q - zp) << alpha[c] on 8 int16 lanes (|x| < 2^11), channel tails in scalar code
void ptf_shift_neon(const uint8_t* q, int64_t size, int64_t n, int32_t zp, const uint8_t* alpha, int16_t* x) {
  const int16x8_t z = vdupq_n_s16(int16_t(zp));
  for (int64_t r = 0; r < size; r += n) {
    int64_t c = 0;
    for (; c + 8 <= n; c += 8) {
      const int16x8_t d = vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(vld1_u8(q + r + c))), z);
      vst1q_s16(x + r + c, vshlq_s16(d, vreinterpretq_s16_u16(vmovl_u8(vld1_u8(alpha + c)))));
    }
    for (; c < n; ++c) x[r + c] = int16_t((int32_t(q[r + c]) - zp) * (1 << alpha[c]));
  }
}

#define LOWBIT_INTOPS_EXTRA_NEON(T)                                                                  \
  template void log_int_softmax_neon<T>(const T*, int64_t, int64_t, const SoftmaxParams&, uint8_t*); \
  template void pwl_act_neon<T>(const T*, int64_t, const PwlActParams&, int16_t*);                   \
  template void nnlut_softmax_neon<T>(const T*, int64_t, int64_t, const NnlutSoftmaxParams&, uint8_t*);
LOWBIT_INTOPS_EXTRA_NEON(int16_t)
LOWBIT_INTOPS_EXTRA_NEON(int32_t)

}  // namespace lowbit
