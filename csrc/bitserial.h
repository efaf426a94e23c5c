// Bit-serial GEMM (QNN, TVM bitserial, ABQ-LLM): integer codes stored as bit-planes packed along K into
// 64-bit words; a p-bit x q-bit product is sum_ij 2^(i+j) popcount(w_i AND a_j) ("unipolar", unsigned
// codes), and for 1-bit +-1 values K - 2 popcount(w XOR a) ("bipolar"). Layout "planes-outer":
// [bits][rows][words], words a multiple of 8 (one zmm), padding bits zero.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

struct BitPlanes {
  const uint64_t* data;  // [bits][rows][words]
  int64_t bits, rows, words;
};

// C[M, N] (int32) = A (M rows of q-bit codes) x W^T (N rows of p-bit codes); bipolar needs p = q = 1
// and k (the real K, for the XOR form).
void bitserial_gemm(Isa isa, const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_scalar(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);

}  // namespace lowbit
