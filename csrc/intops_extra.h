// Standalone kernels of the integer-only ops that had only numpy references: FQ-ViT's Log-Int-Softmax
// (lowbit/ops/fqvit.py; attention_fq fuses the same integers into attention) and the iRNN-style PWL sigmoid
// and tanh (lowbit/ops/pwl.py). As everywhere in intops, the constants a reference derives from float
// scales are computed in Python (lowbit/ops/intops_extra_kernels.py) and checked by
// bindings_intops_extra.cpp: the kernels are integer-only. Rows run along the last axis.
#pragma once
#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>

#include "cpu.h"
#include "intops.h"
#include "intops_one.h"

namespace lowbit {

// ---- Log-Int-Softmax: I-BERT's exps e of q - max (SoftmaxParams), their row sum S, then 4-bit codes
// k = floor(log2 r) + (bit below the leading one of r) with r = div_round(S, max(e, 1)); 15 where e = 0 or
// k >= 15 (p ~ 2^-k).
constexpr int kLisZero = 15;

template <typename T>
void log_int_softmax_scalar(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);
template <typename T>
void log_int_softmax_avx512(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);
template <typename T>
void log_int_softmax_neon(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);
template <typename T>
void log_int_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);

// k of one exp against its row's sum, as the reference computes it (div_round, then the leading bits)
uint8_t lis_code_one(int64_t e, int64_t total);

// The division-free form the SIMD kernel uses: r >= t  <=>  (2t - 1) e + (e & 1) <= 2 S (from
// r = floor((S + floor(e / 2)) / e)), so k counts the thresholds t in {2, 3, 6, 12, ..., 3 2^13} that r
// reaches, i.e. the t with e <= E_t, E_t = the largest e passing the test (non-increasing in t). e = 0
// passes every test (k = 15) and the count cannot exceed 15: the reference's two special cases.
// lis_thresholds writes the 15 E_t of a row sum (< 2^52), each capped at INT32_MAX (e < 2^31). Inline: a
// call from a vector loop would spill its constants (every zmm is caller-saved).
//
// E_t = the largest e >= 0 with d e + (e & 1) <= s for d = 2t - 1 (odd, >= 3) and s = 2 total, which is
// e0 = floor(s / d) itself: e0 passes (d e0 <= s, and for odd e0 d e0 < s, since d e0 = s would make e0 =
// 2 (total / d) even) and e0 + 1 fails. The quotient is one 64 x 64 -> 128-bit product: with
// g = floor(log2 d), M = ceil(2^(64+g) / d) < 2^64 and M d = 2^(64+g) + eps (0 <= eps < d),
// s M / 2^(64+g) = s / d + s eps / (d 2^(64+g)), and s eps < s d < 2^53 2^(g+1) <= 2^(64+g): the excess is
// below 1 / d, which cannot reach the next integer, so floor(s M / 2^(64+g)) = floor(s / d) for s < 2^53.
namespace lis_detail {
struct Magic {
  uint64_t m;
  int g;
};
constexpr Magic magic(int64_t d) {
  int g = 0;
  while ((int64_t(2) << g) <= d) ++g;
  const unsigned __int128 k = (unsigned __int128)1 << (64 + g);
  return {uint64_t((k + uint64_t(d) - 1) / uint64_t(d)), g};
}
// d = 2t - 1 for t = 2, then 3 2^j for j = 0..13: 15 thresholds
constexpr Magic kMagic[15] = {magic(3),    magic(5),    magic(11),   magic(23),    magic(47),
                              magic(95),   magic(191),  magic(383),  magic(767),   magic(1535),
                              magic(3071), magic(6143), magic(12287), magic(24575), magic(49151)};
inline uint64_t quotient(uint64_t s, Magic k) { return uint64_t(((unsigned __int128)s * k.m) >> 64) >> k.g; }
}  // namespace lis_detail

inline void lis_thresholds(int64_t total, int32_t* thr) {
  const uint64_t s = uint64_t(2 * total);
  for (int j = 0; j < 15; ++j) thr[j] = int32_t(std::min<uint64_t>(lis_detail::quotient(s, lis_detail::kMagic[j]), INT32_MAX));
}

