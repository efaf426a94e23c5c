// NEON Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU, bit-exact with shift_lut_one.h (the self-test
// compares them with the scalar kernels under qemu on random and edge rows, ShiftGELU on every int16 code).
// 8 codes per step as two vectors of 4 int32 lanes (ShiftGELU: 16 codes as two vectors of 8 int16 lanes);
// a row's last partial block runs through the same vector code, padded (rows_neon.h).
// NN-LUT GELU: the rows of nnlut.gelu_plan on the codes, 16 per step in 16-bit lanes (its section below).
// Shiftmax and LUT softmax start with the magnitude rescale of mag_neon.h, clamped as the
// AVX-512 kernels clamp it (the file comment of shift_lut_avx512.cpp: acap and cap change no result). Tables
// of 16-bit entries (LUT softmax's exp2: 128 entries, ShiftGELU's 64 knots and slopes) are looked up with
// vqtbl4q (/ vqtbx4q) on their bytes; exact roundings of unsigned lanes, rshift_round(v, s), are urshl by -s
// (the rounding add cannot overflow there, and shifts past the lane width give 0, as rshift_round does).
#include <arm_neon.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "mag_neon.h"
#include "pwl16_neon.h"
#include "pwl_neon.h"
#include "rows_neon.h"
#include "shift_lut.h"
#include "shift_lut_one.h"

