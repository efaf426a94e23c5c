// Codebook GEMV for non-uniform weights (SqueezeLLM k-means levels, NF4, FLUTE-style lookup): b-bit
// indices (b = 3 or 4) into 16-entry float32 tables, one per row, per (row, K-group), or one shared table
// times a per-(row, K-group) scale (NormalFloat). Float activations; int8 ones are converted exactly.
//
//     y[m][r] = act_scale[m] * sum_k x[m][k] * T(r, k / G)[u[r][k]] * (scale ? scale[r][k / G] : 1)
//
// Layout "dwords": F = 32 / b / ... fields per uint32 (F = 10 for 3 bits, 8 for 4 bits); a row's K is cut
// into chunks of 16 F; lane l < 16 of chunk c holds the codes of k = 16 F c + 16 j + l at bits [b j, b j + b):
//     word(r, c, l) = sum_j u[r][16 F c + 16 j + l] << (b j)
// so one 64-byte load holds F vectors of 16 indices, each a shift away: vpermps reads only the low 4 bits of
// its index, and 3-bit tables are stored twice (entries 8..15 = 0..7), so the next field's bits never
// need masking. K is cut into blocks of kCbBlockChunks chunks (the last may be shorter) and rows into tiles
// of 4 (the last has N % 4 rows, if any); the data holds K-block after K-block, in each the tiles in order,
// in each tile chunk after chunk, in each chunk the tile's rows: the whole matrix is one sequential stream
// and one K-block of the activations (6-7.5 KiB) stays in L1 while it streams by. With t = r / 4 * 4,
// T = min(4, N - t), b = c / kCbBlockChunks and L = min(kCbBlockChunks, chunks - b kCbBlockChunks):
//     data[(b kCbBlockChunks N + t L + (c % kCbBlockChunks) T + r - t) * 16 + l] = word(r, c, l)
// The table holds in one zmm register; products are float32 fused multiply-adds, partial sums of at most
// F products per lane go through a short float32 tree into float64 accumulators (so the result stays within
// 16 float32 roundings, < 1e-6, of sum_k |x w_hat|: codebook_gemv_avx512.cpp counts them).
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

// "LBC2" (K-blocks of 4-row tiles): the data ends with int64 {tag, bits, N, K}
constexpr int64_t kCbTag = 0x3243424C;

inline int64_t cb_fields(int64_t bits) { return bits == 3 ? 10 : 8; }
inline int64_t cb_chunk(int64_t bits) { return 16 * cb_fields(bits); }
inline int64_t cb_kpad(int64_t bits, int64_t K) { return (K + cb_chunk(bits) - 1) / cb_chunk(bits) * cb_chunk(bits); }
inline int64_t cb_row_words(int64_t bits, int64_t K) { return cb_kpad(bits, K) / cb_fields(bits); }
constexpr int64_t kCbBlockChunks = 12;  // chunks per K-block (a multiple of the asm loop's 4)
// Index into data of word(r, c, 0): the 16 lanes of row r's chunk c.
inline int64_t cb_word_index(int64_t bits, int64_t N, int64_t K, int64_t r, int64_t c) {
  const int64_t t = r / 4 * 4, rows = N - t < 4 ? N - t : 4, b = c / kCbBlockChunks;
  const int64_t left = cb_kpad(bits, K) / cb_chunk(bits) - b * kCbBlockChunks;
  const int64_t len = left < kCbBlockChunks ? left : kCbBlockChunks;
  return (b * kCbBlockChunks * N + t * len + (c % kCbBlockChunks) * rows + r - t) * 16;
}

struct CbWeight {
  const uint32_t* data;  // [N][row_words]
  int64_t bits, n, k;
  const float* tables;  // [..][16]
  int64_t table_row_stride, table_group_stride;  // in tables (0: shared)
  int64_t group;                                 // K-group length, a multiple of 16 (or >= K)
  const float* scale;                            // [N][groups] or nullptr
};

// Rows [r0, r1) for one activation row x [kpad] (zero past K): y[r - r0] (before act_scale).
using CbRowsFn = void (*)(const CbWeight& w, const float* x, int64_t r0, int64_t r1, double* y);
void cb_rows_scalar(const CbWeight&, const float*, int64_t, int64_t, double*);
void cb_rows_avx512(const CbWeight&, const float*, int64_t, int64_t, double*);

// x: [M][K] float32; out: [M][N] float32.
void codebook_gemv(Isa isa, const CbWeight& w, const float* x, int64_t M, const float* act_scale, float* out,
                   int threads);

}  // namespace lowbit
