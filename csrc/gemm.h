// int8 GEMM: C[M, N] = A[M, K] (uint8 or int8 activations) x W[N, K]^T (int8 weights, prepacked).
//
// Packed weight layout "k4n64", shared by every ISA variant: panels of 64 output columns; inside a
// panel, for each group of 4 consecutive k, the 64 columns' 4 bytes in a row:
//     packed[p][k4][j][t] = W[64 p + j][4 k4 + t]      (zero where 64 p + j >= N or 4 k4 + t >= K)
// so one 64-byte load holds 16 columns x 4 k: exactly one vpdpbusd operand (and 4 NEON sdot operands).
//
// Activations are read in place when they already are in the kernel's native sign (uint8 for x86, int8
// for NEON) with K % 4 == 0; otherwise they are copied once per call into a row-major buffer whose rows
// are padded to a multiple of 4 bytes and converted to the native sign by flipping the top bit; the
// zero-point correction that this and the activation zero point need is folded into one int32
// per column (corr[n] = bias[n] - za_eff * colsum[n], modulo 2^32), added in the epilogue.
//
// Exactness: with K <= kMaxK the true accumulator |sum (a - za) w| <= 255 * 128 * K < 2^30, so the
// int32 arithmetic (which wraps) gives the exact value; |bias| < 2^30 keeps the sum inside int32.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

constexpr int64_t kPanel = 64;       // output columns per packed panel
constexpr int64_t kMaxK = 32768;     // the largest K whose int32 accumulation cannot overflow (see above)
constexpr int64_t kMaxBias = int64_t(1) << 30;
constexpr int64_t kGemmRowPad = 6;  // threads split rows at multiples of this (the AVX-512 tile height)

enum class GemmOut : int { s8 = 0, u8 = 1, s32 = 2, f32 = 3, s16 = 4 };

// Bytes per output element.
inline int64_t gemm_out_bytes(GemmOut k) {
  return k == GemmOut::s8 || k == GemmOut::u8 ? 1 : k == GemmOut::s16 ? 2 : 4;
}

// K segments: power-of-two factors per input channel, applied exactly inside the accumulation. The packed
// K is ordered by factor (largest first, each group padded to whole k4 steps); after the k4 steps
// [end[s-1], end[s]) the accumulators are shifted left by shift[s] (Horner's rule: a channel of segment s
// is multiplied by 2^(shift[s] + ... + shift[n-1])). n = 0: one plain segment. The packer keeps
// sum_k 2^factor_k <= kMaxK so that the int32 accumulation stays exact (it wraps modulo 2^32 inside).
struct KSegments {
  const int32_t* end = nullptr;    // [n] ascending k4 indices, the last equal to the packed k4
  const int32_t* shift = nullptr;  // [n] left shifts in [0, 30]
  int64_t n = 0;
  int64_t count() const { return n ? n : 1; }
  int64_t stop(int64_t s, int64_t k4) const { return n ? end[s] : k4; }
  int shift_of(int64_t s) const { return n ? shift[s] : 0; }
};

inline int32_t shl32(int32_t v, int s) { return int32_t(uint32_t(v) << s); }  // modulo 2^32, no UB

struct GemmEpilogue {
  const int32_t* corr;   // [N], bias - za_eff * colsum (mod 2^32)
  GemmOut kind;
  const int32_t* m0;     // requantization (s8/u8/s16 out): length N when per_channel, else 1
  const int32_t* shift;
  bool per_channel;
  const float* scale;    // float out: length N when scale_per_channel, else 1
  bool scale_per_channel;
  int32_t zero_point, qmin, qmax;  // s8/u8/s16 out (ReLU is folded into qmin)
  bool relu;             // s32/f32 out: clamp at 0
  void* out;
  int64_t ldo;           // row stride of out, in elements (= N)
  bool stream_out;       // s32 out: non-temporal stores where the kernel can (whole aligned 64-byte lines)
  KSegments seg;         // not an epilogue step, but it travels with it to every kernel
};

// Whether the ISA's kernels take activations as uint8 (x86: vpdpbusd / vpmaddubsw) or int8 (NEON sdot).
bool gemm_wants_unsigned(Isa isa);

// Rows [0, M) x panels [p0, p1) of C, epilogue included. a: [M, lda] native-sign bytes, lda % 4 == 0.
using GemmPanels = void (*)(const uint8_t* a, int64_t M, int64_t lda, const int8_t* b, int64_t k4, int64_t N,
                            int64_t p0, int64_t p1, const GemmEpilogue& ep);
void gemm_panels_scalar(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, int64_t, int64_t,
                        const GemmEpilogue&);
void gemm_panels_avx2(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, int64_t, int64_t,
                      const GemmEpilogue&);
void gemm_panels_avx512(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, int64_t, int64_t,
                        const GemmEpilogue&);
void gemm_panels_neon(const uint8_t*, int64_t, int64_t, const int8_t*, int64_t, int64_t, int64_t, int64_t,
                      const GemmEpilogue&);

// Packs W [N, K] (row-major int8) into `packed` (size gemm_packed_size) and its column sums.
int64_t gemm_packed_size(int64_t N, int64_t K);
void gemm_pack_weight(const int8_t* w, int64_t N, int64_t K, int8_t* packed, int32_t* colsum);
// The same from a strided W: element (n, k) at w[n * stride_n + k * stride_k] (e.g. K or V^T of attention,
// read in place from the fused q|k|v projection's output).
void gemm_pack_strided(const int8_t* w, int64_t N, int64_t K, int64_t stride_n, int64_t stride_k, int8_t* packed,
                       int32_t* colsum);

// Rows of a gathered into the packed channel order (K segments): dst[m][k] = a[m][perm[k]] ^ mask, zero where
// perm[k] < 0 and in [kpad, lda). AVX-512 VBMI (gemm_gather_avx512.cpp); gemm.cpp has the scalar loop.
void gemm_gather_rows_avx512(const uint8_t* src, int64_t M, int64_t a_stride, int64_t K, const int32_t* perm,
                             int64_t kpad, uint8_t mask, uint8_t* abuf, int64_t lda);

// The whole GEMM: activation copy and sign conversion, correction, threads over panels.
// perm (optional, with K segments): the packed k position p reads activation column perm[p] (-1: a padding
// column, whose weights are zero); kp = its length, the packed K.
void gemm_s8(Isa isa, const void* a, bool a_signed, int64_t M, int64_t K, int32_t a_zero_point,
             const int8_t* packed, const int32_t* colsum, int64_t N, const int32_t* bias, GemmEpilogue ep,
             int threads, const int32_t* perm = nullptr, int64_t kp = 0, int64_t a_stride = 0);


// G independent GEMMs out[g] = epilogue(A[g] x B[g]^T) with B[g] an unpacked int8 [N, K] matrix, packed
// on the fly (attention: Q K^T with B = K, and P V with B = V^T). a: [G, M, K]; out: [G, M, N].
// bias: [G / bias_every, N] (batch g uses row g / bias_every, e.g. one key mask per sequence shared by
// its heads) or nullptr. Threads split the batches; each GEMM runs on one thread, so results do not
// depend on the thread count.
void gemm_batched_s8(Isa isa, const void* a, bool a_signed, int64_t G, int64_t M, int64_t K, int32_t a_zero_point,
                     const int8_t* b, int64_t N, const int32_t* bias, int64_t bias_every, GemmEpilogue ep,
                     int threads);

}  // namespace lowbit
