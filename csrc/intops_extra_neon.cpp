// NEON Log-Int-Softmax, PWL sigmoid / tanh, NN-LUT softmax and the PTF shift, bit-exact with
// intops_extra_scalar.cpp (the self-test compares them with the scalar kernels under qemu). 8 codes per
// step as two vectors of 4 int32 lanes; a row's last partial block runs through the same vector code,
// padded (rows_neon.h).
// Log-Int-Softmax: the exps of the I-BERT softmax's 32-bit pass (ibert_exp_neon.h); the reference's division
// per element is replaced by intops_extra.h's 15 thresholds per row, k = the number of them that e is
// <= (they are non-increasing, so that count is the leading run). Constants outside the 32-bit exp path
// (shift outside [16, 47] or a clamp above 16 bits) run the scalar kernel, as on AVX-512.
// PWL and NN-LUT: the magnitude rescale (mag_neon.h), then the table (pwl_neon.h). NN-LUT softmax rounds
// its exps with urshl (exact: y < 2^31) and its outputs on 64-bit products e r < 2^62.
#include <arm_neon.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "ibert_exp_neon.h"
#include "intops_extra.h"
#include "mag_neon.h"
#include "pwl_neon.h"
#include "rows_neon.h"
#include "shift_lut_one.h"

namespace lowbit {
namespace {

using neon::Block8;
using neon::live4;
using neon::load4;
using neon::Mag;
using neon::mag4;
using neon::row_max;
using neon::signed4;
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

// ---- PWL sigmoid / tanh

template <bool kSplit, typename T>
void pwl_act_loop(const T* q, int64_t size, const PwlActParams& p, const Mag& k, const neon::PwlEval& ev,
                  int16_t* out) {
  const int32x4_t q_lo = vdupq_n_s32(p.q_lo), q_hi = vdupq_n_s32(p.q_hi), u_lo = vdupq_n_s32(p.u_lo),
                  u_hi = vdupq_n_s32(p.u_hi), y_lo = vdupq_n_s32(p.y_lo), y_hi = vdupq_n_s32(p.y_hi);
  Block8<T> blk;
  for (int64_t i = 0; i < size; i += 8) {
    const int64_t left = size - i;
    const T* b = blk.at(q + i, left, T(0));
    int32x4_t u[2], y[2];
    for (int h = 0; h < 2; ++h) {
      const int32x4_t c = vminq_s32(vmaxq_s32(load4(b + 4 * h), q_lo), q_hi);
      const uint32x4_t neg = vcltzq_s32(c);  // |INT32_MIN| reads as 2^31 unsigned
      const int32x4_t x = signed4(mag4<kSplit>(vreinterpretq_u32_s32(vabsq_s32(c)), neg, k), neg);
      u[h] = vminq_s32(vmaxq_s32(x, u_lo), u_hi);
    }
    ev.values8(u[0], u[1], y[0], y[1]);
    for (int h = 0; h < 2; ++h) y[h] = vminq_s32(vmaxq_s32(y[h], y_lo), y_hi);
    const int16x8_t o = vcombine_s16(vmovn_s32(y[0]), vmovn_s32(y[1]));
    if (left >= 8) {
      vst1q_s16(out + i, o);
    } else {
      int16_t tmp[8];
      vst1q_s16(tmp, o);
      store_left(out + i, left, tmp);
    }
  }
}

// ---- NN-LUT softmax

template <bool kSplit, typename T>
void nnlut_rows(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, const Mag& k,
                const neon::PwlEval& ev, uint8_t* out) {
  thread_local std::vector<uint32_t> ebuf;
  ebuf.resize(size_t((n + 7) & ~int64_t(7)));
  uint32_t* e = ebuf.data();
  const uint32x4_t zero = vdupq_n_u32(0), fmask = vdupq_n_u32((1u << p.frac) - 1);
  const int32x4_t nfrac = vdupq_n_s32(-p.frac);
  Block8<T> blk;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const int32_t mx = row_max(row, n);
    const int32x4_t mxv = vdupq_n_s32(mx);
    uint64x2_t acc = vdupq_n_u64(0);
    for (int64_t i = 0; i < n; i += 8) {
      const T* b = blk.at(row + i, n - i, T(mx));
      uint32x4_t t[2];
      int32x4_t u[2], y[2];
      for (int h = 0; h < 2; ++h) {
        t[h] = mag4<kSplit>(neon::sub_u4(mxv, load4(b + 4 * h)), zero, k);  // <= tmax
        u[h] = vreinterpretq_s32_u32(vandq_u32(t[h], fmask));                                     // < 2^15
      }
      ev.values8(u[0], u[1], y[0], y[1]);  // in [0, 2^31 - 1)
      for (int h = 0; h < 2; ++h) {
        const int32x4_t nz = vnegq_s32(vreinterpretq_s32_u32(vshlq_u32(t[h], nfrac)));  // -(t >> frac), >= -31
        uint32x4_t ex = vrshlq_u32(vreinterpretq_u32_s32(y[h]), nz);
        if (n - i < 8) ex = vandq_u32(ex, live4(n - i, 4 * h));
        vst1q_u32(e + i + 4 * h, ex);
        acc = vpadalq_u32(acc, ex);
      }
    }
    int64_t rc;
    int sh;
    nnlut_row_recip(int64_t(vaddvq_u64(acc)), p, rc, sh);
    const uint32x4_t rv = vdupq_n_u32(uint32_t(rc));  // < 2^31
    const int64x2_t nsh = vdupq_n_s64(-sh);
    for (int64_t i = 0; i < n; i += 8) {
      uint16x4_t h[2];
      for (int j = 0; j < 2; ++j) {
        const uint32x4_t ev4 = vld1q_u32(e + i + 4 * j);
        const uint64x2_t lo = vrshlq_u64(vmull_u32(vget_low_u32(ev4), vget_low_u32(rv)), nsh);
        const uint64x2_t hi = vrshlq_u64(vmull_high_u32(ev4, rv), nsh);
        h[j] = vqmovn_u32(vcombine_u32(vqmovn_u64(lo), vqmovn_u64(hi)));
      }
      store8(out + r * n + i, n - i, vqmovn_u16(vcombine_u16(h[0], h[1])));
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
  // past cap the clamp to [u_lo, u_hi] decides u for either sign; past acap the magnitude reaches cap
  const int64_t cap = std::max<int64_t>(std::abs(int64_t(p.u_lo)), std::abs(int64_t(p.u_hi)));
  const int64_t amax = std::max<int64_t>(std::abs(int64_t(p.q_lo)), std::abs(int64_t(p.q_hi)));
  const int64_t c = round_c(p.shift, false);
  int64_t acap = first_reaching(amax, p.m0, p.shift, c - 1, cap);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 32768);
  const Mag k(p.m0, p.shift, c, acap, cap);
  const neon::PwlEval ev(p.starts, p.slopes, p.icpts, p.k, p.pshift);
  neon::with_form(k.split, [&](auto split) { pwl_act_loop<decltype(split)::value>(q, size, p, k, ev, out); });
}

template <typename T>
void nnlut_softmax_neon(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out) {
  if (p.binary) return nnlut_softmax_scalar(q, rows, n, p, out);  // scales >= ~4.5e4: not a model's
  const int64_t c = round_c(p.shift, false);
  int64_t acap = first_reaching(p.dcap, p.m0, p.shift, c, p.tmax);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 65535);
  const Mag k(p.m0, p.shift, c, acap, p.tmax);
  const neon::PwlEval ev(p.exp.starts, p.exp.slopes, p.exp.icpts, p.exp.k, p.exp.pshift);
  neon::with_form(k.split, [&](auto split) { nnlut_rows<decltype(split)::value>(q, rows, n, p, k, ev, out); });
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
