#include "int_bert_plan.h"

#include <mutex>

#include "attention.h"
#include "intops_extra.h"
#include "residual.h"
#include "shift_lut.h"
#include "threads.h"

namespace lowbit {

void PlanLinear::run(Isa isa, const void* a, bool a_signed, int64_t M, int64_t ka, void* out, int threads) const {
  GemmEpilogue ep{};
  ep.kind = kind;
  ep.m0 = m0.data();
  ep.shift = shift.data();
  ep.per_channel = m0.size() != 1;
  ep.zero_point = zero_point, ep.qmin = qmin, ep.qmax = qmax;
  ep.out = out;
  ep.ldo = n;
  if (!seg_end.empty()) ep.seg = KSegments{seg_end.data(), seg_shift.data(), int64_t(seg_end.size())};
  gemm_s8(isa, a, a_signed, M, ka, a_zero_point, packed.data(), colsum.data(), n, bias.empty() ? nullptr : bias.data(),
          ep, threads, perm.empty() ? nullptr : perm.data(), k);
}

void PlanNorm::run(Isa isa, const int16_t* q, int64_t rows, int64_t n, int8_t* out, int threads) const {
  if (!ptf) return layernorm_rows(isa, q, rows, n, params(), out, threads);
  const RequantParams rp{ptf_m0.data(), ptf_shift.data(), true, ptf_zero_point, 0, 255};
  for_row_blocks(rows, threads, [&](int64_t r0, int64_t r1) {
    thread_local std::vector<int32_t> wide;
    thread_local std::vector<uint8_t> codes;
    wide.resize(size_t(n));
    codes.resize(size_t(n));
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t c = 0; c < n; ++c) wide[size_t(c)] = q[r * n + c];
      requantize(isa, wide.data(), 1, n, rp, OutType::u8, codes.data());
      ptf_layernorm(isa, codes.data(), 1, n, ptf_zero_point, ptf_alpha.data(), params(), out + r * n);
    }
  });
}

void layernorm_rows(Isa isa, const int16_t* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out,
                    int threads) {
  for_row_blocks(rows, threads, [&](int64_t r0, int64_t r1) { ibert_layernorm(isa, q + r0 * n, r1 - r0, n, p, out + r0 * n); });
}

void gelu_requant_rows(const std::function<void(const int16_t*, int64_t, int32_t*)>& gelu, Isa isa,
                       const int16_t* q, int64_t rows, int64_t n, const RequantParams& rp, uint8_t* out, int threads) {
  // one row at a time through an L1-sized int32 buffer: no int32 intermediate in memory
  for_row_blocks(rows, threads, [&](int64_t r0, int64_t r1) {
    thread_local std::vector<int32_t> row;
    row.resize(size_t(n));
    for (int64_t r = r0; r < r1; ++r) {
      gelu(q + r * n, n, row.data());
      requantize(isa, row.data(), 1, n, rp, OutType::u8, out + r * n);
    }
  });
}

void gelu_requant_rows(Isa isa, const int16_t* q, int64_t rows, int64_t n, const GeluParams& p,
                       const RequantParams& rp, uint8_t* out, int threads) {
  gelu_requant_rows([&](const int16_t* x, int64_t len, int32_t* y) { ibert_gelu(isa, x, len, p, y); }, isa, q, rows,
                    n, rp, out, threads);
}

RowSoftmax PlanLayer::row_softmax(Isa isa) const {
  switch (softmax_kind) {
    case PlanSoftmax::shiftmax:
      return [this, isa](int32_t* s, int64_t rows, int64_t n, uint8_t* p) { lowbit::shiftmax(isa, s, rows, n, shiftmax, p); };
    case PlanSoftmax::lut: {
      LutSoftmaxParams lp = lut;
      lp.exp2 = lut_exp2.data(), lp.recip = lut_recip.data(), lp.log2 = lut_log2.data();
      return [lp, isa](int32_t* s, int64_t rows, int64_t n, uint8_t* p) { lut_softmax(isa, s, rows, n, lp, p); };
    }
    default:
      return [this, isa](int32_t* s, int64_t rows, int64_t n, uint8_t* p) {
        round_scores(s, rows * n, score_shift);
        ibert_softmax(isa, s, rows, n, softmax, p);
      };
  }
}

void PlanLayer::gelu_row(Isa isa, const int16_t* q, int64_t n, int32_t* out) const {
  switch (gelu_kind) {
    case PlanGelu::shift: lowbit::shiftgelu(isa, q, n, shiftgelu, out); return;
    case PlanGelu::pwl: {
      PwlGeluParams p = pwl;
      p.starts = pwl_starts.data(), p.anchors = pwl_anchors.data(), p.shifts = pwl_shifts.data();
      p.slopes = pwl_slopes.data(), p.values = pwl_values.data();
      return pwl_gelu(isa, q, n, p, out);
    }
    default: return ibert_gelu(isa, q, n, gelu, out);
  }
}

void residual_rows(Isa isa, const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t n,
                   int16_t* out, int threads) {
  for_row_blocks(rows, threads, [&](int64_t r0, int64_t r1) {
    residual_add(isa, x + r0 * n, shift, y + r0 * n, r1 - r0, n, out + r0 * n);
  });
}

void IntBertPlan::run(Isa isa, const int16_t* codes, int64_t B, int64_t T, const int32_t* key_bias, int8_t* out,
                      int threads) {
  const std::lock_guard<std::mutex> lock(busy_);  // one call at a time: the activation buffers are shared
  const int64_t M = B * T, H = hidden, F = intermediate;
  x_.resize(size_t(M * H));
  qkv_.resize(size_t(M * 3 * H));
  ctx_.resize(size_t(M * H));
  wide_.resize(size_t(M * H));
  h_.resize(size_t(M * F));
  g_.resize(size_t(M * F));
  int8_t* x = layers.empty() ? out : x_.data();
  embeddings_norm.run(isa, codes, M, H, x, threads);
  for (size_t i = 0; i < layers.size(); ++i) {
    const PlanLayer& L = layers[i];
    L.qkv.run(isa, x, true, M, H, qkv_.data(), threads);
    if (L.softmax_kind == PlanSoftmax::log_int)
      attention_fq(isa, qkv_.data(), B, T, H, heads, key_bias, {L.softmax, L.score_shift}, L.ctx_m0, L.ctx_shift,
                   ctx_.data(), threads);
    else
      attention_softmax(isa, qkv_.data(), B, T, H, heads, key_bias, L.row_softmax(isa), L.ctx_m0, L.ctx_shift,
                        ctx_.data(), threads);
    L.attention_output.run(isa, ctx_.data(), true, M, H, wide_.data(), threads);
    residual_rows(isa, x, L.shift1.data(), wide_.data(), M, H, wide_.data(), threads);
    L.norm1.run(isa, wide_.data(), M, H, x, threads);
    L.intermediate.run(isa, x, true, M, H, h_.data(), threads);
    const RequantParams rp{L.gelu_m0.data(), L.gelu_shift.data(), true, L.gelu_zero_point, 0, 255};
    gelu_requant_rows([&](const int16_t* q, int64_t n, int32_t* y) { L.gelu_row(isa, q, n, y); }, isa, h_.data(), M, F,
                      rp, g_.data(), threads);
    L.output.run(isa, g_.data(), false, M, F, wide_.data(), threads);
    residual_rows(isa, x, L.shift2.data(), wide_.data(), M, H, wide_.data(), threads);
    L.norm2.run(isa, wide_.data(), M, H, i + 1 == layers.size() ? out : x, threads);
  }
}

}  // namespace lowbit