// ---- PWL sigmoid / tanh (pwl._pwl_apply, rows from pwl.pwl_plan): q' = round(q / 2^r) (q for r = 0),
// w = clamp(q' - base, 0, w_max), j the last row with starts[j] <= w, y = values[j] + ((slopes[j]
// ((w - starts[j]) << shifts[j]) + fracs[j]) >> 16), clamped to [y_lo, y_hi]; int16 output. Every step
// fits 16 bits (checked by the bindings): the AVX-512 kernel runs on 32 words per vector.
constexpr int kPwlActRows = 64;
struct PwlActParams {
  int32_t r;               // in [0, 31]
  int64_t base;            // in [-2^31 - 1, 2^31 - 1]
  int32_t w_max;           // in [0, 2^16 - 1]
  int32_t k;               // rows, in [1, 64]
  const uint16_t* starts;  // starts[0] = 0, increasing, <= w_max
  const int16_t* values;
  const uint16_t* fracs;
  const uint16_t* slopes;
  const uint8_t* shifts;   // in [0, 16]; (the row's last w - start) << shift <= 2^16 - 1
  int32_t y_lo, y_hi;      // output clamp, within int16
  bool clip;               // false: every row's values lie within [y_lo, y_hi] (pwl_plan's clipless)
};

template <typename T>
void pwl_act_scalar(const T* q, int64_t size, const PwlActParams& p, int16_t* out);
template <typename T>
void pwl_act_avx512(const T* q, int64_t size, const PwlActParams& p, int16_t* out);
template <typename T>
void pwl_act_neon(const T* q, int64_t size, const PwlActParams& p, int16_t* out);
template <typename T>
void pwl_act(Isa isa, const T* q, int64_t size, const PwlActParams& p, int16_t* out);

// ---- NN-LUT softmax (nnlut.nnlut_softmax_ref), every step of the exps in 16 bits: the gap d = max - q
// gives t = min((min(d, dcap) m) >> s, kNnlutTmax) (or 0 / kNnlutTmax when `binary`), k = t >> 10 and
// v = t mod 2^10; y = values[j] - ((v slopes[j]) >> 10) with j the last row whose start <= v (y in
// [0, 2^16 - 2]); the exp e = rshift_round(y, k + 1) (Q.15), the row sum adds rshift_round(y << g, k + 1)
// with g = nnlut_g(n), normalised to u in [2^rfrac, 2^(rfrac+1)) times 2^(ex - rfrac),
// r = rshift_round(recip_table(u), 15) and out = min(rshift_round(e r, 7 + ex - g), 255).
struct PwlTableRef {
  int32_t k;             // segments, in [1, 32]
  const int16_t* starts; // non-decreasing
  const int32_t* slopes;
  const int32_t* icpts;
  int32_t pshift;        // in [0, 62]
};
// the reference's eval_table_ref: the last segment with start <= u (0 if none), icpt + rshift_round(slope u).
// The starts are non-decreasing, so "start <= u" holds on a prefix of 1..k-1: a branchless binary search
// for its end (k <= 32) finds the segment the reference's scan stops at.
inline int64_t pwl_eval_one(int64_t u, const PwlTableRef& t) {
  int j = 0;
  for (int step = 16; step > 0; step >>= 1) j += (j + step < t.k && t.starts[j + step] <= u) ? step : 0;
  return t.icpts[j] + rshift_round(int64_t(t.slopes[j]) * u, t.pshift);
}

