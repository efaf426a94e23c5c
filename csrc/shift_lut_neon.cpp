// NEON Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU, bit-exact with shift_lut_one.h (the self-test
// compares them with the scalar kernels under qemu on random and edge rows, and checks the ShiftGELU
// division on every denominator). 8 codes per step as two vectors of 4 int32 lanes; a row's last partial
// block runs through the same vector code, padded (rows_neon.h).
// Every op starts with the magnitude rescale of mag_neon.h, clamped as the AVX-512 kernels clamp it (the
// file comment of shift_lut_avx512.cpp: acap and cap change no result). Tables of 16-bit entries (LUT
// softmax's exp2, ShiftGELU's reciprocal seeds) are looked up with vqtbl4q / vqtbx4q on their 256 bytes;
// exact roundings of unsigned lanes, rshift_round(v, s), are urshl by -s (the rounding add cannot overflow
// there, and shifts past the lane width give 0, as rshift_round does for those v).
#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "mag_neon.h"
#include "pwl_neon.h"
#include "rows_neon.h"
#include "shift_lut.h"
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

// 128 uint16 entries, as the 256 bytes of their little-endian array: entry f is bytes 2f, 2f + 1
struct Table16 {
  uint8x16x4_t t[4];
  explicit Table16(const uint16_t* v) {
    uint8_t b[256];
    std::memcpy(b, v, 256);
    for (int i = 0; i < 4; ++i) t[i] = vld1q_u8_x4(b + 64 * i);
  }
  // entries of 8 lanes f in [0, 127]
  uint16x8_t operator()(uint16x8_t f) const {
    uint8x16_t b = vreinterpretq_u8_u16(vmlaq_n_u16(vdupq_n_u16(0x0100), f, 0x0202));
    uint8x16_t v = vqtbl4q_u8(t[0], b);
    for (int i = 1; i < 4; ++i) {  // each byte index lies in exactly one 64-byte quarter
      b = vsubq_u8(b, vdupq_n_u8(64));
      v = vqtbx4q_u8(v, t[i], b);
    }
    return vreinterpretq_u16_u8(v);
  }
};

// all ones in the 8 lanes l < left
inline uint16x8_t live8(int64_t left) {
  return vcombine_u16(vmovn_u32(live4(left, 0)), vmovn_u32(live4(left, 4)));
}

// shift_exp_one(-m) on 4 lanes m >= 0, zf = shift_exp_zero_from(): m is clamped to zf and the exp is 0
// exactly from zf on. With T = -t = (x >> 4) - x - (x >> 1) for x = -m, z = T >> 15 and (r >> 1) + 2^15 =
// ((z + 2) 2^15 - T) >> 1 (as shift_lut_avx512.cpp's shift_exp_mag16); z <= 15 below zf.
inline uint32x4_t shift_exp_neg4(uint32x4_t m, uint32x4_t zf) {
  m = vminq_u32(m, zf);
  const int32x4_t x = vnegq_s32(vreinterpretq_s32_u32(m));
  const int32x4_t tn = vsubq_s32(vshrq_n_s32(x, 4), vaddq_s32(x, vshrq_n_s32(x, 1)));
  const int32x4_t z = vshrq_n_s32(tn, kShiftK);
  const int32x4_t w = vshrq_n_s32(vsubq_s32(vshlq_n_s32(vaddq_s32(z, vdupq_n_s32(2)), kShiftK), tn), 1);
  const uint32x4_t e = vreinterpretq_u32_s32(vshlq_s32(w, vsubq_s32(vdupq_n_s32(kShiftN), z)));
  return vandq_u32(e, vcltq_u32(m, zf));
}

// ---- Shiftmax

