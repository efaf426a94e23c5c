// Argument bundles validated at the Python boundary (bindings.cpp) and shared by several bindings: the
// weight side of an int8 GEMM call (lowbit._C.gemm checks it on every call, a model plan once when it is
// built) and I-BERT's softmax and LayerNorm constants.
#pragma once
#include <cstdint>

#include "check.h"
#include "gemm.h"
#include "intops.h"

namespace lowbit {

struct GemmSpec {
  const int8_t* packed = nullptr;
  const int32_t* colsum = nullptr;
  const int32_t* bias = nullptr;
  const int32_t* perm = nullptr;  // with K segments: the packed k position reads activation column perm[k]
  GemmEpilogue ep{};              // everything but out
};

// Checks packed weights, column sums, bias, requantization and K segments for activations of ka columns
// (of a_signed dtype, zero point a_zero_point) and an output of this kind; throws Error naming the argument.
GemmSpec gemm_spec(int64_t ka, bool a_signed, int32_t a_zero_point, const In& packed, const In& colsum, int64_t n,
                   int64_t k, const In& bias, const In& m0, const In& shift, const In& scale, int32_t zero_point,
                   int32_t qmin, int32_t qmax, bool relu, GemmOut kind, const In& perm, const In& seg_end,
                   const In& seg_shift);

// I-BERT LayerNorm constants for rows of n channels, checked.
LayerNormParams layernorm_params(int64_t eps, const In& m0, const In& shift, const In& beta, int64_t n);

// I-BERT softmax constants, checked (the bounds its 32-bit exp arithmetic needs).
SoftmaxParams softmax_params(int64_t dclip, int32_t m0, int32_t shift, int32_t qb, int32_t qc);

}  // namespace lowbit
