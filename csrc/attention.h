// Attention of the integer-only transformer on the fused projection qkv [B, T, 3H] (q | k | v, heads of
// d = H / heads columns each), read in place: no head transposes, each (b, h) product on one thread.
#pragma once
#include <cstdint>
#include <functional>

#include "cpu.h"
#include "intops.h"

namespace lowbit {

// Attention's two products on the fused projection qkv [B, T, 3H] (q | k | v, heads of d = H / heads
// columns each), read in place: scores[b, h] = Q_h K_h^T + bias[b] (int32, [B, heads, T, T]) and
// ctx[b, :, h d : (h + 1) d] = requantize(P[b, h] V_h) (int8, [B, T, H]; one m0, shift). Threads split the
// B * heads products; each runs on one thread.
void attention_qk(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads, const int32_t* bias,
                  int32_t* scores, int threads);
void attention_pv(Isa isa, const uint8_t* p, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads,
                  int32_t m0, int32_t shift, int8_t* ctx, int threads);

// A softmax over rows of int32 scores: p[r, :n] (uint8 at 2^-8) of scores[r, :n], rows contiguous.
// The scores are the callee's to overwrite (a pre-scaling, in place).
using RowSoftmax = std::function<void(int32_t* scores, int64_t rows, int64_t n, uint8_t* p)>;

// I-BERT's softmax (and Log-Int-Softmax) inside attention: scores first rounded to 2^score_shift of their
// units, rshift_round (lowbit/ops/attention.py picks the shift that keeps the exp's input range within 16
// bits, its fast AVX-512 path); sp holds the constants of that coarser scale.
struct AttentionSoftmax {
  SoftmaxParams sp;
  int score_shift;  // in [0, 16]
};
// scores[i] = rshift_round(scores[i], shift), in place
void round_scores(int32_t* scores, int64_t count, int shift);

// The whole attention per head with any row softmax, scores and probabilities kept in per-thread buffers:
// attention_qk, softmax (rows of T keys), attention_pv; the same integers. Heads of width 32 or 64 run
// in blocks of query rows on AVX-512 (attention_avx512.cpp), others as whole GEMMs per head.
void attention_softmax(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads,
                       const int32_t* bias, const RowSoftmax& softmax, int32_t m0, int32_t shift, int8_t* ctx,
                       int threads);
// attention_softmax with I-BERT's integer softmax
void attention_ibert(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads,
                     const int32_t* bias, const AttentionSoftmax& sm, int32_t m0, int32_t shift, int8_t* ctx,
                     int threads);

// attention_softmax's per-head kernel for head widths 32 and 64 (AVX-512 VNNI; csrc/attention_avx512.cpp).
bool attention_head_fits(int64_t d);
void attention_head_avx512(const int8_t* qkv, int64_t b, int64_t h, int64_t T, int64_t H, int64_t d,
                           const int32_t* bias, const RowSoftmax& softmax, int32_t m0, int32_t shift, int8_t* ctx);
// attention_fq's per-head kernel for the same widths: Log-Int-Softmax codes, p v as int16 products
void attention_fq_head_avx512(const int8_t* qkv, int64_t b, int64_t h, int64_t T, int64_t H, int64_t d,
                              const int32_t* bias, const AttentionSoftmax& sm, int32_t m0, int32_t shift,
                              int8_t* ctx);

// FQ-ViT's attention per head: Log-Int-Softmax (4-bit codes k, p ~ 2^-k, 15 = zero) of the scores, then
// P V by shifts (sum_j V_j << (14 - k_j)), requantized to int8 (lowbit/ops/fqvit.py semantics).
void attention_fq(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads, const int32_t* bias,
                  const AttentionSoftmax& sm, int32_t m0, int32_t shift, int8_t* ctx, int threads);

}  // namespace lowbit
