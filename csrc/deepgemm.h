// DeepGEMM-style 2-bit x 2-bit GEMM: every product of a 2-bit weight code and a 2-bit activation code
// comes from one 16-entry int8 table, indexed by the packed 4-bit pair (w << 2 | a):
//     out[m][n] = sum_k table[w[n][k] * 4 + a[m][k]]                          (int32, exact)
// Codes are packed 4 per byte along K (code k at bits 2 (k % 4) of byte k / 4), rows padded with code 0
// to whole bytes; the kernels count the padding and take it back out.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

void deepgemm_2x2(Isa isa, const uint8_t* a, int64_t M, const uint8_t* w, int64_t N, int64_t K, const int8_t* table,
                  int32_t* out);
void deepgemm_2x2_scalar(const uint8_t* a, int64_t M, const uint8_t* w, int64_t N, int64_t K, const int8_t* table,
                         int32_t* out);
void deepgemm_2x2_avx512(const uint8_t* a, int64_t M, const uint8_t* w, int64_t N, int64_t K, const int8_t* table,
                         int32_t* out);

}  // namespace lowbit