namespace lowbit {
namespace {

using neon::Block16;
using neon::Block8;
using neon::live4;
using neon::load4;
using neon::Mag;
using neon::mag4;
using neon::row_max;
using neon::signed4;
using neon::store_left;
using neon::WordTable64;

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

// ---- ShiftGELU (shift_lut_one.h's shiftgelu_one) on 16 codes per step, every step in 16-bit lanes as in
// shift_lut_avx512.cpp's GeluLanes (its comment has the bounds): y = hi16((min(|q|, 65535 >> l) << l) m),
// t = y + ((y >> 1) - (y >> 4)) saturating at 2^16 - 1 (uqadd: the reference's rho is 0 there too), mant =
// 2^11 - urhadd(t & 2047, 0), rho = min((mant << 4) >> (t >> 11), 2^15 - 1) (ushl by -(t >> 11): 0 from
// 16 on), j = rho >> 9 as 16 bytes (uzp1), knot and slope by WordTable64 (vqtbl4q on their low and high
// bytes), s = knot - (slope (rho & 511)) >> 9 = knot - sqdmulh(slope, (rho & 511) << 6) (2 slope x 2^6 <
// 2^31: no saturation; the doubling and >> 16 make it >> 9 exactly). Output |q| s (umull, < 2^30) negated
// for negative q, s = 2^15 - s there. int16 codes: -2^15 is reported (cmeq, or-ed over the call).
struct GeluLanes {
  WordTable64 knot, slope;
  uint16x8_t acap, mask_f, c2048, c32767, c32768, c511;
  int16x8_t l;
  uint16_t m;
  static const uint16_t* knots(bool slopes) {
    static const struct K {
      uint16_t k[kGeluRecipSegs], s[kGeluRecipSegs];
      K() {
        for (int j = 0; j < kGeluRecipSegs; ++j) {
          k[j] = uint16_t(gelu_recip_knot(j));                          // <= 2^15
          s[j] = uint16_t(gelu_recip_knot(j) - gelu_recip_knot(j + 1));  // <= 504
        }
      }
    } t;
    return slopes ? t.s : t.k;
  }
  explicit GeluLanes(const ShiftGeluParams& p) : knot(knots(false)), slope(knots(true)) {
    acap = vdupq_n_u16(uint16_t(65535 >> p.l)), l = vdupq_n_s16(int16_t(p.l)), m = uint16_t(p.m);
    mask_f = vdupq_n_u16((1 << kGeluK) - 1), c2048 = vdupq_n_u16(1 << kGeluK);
    c32767 = vdupq_n_u16(32767), c32768 = vdupq_n_u16(32768), c511 = vdupq_n_u16(511);
  }
  // 2^15 sigmoid of 16 magnitudes a (<= 2^15 - 1): the positive side, in [2^14, 2^15]
  void sig_pos(const uint16x8_t a[2], uint16x8_t s[2]) const {
    uint16x8_t rho[2];
    for (int h = 0; h < 2; ++h) {
      const uint16x8_t x = vshlq_u16(vminq_u16(a[h], acap), l);  // < 2^16
      const uint16x8_t y = vuzp2q_u16(vreinterpretq_u16_u32(vmull_n_u16(vget_low_u16(x), m)),
                                      vreinterpretq_u16_u32(vmull_high_n_u16(x, m)));
      const uint16x8_t t = vqaddq_u16(y, vsubq_u16(vshrq_n_u16(y, 1), vshrq_n_u16(y, 4)));
      const uint16x8_t mant = vsubq_u16(c2048, vrhaddq_u16(vandq_u16(t, mask_f), vdupq_n_u16(0)));
      const int16x8_t nz = vnegq_s16(vreinterpretq_s16_u16(vshrq_n_u16(t, kGeluK)));  // in [-31, 0]
      rho[h] = vminq_u16(vshlq_u16(vshlq_n_u16(mant, 15 - kGeluK), nz), c32767);
    }
    const uint8x16_t j = vuzp1q_u8(vreinterpretq_u8_u16(vshrq_n_u16(rho[0], 9)),  // the low bytes: in [0, 63]
                                   vreinterpretq_u8_u16(vshrq_n_u16(rho[1], 9)));
    uint16x8_t k[2], sl[2];
    knot(j, k), slope(j, sl);
    for (int h = 0; h < 2; ++h) {
      const int16x8_t f = vreinterpretq_s16_u16(vshlq_n_u16(vandq_u16(rho[h], c511), 6));
      s[h] = vsubq_u16(k[h], vreinterpretq_u16_s16(vqdmulhq_s16(vreinterpretq_s16_u16(sl[h]), f)));
    }
  }
};

inline int16x8_t load8w(const int16_t* p) { return vld1q_s16(p); }
inline int16x8_t load8w(const int32_t* p) {  // |q| <= 2^15 - 1 (checked by the bindings)
  return vcombine_s16(vmovn_s32(vld1q_s32(p)), vmovn_s32(vld1q_s32(p + 4)));
}

template <typename O>
inline void store4(O* o, int32x4_t v) {
  if constexpr (std::is_same_v<O, int32_t>) {
    vst1q_s32(o, v);
  } else {
    vst1q_s64(o, vmovl_s32(vget_low_s32(v)));
    vst1q_s64(o + 2, vmovl_high_s32(v));
  }
}

template <typename T, typename O>
bool shiftgelu_loop(const T* q, int64_t size, const GeluLanes& k, O* out) {
  const int16x8_t qmin = vdupq_n_s16(INT16_MIN);
  uint16x8_t bad = vdupq_n_u16(0);
  Block16<T> blk;
  O ob[16];
  for (int64_t i = 0; i < size; i += 16) {
    const int64_t left = size - i;
    const T* b = blk.at(q + i, left, T(0));
    O* o = left >= 16 ? out + i : ob;
    const int16x8_t qv[2] = {load8w(b), load8w(b + 8)};
    if constexpr (sizeof(T) == 2) bad = vorrq_u16(bad, vorrq_u16(vceqq_s16(qv[0], qmin), vceqq_s16(qv[1], qmin)));
    const uint16x8_t a[2] = {vreinterpretq_u16_s16(vabsq_s16(qv[0])), vreinterpretq_u16_s16(vabsq_s16(qv[1]))};
    uint16x8_t sp[2];
    k.sig_pos(a, sp);
    for (int h = 0; h < 2; ++h) {
      const uint16x8_t neg = vcltzq_s16(qv[h]);
      const uint16x8_t s = vbslq_u16(neg, vsubq_u16(k.c32768, sp[h]), sp[h]);  // q < 0: 2^15 - s
      const int16x8_t sg = vreinterpretq_s16_u16(neg);                         // -1 for q < 0
      const int32x4_t plo = vreinterpretq_s32_u32(vmull_u16(vget_low_u16(a[h]), vget_low_u16(s)));
      const int32x4_t phi = vreinterpretq_s32_u32(vmull_high_u16(a[h], s));
      const int32x4_t mlo = vmovl_s16(vget_low_s16(sg)), mhi = vmovl_high_s16(sg);
      store4(o + 8 * h, vsubq_s32(veorq_s32(plo, mlo), mlo));
      store4(o + 8 * h + 4, vsubq_s32(veorq_s32(phi, mhi), mhi));
    }
    if (left < 16) store_left<16>(out + i, left, ob);
  }
  return sizeof(T) != 2 || vmaxvq_u16(bad) == 0;  // int32 codes: checked by the bindings
}

// ---- NN-LUT GELU (shift_lut.h) on 16 codes per step, as shift_lut_avx512.cpp's PwlGeluLanes: w and the row
// j by pwl16_neon.h, the rows' columns by WordTable64, shifts by one vqtbl4q; x = |w - anchor| << shift
// (ushl: 0 for shift 16, where w = anchor), d = (slope x) >> 16 (umull, shrn), y = value + d on 32-bit lanes
// (the value's words zipped, uaddw). Codes q >= q8 (x >= 8, rare) take the scalar identity, in the blocks
// that hold one.
struct PwlGeluLanes {
  neon::RowSearch rows;
  neon::WordTable64 an, sl, vl, vh;
  uint8x16x4_t sh;
  struct Cols {
    uint16_t a[kPwlGeluRows], l[kPwlGeluRows], vlo[kPwlGeluRows], vhi[kPwlGeluRows], h[kPwlGeluRows];
    uint8_t hb[kPwlGeluRows];
    explicit Cols(const PwlGeluParams& p) {
      neon::pad_rows(p.anchors, p.k, a), neon::pad_rows(p.slopes, p.k, l), neon::pad_rows(p.shifts, p.k, h);
      for (int j = 0; j < kPwlGeluRows; ++j) {
        const uint32_t v = uint32_t(p.values[j < p.k ? j : p.k - 1]);
        vlo[j] = uint16_t(v & 0xFFFF), vhi[j] = uint16_t(v >> 16), hb[j] = uint8_t(h[j]);
      }
    }
  };
  PwlGeluLanes(const PwlGeluParams& p, const Cols& c)
      : rows(p.starts, p.k, p.w_max), an(c.a), sl(c.l), vl(c.vlo), vh(c.vhi), sh(vld1q_u8_x4(c.hb)) {}
  explicit PwlGeluLanes(const PwlGeluParams& p) : PwlGeluLanes(p, Cols(p)) {}