template <bool kSplit, typename T>
void shiftmax_rows(const T* q, int64_t rows, int64_t n, const Mag& k, uint8_t* out) {
  thread_local std::vector<uint32_t> ebuf;
  ebuf.resize(size_t((n + 7) & ~int64_t(7)));
  uint32_t* e = ebuf.data();
  const uint32x4_t zero = vdupq_n_u32(0), rnd = vdupq_n_u32(1u << (54 - 33)), u8max = vdupq_n_u32(255);
  Block8<T> blk;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const int32_t mx = row_max(row, n);
    const int32x4_t mxv = vdupq_n_s32(mx);
    uint64x2_t acc = vdupq_n_u64(0);
    for (int64_t i = 0; i < n; i += 8) {
      const T* b = blk.at(row + i, n - i, T(mx));
      for (int h = 0; h < 2; ++h) {
        const uint32x4_t u = neon::sub_u4(mxv, load4(b + 4 * h));
        uint32x4_t ev = shift_exp_neg4(mag4<kSplit>(u, zero, k), k.cap);  // <= 2^30
        if (n - i < 8) ev = vandq_u32(ev, live4(n - i, 4 * h));
        vst1q_u32(e + i + 4 * h, ev);
        acc = vpadalq_u32(acc, ev);
      }
    }
    const int64_t total = int64_t(vaddvq_u64(acc));  // >= 2^30: the max element's exp
    // factor = 2^32 only for total = 2^30, where every e is 0 or 2^30: 2^32 - 1 gives the same outputs
    const uint32x4_t fv = vdupq_n_u32(uint32_t(std::min<int64_t>((int64_t(1) << 62) / total, 0xFFFFFFFF)));
    uint8_t* o = out + r * n;
    for (int64_t i = 0; i < n; i += 8) {
      uint16x4_t h[2];
      for (int j = 0; j < 2; ++j) {
        const uint32x4_t ev = vld1q_u32(e + i + 4 * j);
        // rshift_round(e f, 54) = (hi32(e f) + 2^21) >> 22 (the rounding term leaves the low half alone)
        const uint32x4_t hi = vcombine_u32(vshrn_n_u64(vmull_u32(vget_low_u32(ev), vget_low_u32(fv)), 32),
                                           vshrn_n_u64(vmull_high_u32(ev, fv), 32));
        h[j] = vmovn_u32(vminq_u32(vshrq_n_u32(vaddq_u32(hi, rnd), 54 - 32), u8max));
      }
      const uint8x8_t p8 = vmovn_u16(vcombine_u16(h[0], h[1]));
      if (n - i >= 8) {
        vst1_u8(o + i, p8);
      } else {
        uint8_t tmp[8];
        vst1_u8(tmp, p8);
        store_left(o + i, n - i, tmp);
      }
    }
  }
}

// ---- LUT softmax: pass 1 keeps per element the exp (rexp, <= 2^15) or the exponent t (lnexp, <= 24 2^7)
// as 16 bits; pass 2 runs on 8 lanes of them: rexp rshift_round(e recip, len + 6) on 32-bit products
// (<= 2^30), lnexp rshift_round(exp2[tt mod 128], (tt >> 7) + 7) with tt = t + (len - 16) 2^7 + log2 < 2^13
// (len >= 16: a row's sum is >= exp2[0] = 2^15, checked by the bindings). Outputs saturate to 255 by the
// narrowing moves.
template <bool kSplit, typename T>
void lut_rows(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, const Mag& k, uint8_t* out) {
  thread_local std::vector<uint16_t> buf;
  buf.resize(size_t((n + 7) & ~int64_t(7)));
  uint16_t* b = buf.data();
  const Table16 exp2(p.exp2);
  const uint32x4_t zero = vdupq_n_u32(0);
  const uint16x8_t mask7 = vdupq_n_u16((1 << kLutFrac) - 1);
  Block8<T> blk;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    const int32_t mx = row_max(row, n);
    const int32x4_t mxv = vdupq_n_s32(mx);
    uint64x2_t acc = vdupq_n_u64(0);
    for (int64_t i = 0; i < n; i += 8) {
      const T* c = blk.at(row + i, n - i, T(mx));
      const uint32x4_t t0 = mag4<kSplit>(neon::sub_u4(mxv, load4(c)), zero, k);
      const uint32x4_t t1 = mag4<kSplit>(neon::sub_u4(mxv, load4(c + 4)), zero, k);
      const uint16x8_t t = vcombine_u16(vmovn_u32(t0), vmovn_u32(t1));  // <= 24 2^7
      const int16x8_t nsh = vnegq_s16(vreinterpretq_s16_u16(vshrq_n_u16(t, kLutFrac)));
      uint16x8_t e = vrshlq_u16(exp2(vandq_u16(t, mask7)), nsh);
      if (n - i < 8) e = vandq_u16(e, live8(n - i));
      vst1q_u16(b + i, p.lnexp ? t : e);
      acc = vpadalq_u32(acc, vpaddlq_u16(e));
    }
    int idx, len;
    lut_mantissa(int64_t(vaddvq_u64(acc)), idx, len);
    uint8_t* o = out + r * n;
    const uint16x4_t rv = vdup_n_u16(p.recip[idx]);
    const int32x4_t rsh = vdupq_n_s32(-(len + 6));
    const uint16x8_t add = vdupq_n_u16(uint16_t(((len - 16) << kLutFrac) + p.log2[idx]));
    const uint16x8_t seven = vdupq_n_u16(15 - 8);
    for (int64_t i = 0; i < n; i += 8) {
      const uint16x8_t v = vld1q_u16(b + i);
      uint8x8_t o8;
      if (!p.lnexp) {
        const uint32x4_t lo = vrshlq_u32(vmull_u16(vget_low_u16(v), rv), rsh);
        const uint32x4_t hi = vrshlq_u32(vmull_u16(vget_high_u16(v), rv), rsh);
        o8 = vqmovn_u16(vcombine_u16(vqmovn_u32(lo), vqmovn_u32(hi)));
      } else {
        const uint16x8_t tt = vaddq_u16(v, add);
        const int16x8_t nsh = vnegq_s16(vreinterpretq_s16_u16(vaddq_u16(vshrq_n_u16(tt, kLutFrac), seven)));
        o8 = vqmovn_u16(vrshlq_u16(exp2(vandq_u16(tt, mask7)), nsh));
      }
      if (n - i >= 8) {
        vst1_u8(o + i, o8);
      } else {
        uint8_t tmp[8];
        vst1_u8(tmp, o8);
        store_left(o + i, n - i, tmp);
      }
    }
  }
}

