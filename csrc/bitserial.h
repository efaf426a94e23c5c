// Bit-serial GEMM (QNN, TVM bitserial, ABQ-LLM): integer codes stored as bit-planes packed along K into
// 64-bit words; a p-bit x q-bit product is sum_ij 2^(i+j) popcount(w_i AND a_j) ("unipolar", unsigned
// codes), and for 1-bit +-1 values K - 2 popcount(w XOR a) ("bipolar"). Words come in 512-bit K blocks
// (8 words, one zmm / one cache line), padding bits zero. Three layouts:
//  - planes-outer:       [bits][rows][blocks][8]  (each plane a separate matrix; a row's plane is contiguous)
//  - planes-interleaved: [rows][blocks][bits][8]  (per K block, all planes of a row in adjacent lines)
//  - rows-interleaved:   [ceil(rows / 8)][bits][words][8]  (word t of 8 consecutive rows side by side, so
//    one zmm holds 8 rows: the lanes of an accumulator are 8 outputs, no horizontal sums; rows padded
//    with zero rows, words = ceil(K / 64))
// The first two are described by strides in 64-bit words, so every kernel serves both; rows-interleaved
// has its own kernels (AVX-512, AVX2, NEON).
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

enum class BsLayout : int { planes_outer = 0, planes_interleaved = 1, rows_interleaved = 2 };

struct BitPlanes {
  const uint64_t* data;
  int64_t bits, rows, blocks;  // blocks of 512 bits (8 words) along K
  BsLayout layout;
  // word t (0..7) of K block b of plane j of row r is data[j * plane + r * row + b * block + t]
  // (planes layouts); rows-interleaved: word t of plane j of row r is
  // data[((r / 8) * bits + j) * words * 8 + t * 8 + r % 8]
  int64_t plane, row, block;
  int64_t words;  // 64-bit words per row and plane (blocks * 8 for the planes layouts)
};

// blocks: K blocks of 512 bits (planes layouts); for rows-interleaved, words = ceil(K / 64) instead.
inline BitPlanes make_planes(const uint64_t* data, int64_t bits, int64_t rows, int64_t blocks, BsLayout layout) {
  if (layout == BsLayout::planes_outer)
    return {data, bits, rows, blocks, layout, rows * blocks * 8, blocks * 8, 8, blocks * 8};
  if (layout == BsLayout::planes_interleaved)
    return {data, bits, rows, blocks, layout, 8, blocks * bits * 8, bits * 8, blocks * 8};
  return {data, bits, rows, (blocks + 7) / 8, layout, 0, 0, 0, blocks};
}

// Word t (along K) of plane j of row r, any layout (for the scalar kernel and checks).
inline uint64_t plane_word(const BitPlanes& p, int64_t j, int64_t r, int64_t t) {
  if (p.layout == BsLayout::rows_interleaved) return p.data[((r / 8) * p.bits + j) * p.words * 8 + t * 8 + r % 8];
  return p.data[j * p.plane + r * p.row + (t / 8) * p.block + t % 8];
}

inline const uint64_t* plane_row(const BitPlanes& p, int64_t j, int64_t r) { return p.data + j * p.plane + r * p.row; }

// C[M, N] (int32) = A (M rows of q-bit codes) x W^T (N rows of p-bit codes); bipolar needs p = q = 1
// and k (the real K, for the XOR form). a and w share the layout and the number of words.
void bitserial_gemm(Isa isa, const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_scalar(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_rows_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
// rows-interleaved W1A1 with carry-save accumulation (bitserial_w1a1_avx512.cpp)
void bitserial_w1a1_rows_avx512(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_rows_avx2(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_rows_neon(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_avx2(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);
void bitserial_gemm_neon(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out);

}  // namespace lowbit
