// Attention's integer products per (sequence, head), read in place from the fused q|k|v projection.
#include "attention.h"

#include <algorithm>
#include <vector>

#include "gemm.h"
#include "intops_extra.h"
#include "intops_one.h"
#include "rounding.h"
#include "threads.h"

namespace lowbit {

namespace {

// scores[T, T] of head h of sequence b (int32, plus the sequence's key bias)
void head_scores(Isa isa, const int8_t* qkv, int64_t b, int64_t h, int64_t T, int64_t H, int64_t d,
                 const int32_t* bias, std::vector<int8_t>& packed, std::vector<int32_t>& colsum, int32_t* scores) {
  const int64_t row = 3 * H;
  const int8_t* base = qkv + b * T * row + h * d;
  packed.resize(static_cast<size_t>(gemm_packed_size(T, d)));
  colsum.resize(static_cast<size_t>(T));
  gemm_pack_strided(base + H, T, d, row, 1, packed.data(), colsum.data());  // K_h as [N = T, K = d]
  GemmEpilogue ep{};
  ep.kind = GemmOut::s32;
  ep.out = scores;
  ep.ldo = T;
  gemm_s8(isa, base, true, T, d, 0, packed.data(), colsum.data(), T, bias ? bias + b * T : nullptr, ep, 1,
          nullptr, 0, row);
}

// ctx[b, :, h d : (h + 1) d] = requantize(P V_h)
void head_context(Isa isa, const uint8_t* p, const int8_t* qkv, int64_t b, int64_t h, int64_t T, int64_t H,
                  int64_t d, int32_t m0, int32_t shift, std::vector<int8_t>& packed, std::vector<int32_t>& colsum,
                  int8_t* ctx) {
  const int64_t row = 3 * H;
  packed.resize(static_cast<size_t>(gemm_packed_size(d, T)));
  colsum.resize(static_cast<size_t>(d));
  // V_h^T as [N = d, K = T]: element (j, t) at qkv[b, t, 2H + h d + j]
  gemm_pack_strided(qkv + b * T * row + 2 * H + h * d, d, T, 1, row, packed.data(), colsum.data());
  GemmEpilogue ep{};
  ep.kind = GemmOut::s8;
  ep.m0 = &m0;
  ep.shift = &shift;
  ep.zero_point = 0, ep.qmin = -127, ep.qmax = 127;
  ep.out = ctx + b * T * H + h * d;
  ep.ldo = H;
  gemm_s8(isa, p, false, T, T, 0, packed.data(), colsum.data(), d, nullptr, ep, 1);
}

// fn(b, h) for every head of every sequence, the heads split over threads
template <typename F>
void for_heads(int64_t B, int64_t heads, int threads, const F& fn) {
  const int64_t G = B * heads;
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, G)));
  parallel_for(threads, [&](int t) {
    for (int64_t g = G * t / threads; g < G * (t + 1) / threads; ++g) fn(g / heads, g % heads, g);
  });
}

}  // namespace

void attention_qk(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads, const int32_t* bias,
                  int32_t* scores, int threads) {
  for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t g) {
    thread_local std::vector<int8_t> packed;
    thread_local std::vector<int32_t> colsum;
    head_scores(isa, qkv, b, h, T, H, H / heads, bias, packed, colsum, scores + g * T * T);
  });
}

void attention_pv(Isa isa, const uint8_t* p, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads,
                  int32_t m0, int32_t shift, int8_t* ctx, int threads) {
  for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t g) {
    thread_local std::vector<int8_t> packed;
    thread_local std::vector<int32_t> colsum;
    head_context(isa, p + g * T * T, qkv, b, h, T, H, H / heads, m0, shift, packed, colsum, ctx);
  });
}

void attention_softmax(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads,
                       const int32_t* bias, const RowSoftmax& softmax, int32_t m0, int32_t shift, int8_t* ctx,
                       int threads) {
#if defined(__x86_64__)
  if (isa == Isa::avx512 && attention_head_fits(H / heads)) {
    for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t) {
      attention_head_avx512(qkv, b, h, T, H, H / heads, bias, softmax, m0, shift, ctx);
    });
    return;
  }
#endif
  for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t) {
    thread_local std::vector<int8_t> packed;
    thread_local std::vector<int32_t> colsum, scores;
    thread_local std::vector<uint8_t> p;
    scores.resize(static_cast<size_t>(T * T));
    p.resize(static_cast<size_t>(T * T));
    head_scores(isa, qkv, b, h, T, H, H / heads, bias, packed, colsum, scores.data());
    softmax(scores.data(), T, T, p.data());
    head_context(isa, p.data(), qkv, b, h, T, H, H / heads, m0, shift, packed, colsum, ctx);
  });
}

void round_scores(int32_t* scores, int64_t count, int shift) {
  if (shift == 0) return;
  const int32_t half = int32_t(1) << (shift - 1);  // |scores| < 2^30: no overflow
  for (int64_t i = 0; i < count; ++i) scores[i] = (scores[i] + half) >> shift;
}

void attention_ibert(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads,
                     const int32_t* bias, const AttentionSoftmax& sm, int32_t m0, int32_t shift, int8_t* ctx,
                     int threads) {
  const RowSoftmax softmax = [&](int32_t* s, int64_t rows, int64_t n, uint8_t* p) {
    round_scores(s, rows * n, sm.score_shift);
    ibert_softmax(isa, s, rows, n, sm.sp, p);
  };
  attention_softmax(isa, qkv, B, T, H, heads, bias, softmax, m0, shift, ctx, threads);
}

void attention_fq(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads, const int32_t* bias,
                  const AttentionSoftmax& sm, int32_t m0, int32_t shift, int8_t* ctx, int threads) {
  const int64_t d = H / heads, row = 3 * H;
#if defined(__x86_64__)
  if (isa == Isa::avx512 && attention_head_fits(d)) {
    for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t) {
      attention_fq_head_avx512(qkv, b, h, T, H, d, bias, sm, m0, shift, ctx);
    });
    return;
  }
#endif
  for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t) {
    thread_local std::vector<int8_t> packed;
    thread_local std::vector<int32_t> colsum, scores, acc;
    thread_local std::vector<uint8_t> codes;
    scores.resize(static_cast<size_t>(T * T));
    codes.resize(static_cast<size_t>(T * T));
    acc.resize(static_cast<size_t>(d));
    head_scores(isa, qkv, b, h, T, H, d, bias, packed, colsum, scores.data());
    round_scores(scores.data(), T * T, sm.score_shift);
    log_int_softmax(isa, scores.data(), T, T, sm.sp, codes.data());
    const int8_t* v = qkv + b * T * row + 2 * H + h * d;
    for (int64_t i = 0; i < T; ++i) {
      const uint8_t* k = codes.data() + i * T;
      std::fill(acc.begin(), acc.end(), 0);
      for (int64_t j = 0; j < T; ++j) {
        if (k[j] == kLisZero) continue;
        const int32_t mul = int32_t(1) << (14 - k[j]);  // |acc| <= T 127 2^14 < 2^31 for T <= 1024
        const int8_t* vj = v + j * row;
        for (int64_t c = 0; c < d; ++c) acc[size_t(c)] += int32_t(vj[c]) * mul;
      }
      int8_t* o = ctx + (b * T + i) * H + h * d;
      for (int64_t c = 0; c < d; ++c) o[c] = int8_t(requantize_one(acc[size_t(c)], m0, shift, 0, -127, 127));
    }
  });
}

}  // namespace lowbit