// ---- ShiftGELU: sig = div_round(num 2^15, den) with den = D = E + 2^30 in [2^30, 2^31], num = 2^30 for
// y >= 0 and E for y < 0, by shift_lut_avx512.cpp's division (its comment has the bounds): Q = floor(2^45 / D)
// from a 128-entry seed table on d = (D >> 13) + 1 and one Newton step, exact to -1, one correction, then
// the rounding from the remainder. All 32-bit lane arithmetic; shiftgelu_division_mismatches_neon checks
// every D the shift-exp can produce, both signs.
struct SigLanes {
  Table16 recip;
  static const uint16_t* table() {
    static const struct T {
      uint16_t t[128];
      T() {
        for (int i = 0; i < 128; ++i) t[i] = uint16_t((int64_t(1) << 34) / ((2 * (128 + i) + 1) << 10));  // 2^33 / midpoint
      }
    } t;
    return t.t;
  }
  SigLanes() : recip(table()) {}
};

// sig of 4 lanes from D and the lanes with y < 0 (all ones)
inline uint32x4_t sig_from_den(uint32x4_t den, uint32x4_t neg, const SigLanes& k) {
  const uint32x4_t one = vdupq_n_u32(1), zero = vdupq_n_u32(0);
  const uint32x4_t d = vaddq_u32(vshrq_n_u32(den, 13), one);
  const uint32x4_t f = vandq_u32(vminq_u32(vshrq_n_u32(d, 10), vdupq_n_u32(255)), vdupq_n_u32(127));
  const uint16x8_t y0w = k.recip(vreinterpretq_u16_u32(f));  // the low word of each lane: its entry
  const int32x4_t y0 = vreinterpretq_s32_u32(vandq_u32(vreinterpretq_u32_u16(y0w), vdupq_n_u32(0xFFFF)));
  const int32x4_t e = vreinterpretq_s32_u32(vsubq_u32(zero, vmulq_u32(d, vreinterpretq_u32_s32(y0))));  // 2^33 - d Y0
  const int32x4_t y1 = vaddq_s32(vshlq_n_s32(y0, 8), vshrq_n_s32(vmulq_s32(y0, vshrq_n_s32(e, 11)), 14));
  const uint32x4_t qe = vshrq_n_u32(vreinterpretq_u32_s32(y1), 9);
  const uint32x4_t re = vsubq_u32(zero, vmulq_u32(qe, den));  // 2^45 - Qe D, in [0, 2 D)
  const uint32x4_t low = vcgeq_u32(re, den);
  const uint32x4_t qq = vsubq_u32(qe, low);
  const uint32x4_t rr = vsubq_u32(re, vandq_u32(den, low));
  const uint32x4_t thr = vshrq_n_u32(vsubq_u32(vaddq_u32(den, one), neg), 1);  // (D + 1 + [y < 0]) >> 1
  const uint32x4_t t = vsubq_u32(qq, vcgeq_u32(rr, thr));
  return vbslq_u32(neg, vsubq_u32(vdupq_n_u32(1u << kSigBits), t), t);
}

// the first magnitude m with shift_exp(-y(m)) = 0, y(m) = m + m>>1 + m>>3 + m>>4: from there on both signs
// saturate (sigmoid 2^15 for x >= m, 0 for x <= -m; shift_lut_avx512.cpp)
int64_t shiftgelu_cap() {
  static const int64_t cap = [] {
    int64_t lo = 0, hi = int64_t(1) << 22;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (shift_exp_one(-(mid + (mid >> 1) + (mid >> 3) + (mid >> 4))) == 0) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }();
  return cap;
}

