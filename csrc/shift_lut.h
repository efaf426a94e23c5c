// I-ViT Shiftmax / ShiftGELU, LUT softmax (rexp, lnexp) and NN-LUT's piecewise-linear GELU: kernels bit-exact
// with lowbit/ops/ivit.py, lowbit/ops/lut_softmax.py and lowbit/ops/nnlut.py (+ pwl.eval_table_ref).
// As for the I-BERT ops (intops.h), every constant that a reference derives from a float scale is computed
// in Python (lowbit/ops/shift_lut_kernels.py) and arrives here as an integer checked by
// bindings_shift_lut.cpp: the kernels are integer-only. Rows run along the last axis.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

// ---- I-ViT shift-exp: x <= 0 at scale 2^-15, 2^15 exp(x) ~ shifts; exps below 2^-15 are 0
constexpr int kShiftK = 15, kShiftN = 15;
constexpr int32_t kShiftTMin = -kShiftN * (1 << kShiftK);  // t = x log2(e) below this gives 0
constexpr int kSigBits = 15;                               // ShiftGELU sigmoid in Q.15

// ---- ShiftGELU (ivit.shiftgelu_ref): y = 1.702 |q| scale at 2^-11 on one 16 x 16-bit product, T = y log2(e)
// by shifts, rho = 2^-T ~ (1 + r/2) 2^-z in Q.15, sigmoid(y) = 1 / (1 + rho) from a 64-segment reciprocal
// table (kGeluRecipSegs + 1 knots, exactly rounded 2^30 / (2^15 + 512 j)), all within 16 bits
constexpr int kGeluK = 11, kGeluRecipSegs = 64;

struct ShiftmaxParams {
  int64_t dclip;      // q - max clamped to >= -dclip, dclip in [1, 2^31]
  int32_t m0, shift;  // dyadic rescale of q - max to 2^-15 (m0 >= 0, shift in [1, 62])
};

struct ShiftGeluParams {
  int32_t l, m;  // y = (min(|q|, 65535 >> l) 2^l m) >> 16: l in [0, 15], m in [0, 65535]
};

// ---- LUT softmax: t = (max - q) log2(e) in Q.7, exp = EXP2[t mod 128] >> (t / 128), 8-bit sum mantissa
constexpr int kLutFrac = 7, kLutMant = 8;
constexpr int32_t kLutTMax = 24 << kLutFrac;

struct LutSoftmaxParams {
  int64_t dcap;          // max - q clamped to <= dcap, dcap in [1, 2^31]
  int32_t m0, shift;     // dyadic rescale of max - q to Q.7 (m0 >= 0, shift in [1, 62])
  const uint16_t* exp2;  // 128 entries <= 2^15
  const uint16_t* recip; // 128 entries <= 2^15 (rexp)
  const uint8_t* log2;   // 128 entries (lnexp)
  bool lnexp;            // false: rexp (reciprocal table), true: lnexp (log table, exp looked up again)
};

// ---- NN-LUT GELU (nnlut.nnlut_gelu_ref, rows of nnlut.gelu_plan): q >= q8 takes the identity (q rescaled
// to the output grid, saturated to int32); else w = clamp(round(q / 2^r) - base, 0, w_max), j the last row
// with starts[j] <= w, y = values[j] + ((slopes[j] (|w - anchors[j]| << shifts[j])) >> 16).
constexpr int kPwlGeluRows = 64;

struct PwlGeluParams {
  int32_t r;                // in [0, 40]
  int64_t base;             // in [-2^31, 0]
  int32_t w_max;            // in [1, 2^16 - 1]
  int64_t q8;               // the first identity code, >= 1
  int32_t id_m0, id_shift;  // identity: rshift_round(q id_m0, id_shift), saturated to int32
  int32_t k;                // rows, in [1, 64]
  const uint16_t* starts;   // starts[0] = 0, increasing, <= w_max
  const uint16_t* anchors;  // checked: on each row |w - anchor| <= 2^15 - 1, (|w - anchor| << shift) < 2^16
  const uint8_t* shifts;    // in [0, 16]
  const uint16_t* slopes;
  const int32_t* values;    // |value| < 2^30
};

template <typename T>
void shiftmax_scalar(const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out);
template <typename T>
void shiftmax_avx512(const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out);
template <typename T>
void shiftmax_neon(const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out);
template <typename T>
void shiftmax(Isa isa, const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out);

// q: codes in [-32767, 32767]; out: q * sigmoid_Q15 (int32 or int64). int16 codes are checked on the way
// (false: some code was -32768, out is then not the reference's; the bindings raise), int32 codes by the
// bindings before (true).
template <typename T, typename O>
bool shiftgelu_scalar(const T* q, int64_t size, const ShiftGeluParams& p, O* out);
template <typename T, typename O>
bool shiftgelu_avx512(const T* q, int64_t size, const ShiftGeluParams& p, O* out);
template <typename T, typename O>
bool shiftgelu_neon(const T* q, int64_t size, const ShiftGeluParams& p, O* out);
template <typename T, typename O>
bool shiftgelu(Isa isa, const T* q, int64_t size, const ShiftGeluParams& p, O* out);

template <typename T>
void lut_softmax_scalar(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out);
template <typename T>
void lut_softmax_avx512(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out);
template <typename T>
void lut_softmax_neon(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out);
template <typename T>
void lut_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out);

template <typename T>
void pwl_gelu_scalar(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out);
template <typename T>
void pwl_gelu_avx512(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out);
template <typename T>
void pwl_gelu_neon(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out);
template <typename T>
void pwl_gelu(Isa isa, const T* q, int64_t size, const PwlGeluParams& p, int32_t* out);

}  // namespace lowbit
