// Bit-serial GEMM (QNN, TVM bitserial, ABQ-LLM): integer codes stored as bit-planes packed along K into
// 64-bit words; a p-bit x q-bit product is sum_ij 2^(i+j) popcount(w_i AND a_j) ("unipolar", unsigned
// codes), and for 1-bit +-1 values K - 2 popcount(w XOR a) ("bipolar"). Words come in 512-bit K blocks
// (8 words, one zmm / one cache line), padding bits zero. Two layouts:
//  - planes-outer:       [bits][rows][blocks][8]  (each plane a separate matrix; a row's plane is contiguous)
//  - planes-interleaved: [rows][blocks][bits][8]  (per K block, all planes of a row in adjacent lines)
// Both are described by strides in 64-bit words, so every kernel serves both layouts.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

enum class BsLayout : int { planes_outer = 0, planes_interleaved = 1 };

struct BitPlanes {
  const uint64_t* data;
  int64_t bits, rows, blocks;  // blocks of 512 bits (8 words) along K
  BsLayout layout;
  // word t (0..7) of K block b of plane j of row r is data[j * plane + r * row + b * block + t]
  int64_t plane, row, block;
};

inline BitPlanes make_planes(const uint64_t* data, int64_t bits, int64_t rows, int64_t blocks, BsLayout layout) {
  if (layout == BsLayout::planes_outer) return {data, bits, rows, blocks, layout, rows * blocks * 8, blocks * 8, 8};
  return {data, bits, rows, blocks, layout, 8, blocks * bits * 8, bits * 8};
}

inline const uint64_t* plane_row(const BitPlanes& p, int64_t j, int64_t r) { return p.data + j * p.plane + r * p.row; }

// C[M, N] (int32) = A (M rows of q-bit codes) x W^T (N rows of p-bit codes); bipolar needs p = q = 1
// and k (the real K, for the XOR form). a and w share the number of blocks (any mix of layouts works).
void bitserial_gemm(Isa isa, const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_scalar(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_avx2(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_neon(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);

}  // namespace lowbit
