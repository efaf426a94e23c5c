// The integer-only BERT encoder as one C++ call (lowbit/nn/int_bert.py builds it from an IntBertEncoder
// whose nonlinear method is I-BERT's): the same kernels and integers as the module-by-module forward,
// without a Python call, an allocation or an argument check per kernel (about 0.1 ms per layer of glue).
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "attention.h"
#include "cpu.h"
#include "gemm.h"
#include "intops.h"
#include "requant.h"
#include "shift_lut.h"

namespace lowbit {

// One IntLinear: packed weights and integer constants, owned, validated when the plan is built.
struct PlanLinear {
  std::vector<int8_t> packed;
  std::vector<int32_t> colsum, bias, m0, shift, perm, seg_end, seg_shift;
  int64_t n = 0, k = 0;  // outputs, packed K
  int32_t a_zero_point = 0, zero_point = 0, qmin = 0, qmax = 0;
  GemmOut kind = GemmOut::s8;
  // out[M, n] = requantize(a[M, ka] W^T + bias)
  void run(Isa isa, const void* a, bool a_signed, int64_t M, int64_t ka, void* out, int threads) const;
};

struct PlanNorm {  // I-BERT LayerNorm constants (see LayerNormParams)
  int64_t eps = 0;
  std::vector<int32_t> m0, shift;
  std::vector<int64_t> beta;
  // FQ-ViT's PTF input (when ptf): int16 codes requantized per channel to uint8 with one zero point, then
  // normalised from (q - zp) << alpha[c]
  bool ptf = false;
  std::vector<int32_t> ptf_m0, ptf_shift;
  int32_t ptf_zero_point = 0;
  std::vector<uint8_t> ptf_alpha;
  LayerNormParams params() const { return {eps, m0.data(), shift.data(), beta.data()}; }
  void run(Isa isa, const int16_t* q, int64_t rows, int64_t n, int8_t* out, int threads) const;
};

// The integer nonlinear methods a plan runs (lowbit/nn/int_nonlinear.py): I-BERT's softmax and GELU,
// I-ViT's Shiftmax and ShiftGELU, the LUT softmax, NN-LUT's piecewise-linear GELU, FQ-ViT's Log-Int-Softmax.
enum class PlanSoftmax : int { ibert, shiftmax, lut, log_int };  // log_int: attention_fq
enum class PlanGelu : int { ibert, shift, pwl };

struct PlanLayer {
  PlanLinear qkv, attention_output, intermediate, output;
  int32_t ctx_m0 = 0, ctx_shift = 0;
  std::vector<int32_t> shift1, shift2;  // residual shifts per channel
  PlanNorm norm1, norm2;
  PlanSoftmax softmax_kind = PlanSoftmax::ibert;
  SoftmaxParams softmax{};  // I-BERT and Log-Int-Softmax, after rounding the scores by score_shift
  int score_shift = 0;
  ShiftmaxParams shiftmax{};
  LutSoftmaxParams lut{};  // its table pointers are set from lut_exp2 .. lut_log2 when it runs
  std::vector<uint16_t> lut_exp2, lut_recip;
  std::vector<uint8_t> lut_log2;
  PlanGelu gelu_kind = PlanGelu::ibert;
  GeluParams gelu{};
  ShiftGeluParams shiftgelu{};
  PwlGeluParams pwl{};  // its row pointers are set from pwl_starts .. pwl_values when it runs
  std::vector<uint16_t> pwl_starts, pwl_anchors, pwl_slopes;
  std::vector<uint8_t> pwl_shifts;
  std::vector<int32_t> pwl_values;
  std::vector<int32_t> gelu_m0, gelu_shift;  // GELU output requantization per channel, to uint8
  int32_t gelu_zero_point = 0;
  unsigned ready = 0;  // bits of the parts set (bindings_int_bert.cpp)
  RowSoftmax row_softmax(Isa isa) const;
  // GELU of one row of int16 codes to int32 codes (the scale its requantization expects)
  void gelu_row(Isa isa, const int16_t* q, int64_t n, int32_t* out) const;
};

struct IntBertPlan {
  int64_t hidden = 0, intermediate = 0, heads = 0;
  PlanNorm embeddings_norm;
  bool embeddings_ready = false;
  std::vector<PlanLayer> layers;
  // int16 embedding codes [B, T, H] and a key bias per sequence [B, T] -> int8 codes of the last LayerNorm
  void run(Isa isa, const int16_t* codes, int64_t B, int64_t T, const int32_t* key_bias, int8_t* out, int threads);

 private:  // activations, reused from call to call
  std::vector<int8_t> x_, qkv_, ctx_;
  std::vector<int16_t> wide_, h_;
  std::vector<uint8_t> g_;
  std::mutex busy_;
};

// Row-wise steps shared with their single-op bindings (bindings_model.cpp, bindings.cpp), threads over rows.
void layernorm_rows(Isa isa, const int16_t* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out,
                    int threads);
void gelu_requant_rows(Isa isa, const int16_t* q, int64_t rows, int64_t n, const GeluParams& p,
                       const RequantParams& rp, uint8_t* out, int threads);
// the same with any row GELU: gelu(q row, n, int32 row)
void gelu_requant_rows(const std::function<void(const int16_t*, int64_t, int32_t*)>& gelu, Isa isa,
                       const int16_t* q, int64_t rows, int64_t n, const RequantParams& rp, uint8_t* out, int threads);
void residual_rows(Isa isa, const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t n,
                   int16_t* out, int threads);

}  // namespace lowbit
