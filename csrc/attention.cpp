// Attention's integer products per (sequence, head), read in place from the fused q|k|v projection.
#include "attention.h"

#include <algorithm>
#include <vector>

#include "gemm.h"
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

void attention_ibert(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads,
                     const int32_t* bias, const SoftmaxParams& sp, int32_t m0, int32_t shift, int8_t* ctx,
                     int threads) {
  const RowSoftmax softmax = [&](const int32_t* s, int64_t rows, int64_t n, uint8_t* p) {
    ibert_softmax(isa, s, rows, n, sp, p);
  };
  attention_softmax(isa, qkv, B, T, H, heads, bias, softmax, m0, shift, ctx, threads);
}

void attention_fq(Isa isa, const int8_t* qkv, int64_t B, int64_t T, int64_t H, int64_t heads, const int32_t* bias,
                  const SoftmaxParams& sp, int32_t m0, int32_t shift, int8_t* ctx, int threads) {
  const int64_t d = H / heads, row = 3 * H;
#if defined(__x86_64__)
  if (isa == Isa::avx512 && attention_head_fits(d)) {
    for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t) {
      attention_fq_head_avx512(qkv, b, h, T, H, d, bias, sp, m0, shift, ctx);
    });
    return;
  }
#endif
  for_heads(B, heads, threads, [&](int64_t b, int64_t h, int64_t) {
    thread_local std::vector<int8_t> packed;
    thread_local std::vector<int32_t> colsum, scores, acc;
    thread_local std::vector<int64_t> e;
    thread_local std::vector<uint8_t> k;
    scores.resize(static_cast<size_t>(T * T));
    e.resize(static_cast<size_t>(T));
    k.resize(static_cast<size_t>(T));
    acc.resize(static_cast<size_t>(d));
    head_scores(isa, qkv, b, h, T, H, d, bias, packed, colsum, scores.data());
    const int8_t* v = qkv + b * T * row + 2 * H + h * d;
    for (int64_t i = 0; i < T; ++i) {
      const int32_t* s = scores.data() + i * T;
      const int64_t mx = *std::max_element(s, s + T);
      int64_t total = 0;
      for (int64_t j = 0; j < T; ++j) total += e[size_t(j)] = ibert_exp_one(int64_t(s[j]) - mx, sp);
      for (int64_t j = 0; j < T; ++j) {  // k = log2 of round(total / e), rounded as fqvit.log_int_softmax_ref
        const int64_t r = div_round(total, std::max<int64_t>(e[size_t(j)], 1));
        const int f = bit_length(uint64_t(r)) - 1;
        const int64_t kk = f + (f >= 1 ? (r >> std::max(f - 1, 0)) & 1 : 0);
        k[size_t(j)] = uint8_t(e[size_t(j)] == 0 || kk >= 15 ? 15 : kk);
      }
      std::fill(acc.begin(), acc.end(), 0);
      for (int64_t j = 0; j < T; ++j) {
        if (k[size_t(j)] == 15) continue;
        const int32_t mul = int32_t(1) << (14 - k[size_t(j)]);  // |acc| <= T 127 2^14 < 2^31 for T <= 1024
        const int8_t* vj = v + j * row;
        for (int64_t c = 0; c < d; ++c) acc[size_t(c)] += int32_t(vj[c]) * mul;
      }
      int8_t* o = ctx + (b * T + i) * H + h * d;
      for (int64_t c = 0; c < d; ++c) o[c] = int8_t(requantize_one(acc[size_t(c)], m0, shift, 0, -127, 127));
    }
  });
}

}  // namespace lowbit