constexpr int kNnlutEf = 10;                    // t in Q.10
constexpr int32_t kNnlutTmax = 29 << kNnlutEf;  // k >= 29 gives 0 exps and sum terms at every g <= 13
struct NnlutSoftmaxParams {
  int32_t m, s;           // m in [2^15, 2^16), s in [1, 62]
  int64_t dcap;           // >= 1
  bool binary;            // t = 0 for d = 0, kNnlutTmax otherwise
  int32_t k;              // exp rows, in [1, 32]
  const uint16_t* starts; // starts[0] = 0, increasing, < 2^10
  const uint16_t* values; // <= 2^16 - 2, and y >= 0 on each row (checked)
  const uint16_t* slopes;
  int32_t rfrac;          // in [1, 14]
  PwlTableRef recip;      // checked: values in [0, 2^15 (2^16 - 1) + 2^14) on [2^rfrac, 2^(rfrac+1)]
};
// the row sum's extra bits: 0 for rows of up to 128, then one per doubling (nnlut.softmax_g)
inline int nnlut_g(int64_t n) { return std::max(0, bit_length(uint64_t(n - 1)) - 7); }
// t of one gap d (d < 2^32)
inline int32_t nnlut_t_one(int64_t d, const NnlutSoftmaxParams& p) {
  if (p.binary) return d == 0 ? 0 : kNnlutTmax;
  return int32_t(std::min<int64_t>((std::min(d, p.dcap) * p.m) >> p.s, kNnlutTmax));
}
// y of one t (the exp rows, a scan)
inline int32_t nnlut_y_one(int32_t t, const NnlutSoftmaxParams& p) {
  const int32_t v = t & ((1 << kNnlutEf) - 1);
  int j = 0;
  while (j + 1 < p.k && p.starts[j + 1] <= v) ++j;
  return int32_t(p.values[j]) - ((v * int32_t(p.slopes[j])) >> kNnlutEf);
}

template <typename T>
void nnlut_softmax_scalar(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out);
template <typename T>
void nnlut_softmax_avx512(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out);
template <typename T>
void nnlut_softmax_neon(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out);
template <typename T>
void nnlut_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out);
// one row's reciprocal step: (r, the output shift) from the row sum at Q.(15 + g) (inline: the SIMD kernels
// call it per row). r <= 2^16 - 1; the shift is in [21, 42] (total in [2^(14 + g), 2^(35 + g)): the first
// exp row's value >= 2^15, checked by the bindings; n <= 2^20).
inline void nnlut_row_recip(int64_t total, int g, const NnlutSoftmaxParams& p, int32_t& r, int& shift) {
  const int eb = bit_length(uint64_t(total)) - 1;  // the max element's term is >= 2^(14 + g)
  int64_t u = eb <= p.rfrac ? total << (p.rfrac - eb) : rshift_round(total, eb - p.rfrac);
  const bool carry = u >= (int64_t(1) << (p.rfrac + 1));
  if (carry) u = int64_t(1) << p.rfrac;
  r = int32_t(rshift_round(pwl_eval_one(u, p.recip), 15));
  shift = 7 + eb + int(carry) - g;
}

// ---- FQ-ViT PTF LayerNorm (fqvit.ptf_layernorm_ref): x = (q - zp) << alpha[c] for codes q < 2^8 and
// alpha in [0, 3] (|x| < 2^11), then the I-BERT LayerNorm of x (intops.h) with the same constants.
// the largest of size bytes (the PTF codes' range check; here, not in the -Os bindings, so that it vectorizes)
uint8_t max_u8(const uint8_t* q, int64_t size);
uint8_t max_u8_avx512(const uint8_t* q, int64_t size);
void ptf_shift_scalar(const uint8_t* q, int64_t size, int64_t n, int32_t zp, const uint8_t* alpha, int16_t* x);
void ptf_shift_neon(const uint8_t* q, int64_t size, int64_t n, int32_t zp, const uint8_t* alpha, int16_t* x);
void ptf_layernorm(Isa isa, const uint8_t* q, int64_t rows, int64_t n, int32_t zp, const uint8_t* alpha,
                   const LayerNormParams& p, int8_t* out);
// AVX-512: the shift fused into the I-BERT LayerNorm's two passes (intops_avx512.cpp)
void ptf_layernorm_avx512(const uint8_t* q, int64_t rows, int64_t n, int32_t zp, const uint8_t* alpha,
                          const LayerNormParams& p, int8_t* out);

}  // namespace lowbit
