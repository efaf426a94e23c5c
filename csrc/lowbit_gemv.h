// Low-bit weight x int8 activation GEMV / small-M GEMM (issue 4): uniform 1-, 2-, 4-bit and ternary
// weights, two kernel families over two packed layouts, one shared integer epilogue.
//
// Weights are unsigned codes u in [0, 2^bits) whose value is w = mul * u + off (int formats: mul = 1,
// off = qmin; ternary: bits 2, u in {0, 1, 2}, off = -1; binary +-1: bits 1, mul = 2, off = -1).
// Every kernel computes, per output row r and activation row m, the raw sum
//     raw[m][r] = sum_k x[m][k] * u[r][k]          (exact int32)
// over a K segment, on activations x in the kernel's native form (below), and the driver turns it into
//     acc = sum_k (x - z) * (mul * u + off) = mul * (raw - z * rowsum) + off * (sum_k x - K_seg * z)
// in int64 (rowsum = sum of u over the segment, stored with the packed weight).
//
// Layout "fields" (the unpack kernel, vpdpbusd): F = 8 / bits fields per byte; a row block has R = 16 F
// rows. For row block b, k4 step s, lane j < 16, byte t < 4:
//     data[b][s][j][t] = sum_f u[b R + 16 f + j][4 s + t] << (bits f)
// One 64-byte load is F vpdpbusd operands after an AND with the field's mask: the field stays in place
// (scaled by 2^(bits f)), the kernel keeps one accumulator per field and shifts it back once at the end.
// Native activations: int8 x = a - 128 (the s8 operand of vpdpbusd, weights are the u8 operand).
//
// Layout "planes" (the LUT kernel, T-MAC style): bit-plane p of the codes; a row block has 64 rows (4
// sub-blocks of 16 that share every table load); for row block b, 32-k step q, plane p, sub-block c < 4,
// lane pair i < 8, row-of-pair h < 2, byte s < 4:
//     data[b][q][p][c][i][h][s] = sum_{t<8} bit_p(u[64 b + 16 c + 2 i + h][32 q + 8 s + t]) << t
// Native activations: uint8 a. For every 8 activations the driver builds one 64-byte table: the 16
// partial sums over each 4-subset of the two groups of 4, of the low and of the high nibbles of a
// (each <= 60, so one byte); vpermb looks 64 of them up at once, vpdpbusd with multipliers (1, 16, 1, 16)
// adds them into the row's int32 lane. Exact for every uint8 activation.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

constexpr int64_t kLbMaxK = 32768;  // |raw| <= 128 * 255 * K < 2^31 (fields kernel), 255 * 15 * K (planes)
constexpr int64_t kLbQuantum = 32;  // K segments (per-group scales) are multiples of this
// The packed data ends with 32 bytes: int64 {kLbTag, layout * 16 + bits, N, K}, checked before every call.
constexpr int64_t kLbTag = 0x564D4547424C;

enum class LbLayout : int { fields = 0, planes = 1, trits = 2 };

// Layout "trits" (ternary at 1.6 bits per weight, csrc/lowbit_gemv_trits.h): the fields layout with F = 5
// base-3 fields per byte, so a row block has 80 rows; codes u in {0, 1, 2}, native activations as fields.
constexpr int64_t kLbTritRows = 80;

inline int64_t lb_rows_per_block(LbLayout layout, int64_t bits) {
  if (layout == LbLayout::trits) return kLbTritRows;
  return layout == LbLayout::fields ? 16 * (8 / bits) : 64;
}
inline int64_t lb_kpad(int64_t K) { return (K + kLbQuantum - 1) / kLbQuantum * kLbQuantum; }
// Bytes of one row block for the whole (padded) K.
inline int64_t lb_block_bytes(LbLayout layout, int64_t bits, int64_t K) {
  return layout != LbLayout::planes ? lb_kpad(K) / 4 * 64 : lb_kpad(K) / 32 * bits * 256;
}

struct LbWeight {
  const uint8_t* data;  // [blocks][block_bytes]
  LbLayout layout;
  int64_t bits, n, k;
  const int32_t* rowsum;  // [n][groups]: sum of u over each K segment
  int64_t group;          // K segment length (a multiple of kLbQuantum, or >= K: one segment)
  int32_t mul, off;
};