template <bool kSplit, typename T, typename O>
void shiftgelu_loop(const T* q, int64_t size, const Mag& k, O* out) {
  static const int64_t zero_from = shift_exp_zero_from();
  const SigLanes d;
  const uint32x4_t zf = vdupq_n_u32(uint32_t(zero_from)), half = vdupq_n_u32(1u << 30);
  Block8<T> blk;
  O ob[8];
  for (int64_t i = 0; i < size; i += 8) {
    const int64_t left = size - i;
    const T* b = blk.at(q + i, left, T(0));
    O* o = left >= 8 ? out + i : ob;
    for (int h = 0; h < 2; ++h) {
      const int32x4_t qv = load4(b + 4 * h);  // |q| <= 2^15 - 1 (checked)
      const uint32x4_t neg = vcltzq_s32(qv);
      const int32x4_t x = signed4(mag4<kSplit>(vreinterpretq_u32_s32(vabsq_s32(qv)), neg, k), neg);
      const int32x4_t y = vaddq_s32(vaddq_s32(x, vshrq_n_s32(x, 1)), vaddq_s32(vshrq_n_s32(x, 3), vshrq_n_s32(x, 4)));
      // y >= 0: num = 2^30, den = 2^30 + E(-y); y < 0: num = E(y), den = E(y) + 2^30
      const uint32x4_t ex = shift_exp_neg4(vreinterpretq_u32_s32(vabsq_s32(y)), zf);
      const int32x4_t sig = vreinterpretq_s32_u32(sig_from_den(vaddq_u32(ex, half), vcltzq_s32(y), d));
      if constexpr (std::is_same_v<O, int32_t>) {
        vst1q_s32(o + 4 * h, vmulq_s32(qv, sig));  // |q| sig < 2^30
      } else {
        vst1q_s64(o + 4 * h, vmull_s32(vget_low_s32(qv), vget_low_s32(sig)));
        vst1q_s64(o + 4 * h + 2, vmull_high_s32(qv, sig));
      }
    }
    if (left < 8) store_left(out + i, left, ob);
  }
}

// ---- NN-LUT GELU: the grid value u clamped to [u_lo, u_hi]; u = u_hi takes the identity, whose lanes'
// table values (u = 2^15 saturated for the segment search) are discarded
template <bool kSplit, typename T>
void pwl_gelu_loop(const T* q, int64_t size, const PwlGeluParams& p, const Mag& k, const neon::PwlEval& ev,
                   int32_t* out) {
  const int32x4_t u_lo = vdupq_n_s32(p.u_lo), u_hi = vdupq_n_s32(p.u_hi), id_m0 = vdupq_n_s32(p.id_m0);
  const int64x2_t id_nsh = vdupq_n_s64(-p.id_shift);
  Block8<T> blk;
  int32_t ob[8];
  for (int64_t i = 0; i < size; i += 8) {
    const int64_t left = size - i;
    const T* b = blk.at(q + i, left, T(0));
    int32_t* o = left >= 8 ? out + i : ob;
    int32x4_t qv[2], u[2], y[2];
    for (int h = 0; h < 2; ++h) {
      qv[h] = load4(b + 4 * h);
      const uint32x4_t neg = vcltzq_s32(qv[h]);  // |INT32_MIN| reads as 2^31 unsigned
      const int32x4_t x = signed4(mag4<kSplit>(vreinterpretq_u32_s32(vabsq_s32(qv[h])), neg, k), neg);
      u[h] = vminq_s32(vmaxq_s32(x, u_lo), u_hi);
    }
    ev.values8(u[0], u[1], y[0], y[1]);
    for (int h = 0; h < 2; ++h) {
      const uint32x4_t ident = vcgeq_s32(u[h], u_hi);
      if (vmaxvq_u32(ident)) {  // rshift_round(q id_m0, id_shift) saturated to int32 (|q id_m0| < 2^62)
        const int64x2_t lo = vrshlq_s64(vmull_s32(vget_low_s32(qv[h]), vget_low_s32(id_m0)), id_nsh);
        const int64x2_t hi = vrshlq_s64(vmull_high_s32(qv[h], id_m0), id_nsh);
        y[h] = vbslq_s32(ident, vcombine_s32(vqmovn_s64(lo), vqmovn_s64(hi)), y[h]);
      }
      vst1q_s32(o + 4 * h, y[h]);
    }
    if (left < 8) store_left(out + i, left, ob);
  }
}

}  // namespace

