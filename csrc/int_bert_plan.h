// The integer-only BERT encoder as one C++ call (lowbit/nn/int_bert.py builds it from an IntBertEncoder
// whose nonlinear method is I-BERT's): the same kernels and integers as the module-by-module forward,
// without a Python call, an allocation or an argument check per kernel (about 0.1 ms per layer of glue).
#pragma once
#include <cstdint>
#include <vector>

#include "cpu.h"
#include "gemm.h"
#include "intops.h"
#include "requant.h"

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
  LayerNormParams params() const { return {eps, m0.data(), shift.data(), beta.data()}; }
};

struct PlanLayer {
  PlanLinear qkv, attention_output, intermediate, output;
  SoftmaxParams softmax{};
  int32_t ctx_m0 = 0, ctx_shift = 0;
  std::vector<int32_t> shift1, shift2;  // residual shifts per channel
  PlanNorm norm1, norm2;
  GeluParams gelu{};
  std::vector<int32_t> gelu_m0, gelu_shift;  // GELU output requantization per channel, to uint8
  int32_t gelu_zero_point = 0;
  unsigned ready = 0;  // bits of the parts set (bindings_int_bert.cpp)
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
};

// Row-wise steps shared with their single-op bindings (bindings_model.cpp, bindings.cpp), threads over rows.
void layernorm_rows(Isa isa, const int16_t* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out,
                    int threads);
void gelu_requant_rows(Isa isa, const int16_t* q, int64_t rows, int64_t n, const GeluParams& p,
                       const RequantParams& rp, uint8_t* out, int threads);
void residual_rows(Isa isa, const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t n,
                   int16_t* out, int threads);

}  // namespace lowbit