// Raw sums of one row block over k in [k0, k1) (multiples of kLbQuantum, k1 <= kpad) for M activation
// rows: x [M][lda] native activations (zero past K), raw [M][R].
using LbRawFn = void (*)(const uint8_t* block, int64_t bits, int64_t k0, int64_t k1, const uint8_t* x,
                         int64_t lda, int64_t M, const uint8_t* tables, int64_t ldt, int32_t* raw);
void lb_fields_raw_scalar(const uint8_t*, int64_t, int64_t, int64_t, const uint8_t*, int64_t, int64_t,
                          const uint8_t*, int64_t, int32_t*);
void lb_planes_raw_scalar(const uint8_t*, int64_t, int64_t, int64_t, const uint8_t*, int64_t, int64_t,
                          const uint8_t*, int64_t, int32_t*);
void lb_fields_raw_avx512(const uint8_t*, int64_t, int64_t, int64_t, const uint8_t*, int64_t, int64_t,
                          const uint8_t*, int64_t, int32_t*);
void lb_planes_raw_avx512(const uint8_t*, int64_t, int64_t, int64_t, const uint8_t*, int64_t, int64_t,
                          const uint8_t*, int64_t, int32_t*);

// M = 1 on weights beyond L2 (fields layout): the raw sums of kLbStreams row blocks at once over k in
// [k0, k1) (blocks[S], raws[S][R]); the driver gives each stream a contiguous range of its thread's blocks,
// so that S sequential read streams run through the call.
using LbStreamsFn = void (*)(const uint8_t* const* blocks, int64_t bits, int64_t k0, int64_t k1,
                             const uint8_t* x, int32_t* const* raws);
constexpr int kLbStreams = 2;
constexpr int64_t kLbStreamsMinBytes = int64_t(1) << 20;  // per thread: smaller weights stay on one stream
void lb_fields_streams_avx512(const uint8_t* const*, int64_t, int64_t, int64_t, const uint8_t*, int32_t* const*);

// The epilogue of one row block's raw sums for one activation row and one K segment, rows with one K
// segment each (rowsum and scale contiguous over the rows): for i < rows
//     acc = mul * (raw[i] - zm * rowsum[i]) + offxs
// (exact in wrapping int32: |acc| <= 255 * 30 * kLbMaxK < 2^28, as |a - a_zero_point| <= 255 and
// |mul u + off| <= 30), then out[i] = acc, or, with scale, yacc[i] += double(scale[i]) * double(acc).
using LbFinishFn = void (*)(const int32_t* raw, int64_t rows, const int32_t* rowsum, int32_t mul, int32_t zm,
                            int32_t offxs, const float* scale, int32_t* out, double* yacc);
void lb_finish_avx512(const int32_t*, int64_t, const int32_t*, int32_t, int32_t, int32_t, const float*, int32_t*,
                      double*);

// The float output of one activation row: out[o] = float(s * (((0 + yacc[o c]) + yacc[o c + 1]) + ...)) over
// the c = combine rows of output o < outs, summed in that order in float64 (as the scalar loop).
using LbCombineFn = void (*)(const double* yacc, int64_t outs, int64_t combine, double s, float* out);
void lb_combine_avx512(const double*, int64_t, int64_t, double, float*);

// The planes kernel's tables for one row of native activations x [kpad] (kpad / 8 tables of 64 bytes).
void lb_build_tables_scalar(const uint8_t* x, int64_t kpad, uint8_t* tables);
void lb_build_tables_avx512(const uint8_t* x, int64_t kpad, uint8_t* tables);

// Which ISA variant the lowbit GEMV really runs for `requested` (AVX-512 planes needs VBMI; NEON and
// AVX2 run the scalar kernels).
Isa lb_effective_isa(Isa requested, LbLayout layout);

// Output: int32 acc [M][N] (one K segment, scale == nullptr), or float32 [M][N / combine]
//     y[m][o] = act_scale[m] * sum_{r = o combine .. o combine + combine - 1} sum_g scale[r][g] * acc_g[m][r]
// (sums in double, rounded once). combine > 1 is nuQmm's BCQ: the q binary planes of an output row are q
// consecutive packed 1-bit rows (mul 2, off -1) and scale holds their alphas.
struct LbCall {
  const void* a;  // [M][K] uint8 or int8
  bool a_signed;
  int64_t M;
  int32_t a_zero_point;
  const float* scale;      // [N][groups] or nullptr
  const float* act_scale;  // [M] or nullptr (1)
  int64_t combine;
  void* out;
  int threads;
};
void lowbit_gemv(Isa isa, const LbWeight& w, const LbCall& call);

}  // namespace lowbit