template <typename T>
void shiftmax_neon(const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out) {
  static const int64_t zero_from = shift_exp_zero_from();
  const int64_t c = round_c(p.shift, true);
  int64_t acap = first_reaching(p.dclip, p.m0, p.shift, c, zero_from);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 65535);
  const Mag k(p.m0, p.shift, c, acap, zero_from);
  neon::with_form(k.split, [&](auto split) { shiftmax_rows<decltype(split)::value>(q, rows, n, k, out); });
}

template <typename T>
void lut_softmax_neon(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out) {
  const int64_t c = round_c(p.shift, false);
  int64_t acap = first_reaching(p.dcap, p.m0, p.shift, c, kLutTMax);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 65535);
  const Mag k(p.m0, p.shift, c, acap, kLutTMax);
  neon::with_form(k.split, [&](auto split) { lut_rows<decltype(split)::value>(q, rows, n, p, k, out); });
}

template <typename T, typename O>
void shiftgelu_neon(const T* q, int64_t size, const ShiftGeluParams& p, O* out) {
  const int64_t cap = shiftgelu_cap();
  const int64_t c = round_c(p.shift, false);
  // mag with c - 1 (negative codes) is the smaller: once it reaches cap, both have
  const int64_t acap = std::min<int64_t>(first_reaching(p.clip, p.m0, p.shift, c - 1, cap), 32767);
  const Mag k(p.m0, p.shift, c, acap, cap);
  neon::with_form(k.split, [&](auto split) { shiftgelu_loop<decltype(split)::value>(q, size, k, out); });
}

template <typename T>
void pwl_gelu_neon(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out) {
  const int64_t cap = std::max<int64_t>(p.u_hi, -int64_t(p.u_lo));  // past it u is clamped either way
  const int64_t c = round_c(p.shift, false);
  int64_t acap = first_reaching(p.lim, p.m0, p.shift, c - 1, cap);
  if (sizeof(T) == 2) acap = std::min<int64_t>(acap, 32768);
  const Mag k(p.m0, p.shift, c, acap, cap);
  const neon::PwlEval ev(p.starts, p.slopes, p.icpts, p.k, p.pshift);
  neon::with_form(k.split, [&](auto split) { pwl_gelu_loop<decltype(split)::value>(q, size, p, k, ev, out); });
}

int64_t shiftgelu_division_mismatches_neon() {
  // every E the shift-exp produces: 0 and ((r >> 1) + 2^15) << (15 - z), r >> 1 in [-2^14, 0], z in [0, 15]
  std::vector<uint32_t> es{0};
  for (int z = 0; z <= kShiftN; ++z)
    for (int h = -(1 << 14); h <= 0; ++h) es.push_back(uint32_t((h + (1 << kShiftK)) << (kShiftN - z)));
  while (es.size() % 4) es.push_back(0);
  const SigLanes d;
  int64_t bad = 0;
  uint32_t got[4];
  for (size_t i = 0; i < es.size(); i += 4) {
    const uint32x4_t den = vaddq_u32(vld1q_u32(es.data() + i), vdupq_n_u32(1u << 30));
    for (int which = 0; which < 2; ++which) {  // 0: y >= 0 (num = 2^30), 1: y < 0 (num = E)
      vst1q_u32(got, sig_from_den(den, vdupq_n_u32(which ? 0xFFFFFFFFu : 0u), d));
      for (int l = 0; l < 4; ++l) {
        const int64_t num = which ? int64_t(es[i + size_t(l)]) : int64_t(1) << 30;
        bad += got[l] != div_round(num << kSigBits, int64_t(es[i + size_t(l)]) + (int64_t(1) << 30));
      }
    }
  }
  return bad;
}

#define LOWBIT_SHIFT_LUT_NEON(T)                                                                   \
  template void shiftmax_neon<T>(const T*, int64_t, int64_t, const ShiftmaxParams&, uint8_t*);     \
  template void shiftgelu_neon<T, int32_t>(const T*, int64_t, const ShiftGeluParams&, int32_t*);   \
  template void shiftgelu_neon<T, int64_t>(const T*, int64_t, const ShiftGeluParams&, int64_t*);   \
  template void lut_softmax_neon<T>(const T*, int64_t, int64_t, const LutSoftmaxParams&, uint8_t*); \
  template void pwl_gelu_neon<T>(const T*, int64_t, const PwlGeluParams&, int32_t*);
LOWBIT_SHIFT_LUT_NEON(int16_t)
LOWBIT_SHIFT_LUT_NEON(int32_t)

}  // namespace lowbit