  // the outputs of 16 lanes w in [0, w_max]
  void eval(const uint16x8_t w[2], int32x4_t y[4]) const {
    const uint8x16_t j = rows(w);
    uint16x8_t a[2], l[2], lo[2], hi[2];
    an(j, a), sl(j, l), vl(j, lo), vh(j, hi);
    int16x8_t shv[2];
    neon::row_shifts(sh, j, shv);
    for (int h = 0; h < 2; ++h) {
      const uint16x8_t dw = vreinterpretq_u16_s16(vabsq_s16(vreinterpretq_s16_u16(vsubq_u16(w[h], a[h]))));
      const uint16x8_t x = vshlq_u16(dw, shv[h]);
      const uint16x8_t d = vshrn_high_n_u32(vshrn_n_u32(vmull_u16(vget_low_u16(l[h]), vget_low_u16(x)), 16),
                                            vmull_high_u16(l[h], x), 16);
      const uint32x4_t v0 = vreinterpretq_u32_u16(vzip1q_u16(lo[h], hi[h]));
      const uint32x4_t v1 = vreinterpretq_u32_u16(vzip2q_u16(lo[h], hi[h]));
      y[2 * h] = vreinterpretq_s32_u32(vaddw_u16(v0, vget_low_u16(d)));
      y[2 * h + 1] = vreinterpretq_s32_u32(vaddw_high_u16(v1, d));
    }
  }
};

// the largest of 16 codes
inline int32_t max16(const int16_t* b) { return vmaxvq_s16(vmaxq_s16(vld1q_s16(b), vld1q_s16(b + 8))); }
inline int32_t max16(const int32_t* b) {
  return vmaxvq_s32(vmaxq_s32(vmaxq_s32(vld1q_s32(b), vld1q_s32(b + 4)), vmaxq_s32(vld1q_s32(b + 8), vld1q_s32(b + 12))));
}

template <typename T>
void pwl_gelu_loop(const T* q, int64_t size, const PwlGeluParams& p, const neon::CodeWindow<T>& win,
                   const PwlGeluLanes& k, int32_t* out) {
  neon::Block16<T> blk;
  int32_t ob[16];
  for (int64_t i = 0; i < size; i += 16) {
    const int64_t left = size - i;
    const T* b = blk.at(q + i, left, T(0));  // padding 0 < q8
    int32_t* o = left >= 16 ? out + i : ob;
    const uint16x8_t w[2] = {win(b), win(b + 8)};
    int32x4_t y[4];
    k.eval(w, y);
    for (int h = 0; h < 4; ++h) vst1q_s32(o + 4 * h, y[h]);
    if (max16(b) >= p.q8) {
      for (int e = 0; e < 16; ++e)
        if (b[e] >= p.q8) o[e] = pwl_gelu_one(b[e], p);
    }
    if (left < 16) store_left<16>(out + i, left, ob);
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
bool shiftgelu_neon(const T* q, int64_t size, const ShiftGeluParams& p, O* out) {
  return shiftgelu_loop(q, size, GeluLanes(p), out);
}

template <typename T>
void pwl_gelu_neon(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out) {
  const neon::CodeWindow<T> win(p.r, p.base, p.w_max);
  if (!win.ok) return pwl_gelu_scalar(q, size, p, out);  // not for gelu_plan's windows (base <= 0 < base + w_max)
  pwl_gelu_loop(q, size, p, win, PwlGeluLanes(p), out);
}

#define LOWBIT_SHIFT_LUT_NEON(T)                                                                   \
  template void shiftmax_neon<T>(const T*, int64_t, int64_t, const ShiftmaxParams&, uint8_t*);     \
  template bool shiftgelu_neon<T, int32_t>(const T*, int64_t, const ShiftGeluParams&, int32_t*);   \
  template bool shiftgelu_neon<T, int64_t>(const T*, int64_t, const ShiftGeluParams&, int64_t*);   \
  template void lut_softmax_neon<T>(const T*, int64_t, int64_t, const LutSoftmaxParams&, uint8_t*); \
  template void pwl_gelu_neon<T>(const T*, int64_t, const PwlGeluParams&, int32_t*);
LOWBIT_SHIFT_LUT_NEON(int16_t)
LOWBIT_SHIFT_LUT_NEON(int32_t)

}  // namespace lowbit
