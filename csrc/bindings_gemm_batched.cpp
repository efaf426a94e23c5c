// lowbit._C.gemm_batched: many small int8 GEMMs in one call (attention's Q K^T and P V per head).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <array>
#include <string>

#include "attention.h"
#include "check.h"
#include "cpu.h"
#include "gemm.h"
#include "gemm_spec.h"
#include "rounding.h"
#include "shift_lut.h"
#include "shift_lut_params.h"

namespace lowbit {

void set_requant_range(GemmEpilogue& ep, int32_t qmin, int32_t qmax, int32_t zero_point, bool relu);  // bindings.cpp

namespace {

void gemm_batched_py(const In& a, int32_t a_zero_point, const In& b, const In& bias, int64_t bias_every,
                     const In& m0, const In& shift, int32_t zero_point, int32_t qmin, int32_t qmax,
                     const Out& out, const std::string& isa, int threads) {
  const bool a_signed = a.dtype() == nb::dtype<int8_t>();
  require(a_signed || a.dtype() == nb::dtype<uint8_t>(), "a: expected dtype uint8 or int8");
  const void* ap = a_signed ? (const void*)checked<int8_t>(a, "a", 3, 3) : (const void*)checked<uint8_t>(a, "a", 3, 3);
  const int8_t* bp = checked<int8_t>(b, "b", 3, 3);
  const int64_t G = int64_t(a.shape(0)), M = int64_t(a.shape(1)), K = int64_t(a.shape(2));
  const int64_t N = int64_t(b.shape(1));
  require(G >= 1 && M >= 1 && K >= 1 && N >= 1, "a, b: expected non-empty arrays");
  require(int64_t(b.shape(0)) == G && int64_t(b.shape(2)) == K,
          "b: expected [G, N, K] with a's G = " + std::to_string(G) + " and K = " + std::to_string(K));
  require(K <= kMaxK, "a: expected K <= " + std::to_string(kMaxK) + " (int32 accumulation bound)");
  require(a_signed ? (a_zero_point >= -128 && a_zero_point <= 127) : (a_zero_point >= 0 && a_zero_point <= 255),
          "a_zero_point: expected a value of a's dtype");
  const int32_t* biasp = nullptr;
  if (bias.size() > 0) {
    biasp = checked<int32_t>(bias, "bias", 2, 2);
    require(bias_every >= 1 && G % bias_every == 0 && int64_t(bias.shape(0)) == G / bias_every &&
                int64_t(bias.shape(1)) == N,
            "bias: expected [G / bias_every, N] with bias_every dividing G");
    for (size_t i = 0; i < bias.size(); ++i)
      if (biasp[i] <= -kMaxBias || biasp[i] >= kMaxBias) throw Error("bias: expected |bias| < 2^30");
  }
  GemmEpilogue ep{};
  ep.ldo = N;
  if (out.dtype() == nb::dtype<int32_t>()) ep.kind = GemmOut::s32, ep.out = checked<int32_t>(out, "out", 3, 3);
  else if (out.dtype() == nb::dtype<int8_t>()) ep.kind = GemmOut::s8, ep.out = checked<int8_t>(out, "out", 3, 3);
  else if (out.dtype() == nb::dtype<uint8_t>()) ep.kind = GemmOut::u8, ep.out = checked<uint8_t>(out, "out", 3, 3);
  else if (out.dtype() == nb::dtype<int16_t>()) ep.kind = GemmOut::s16, ep.out = checked<int16_t>(out, "out", 3, 3);
  else throw Error("out: expected dtype int32, int8, uint8 or int16");
  require(int64_t(out.shape(0)) == G && int64_t(out.shape(1)) == M && int64_t(out.shape(2)) == N,
          "out: expected shape [G, M, N]");
  if (ep.kind != GemmOut::s32) {
    ep.m0 = checked<int32_t>(m0, "m0", 1, 1);
    ep.shift = checked<int32_t>(shift, "shift", 1, 1);
    require(m0.shape(0) == 1 && shift.shape(0) == 1, "m0, shift: expected one multiplier (per tensor)");
    require(ep.shift[0] >= 0 && ep.shift[0] <= kMaxShift, "shift: expected a value in [0, 62]");
    require(ep.m0[0] >= 0, "m0: expected a non-negative multiplier");
    set_requant_range(ep, qmin, qmax, zero_point, false);
  }
  require(threads >= 1, "threads: expected a positive int");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  gemm_batched_s8(which, ap, a_signed, G, M, K, a_zero_point, bp, N, biasp, bias_every, ep, threads);
}

// qkv [B, T, 3H] int8 with H divisible by heads; returns (B, T, H).
std::array<int64_t, 3> check_qkv(const In& qkv, int64_t heads) {
  checked<int8_t>(qkv, "qkv", 3, 3);
  const int64_t B = int64_t(qkv.shape(0)), T = int64_t(qkv.shape(1)), H3 = int64_t(qkv.shape(2));
  require(B >= 1 && T >= 1 && H3 >= 3 && H3 % 3 == 0, "qkv: expected a non-empty [B, T, 3H] array");
  require(heads >= 1 && (H3 / 3) % heads == 0, "heads: expected a divisor of H = " + std::to_string(H3 / 3));
  require(T <= kMaxK, "qkv: expected at most " + std::to_string(kMaxK) + " tokens (int32 accumulation bound)");
  return {B, T, H3 / 3};
}

// An optional key mask [B, T] added to every score of sequence b (nullptr when empty).
const int32_t* checked_key_bias(const In& bias, int64_t B, int64_t T) {
  if (bias.size() == 0) return nullptr;
  const int32_t* bp = checked<int32_t>(bias, "bias", 2, 2);
  require(int64_t(bias.shape(0)) == B && int64_t(bias.shape(1)) == T, "bias: expected [B, T] (a key mask)");
  for (size_t i = 0; i < bias.size(); ++i)
    if (bp[i] <= -kMaxBias || bp[i] >= kMaxBias) throw Error("bias: expected |bias| < 2^30");
  return bp;
}

void attention_qk_py(const In& qkv, int64_t heads, const In& bias, const Out& out, const std::string& isa,
                     int threads) {
  const auto [B, T, H] = check_qkv(qkv, heads);
  const int32_t* bp = checked_key_bias(bias, B, T);
  int32_t* o = checked<int32_t>(out, "out", 4, 4);
  require(int64_t(out.shape(0)) == B && int64_t(out.shape(1)) == heads && int64_t(out.shape(2)) == T &&
              int64_t(out.shape(3)) == T, "out: expected int32 [B, heads, T, T]");
  require(threads >= 1, "threads: expected a positive int");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  attention_qk(which, static_cast<const int8_t*>(qkv.data()), B, T, H, heads, bp, o, threads);
}

void attention_pv_py(const In& p, const In& qkv, int64_t heads, int32_t m0, int32_t shift, const Out& out,
                     const std::string& isa, int threads) {
  const auto [B, T, H] = check_qkv(qkv, heads);
  const uint8_t* pp = checked<uint8_t>(p, "p", 4, 4);
  require(int64_t(p.shape(0)) == B && int64_t(p.shape(1)) == heads && int64_t(p.shape(2)) == T &&
              int64_t(p.shape(3)) == T, "p: expected uint8 [B, heads, T, T]");
  int8_t* o = checked<int8_t>(out, "out", 3, 3);
  require(int64_t(out.shape(0)) == B && int64_t(out.shape(1)) == T && int64_t(out.shape(2)) == H,
          "out: expected int8 [B, T, H]");
  require(m0 >= 0 && shift >= 0 && shift <= kMaxShift, "m0, shift: expected m0 >= 0 and shift in [0, 62]");
  require(threads >= 1, "threads: expected a positive int");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  attention_pv(which, pp, static_cast<const int8_t*>(qkv.data()), B, T, H, heads, m0, shift, o, threads);
}

// The arguments every fused attention entry point shares, checked.
struct AttentionCall {
  int64_t B, T, H;
  const int32_t* bias;
  int8_t* out;
  Isa isa;
};

AttentionCall attention_call(const In& qkv, int64_t heads, const In& bias, int32_t m0, int32_t shift, const Out& out,
                             const std::string& isa, int threads) {
  const auto [B, T, H] = check_qkv(qkv, heads);
  const int32_t* bp = checked_key_bias(bias, B, T);
  int8_t* o = checked<int8_t>(out, "out", 3, 3);
  require(int64_t(out.shape(0)) == B && int64_t(out.shape(1)) == T && int64_t(out.shape(2)) == H,
          "out: expected int8 [B, T, H]");
  require(m0 >= 0 && shift >= 0 && shift <= kMaxShift, "m0, shift: expected m0 >= 0 and shift in [0, 62]");
  require(threads >= 1, "threads: expected a positive int");
  return {B, T, H, bp, o, isa == "auto" ? default_isa() : parse_isa(isa)};
}

void attention_softmax_py(bool fq, const In& qkv, int64_t heads, const In& bias, int64_t dclip, int32_t sm_m0, int32_t sm_shift,
                        int32_t qb, int32_t qc, int score_shift, int32_t m0, int32_t shift, const Out& out,
                        const std::string& isa, int threads) {
  const AttentionCall c = attention_call(qkv, heads, bias, m0, shift, out, isa, threads);
  require(score_shift >= 0 && score_shift <= 16, "score_shift: expected a value in [0, 16]");
  const AttentionSoftmax sp{softmax_params(dclip, sm_m0, sm_shift, qb, qc), score_shift};
  require(!fq || c.T <= 1024, "qkv: expected at most 1024 tokens (the shift-only P V sums in int32)");
  const int8_t* q = static_cast<const int8_t*>(qkv.data());
  nb::gil_scoped_release release;
  if (fq) attention_fq(c.isa, q, c.B, c.T, c.H, heads, c.bias, sp, m0, shift, c.out, threads);
  else attention_ibert(c.isa, q, c.B, c.T, c.H, heads, c.bias, sp, m0, shift, c.out, threads);
}

// Attention with I-ViT's Shiftmax or a LUT softmax in place of I-BERT's (the other kernels unchanged).
void attention_shiftmax_py(const In& qkv, int64_t heads, const In& bias, int64_t dclip, int32_t sm_m0,
                           int32_t sm_shift, int32_t m0, int32_t shift, const Out& out, const std::string& isa,
                           int threads) {
  const AttentionCall c = attention_call(qkv, heads, bias, m0, shift, out, isa, threads);
  const ShiftmaxParams sp = shiftmax_params(dclip, sm_m0, sm_shift);
  const Isa which = c.isa;
  const RowSoftmax softmax = [&](int32_t* s, int64_t rows, int64_t n, uint8_t* p) {
    shiftmax(which, s, rows, n, sp, p);
  };
  nb::gil_scoped_release release;
  attention_softmax(which, static_cast<const int8_t*>(qkv.data()), c.B, c.T, c.H, heads, c.bias, softmax, m0, shift,
                    c.out, threads);
}

void attention_lut_py(const In& qkv, int64_t heads, const In& bias, int64_t dcap, int32_t sm_m0, int32_t sm_shift,
                      const In& exp2, const In& recip, const In& log2, bool lnexp, int32_t m0, int32_t shift,
                      const Out& out, const std::string& isa, int threads) {
  const AttentionCall c = attention_call(qkv, heads, bias, m0, shift, out, isa, threads);
  const LutSoftmaxParams sp = lut_softmax_params(dcap, sm_m0, sm_shift, exp2, recip, log2, lnexp);
  const Isa which = c.isa;
  const RowSoftmax softmax = [&](int32_t* s, int64_t rows, int64_t n, uint8_t* p) {
    lut_softmax(which, s, rows, n, sp, p);
  };
  nb::gil_scoped_release release;
  attention_softmax(which, static_cast<const int8_t*>(qkv.data()), c.B, c.T, c.H, heads, c.bias, softmax, m0, shift,
                    c.out, threads);
}

}  // namespace

void bind_gemm_batched(nb::module_& m) {
  auto attention_fq_py = [](const In& qkv, int64_t heads, const In& bias, int64_t dclip, int32_t sm_m0,
                            int32_t sm_shift, int32_t qb, int32_t qc, int score_shift, int32_t m0, int32_t shift,
                            const Out& out, const std::string& isa, int threads) {
    attention_softmax_py(true, qkv, heads, bias, dclip, sm_m0, sm_shift, qb, qc, score_shift, m0, shift, out, isa,
                         threads);
  };
  auto attention_ibert_py = [](const In& qkv, int64_t heads, const In& bias, int64_t dclip, int32_t sm_m0,
                               int32_t sm_shift, int32_t qb, int32_t qc, int score_shift, int32_t m0, int32_t shift,
                               const Out& out, const std::string& isa, int threads) {
    attention_softmax_py(false, qkv, heads, bias, dclip, sm_m0, sm_shift, qb, qc, score_shift, m0, shift, out, isa,
                         threads);
  };
  m.def("attention_fq", attention_fq_py, nb::arg("qkv"), nb::arg("heads"), nb::arg("bias"), nb::arg("dclip"),
        nb::arg("sm_m0"), nb::arg("sm_shift"), nb::arg("qb"), nb::arg("qc"), nb::arg("score_shift"), nb::arg("m0"),
        nb::arg("shift"),
        nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "FQ-ViT attention per head: Log-Int-Softmax then shift-only P V; see lowbit/ops/attention.py.");
  m.def("attention_ibert", attention_ibert_py, nb::arg("qkv"), nb::arg("heads"), nb::arg("bias"), nb::arg("dclip"),
        nb::arg("sm_m0"), nb::arg("sm_shift"), nb::arg("qb"), nb::arg("qc"), nb::arg("score_shift"), nb::arg("m0"),
        nb::arg("shift"),
        nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "attention_pv(ibert_softmax(attention_qk(qkv))) per head in one pass; see lowbit/ops/attention.py.");
  m.def("attention_shiftmax", &attention_shiftmax_py, nb::arg("qkv"), nb::arg("heads"), nb::arg("bias"),
        nb::arg("dclip"), nb::arg("sm_m0"), nb::arg("sm_shift"), nb::arg("m0"), nb::arg("shift"), nb::arg("out"),
        nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "attention_pv(shiftmax(attention_qk(qkv))) per head in one pass; see lowbit/ops/attention.py.");
  m.def("attention_lut", &attention_lut_py, nb::arg("qkv"), nb::arg("heads"), nb::arg("bias"), nb::arg("dcap"),
        nb::arg("sm_m0"), nb::arg("sm_shift"), nb::arg("exp2"), nb::arg("recip"), nb::arg("log2"), nb::arg("lnexp"),
        nb::arg("m0"), nb::arg("shift"), nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "attention_pv(lut_softmax(attention_qk(qkv))) per head in one pass; see lowbit/ops/attention.py.");
  m.def("attention_qk", &attention_qk_py, nb::arg("qkv"), nb::arg("heads"), nb::arg("bias"), nb::arg("out"),
        nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "scores[b, h] = Q_h K_h^T + bias[b] from the fused qkv [B, T, 3H]; see lowbit/ops/attention.py.");
  m.def("attention_pv", &attention_pv_py, nb::arg("p"), nb::arg("qkv"), nb::arg("heads"), nb::arg("m0"),
        nb::arg("shift"), nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "ctx[b, :, head h] = requantize(P[b, h] V_h), int8 [B, T, H]; see lowbit/ops/attention.py.");
  m.def("gemm_batched", &gemm_batched_py, nb::arg("a"), nb::arg("a_zero_point"), nb::arg("b"), nb::arg("bias"),
        nb::arg("bias_every"), nb::arg("m0"), nb::arg("shift"), nb::arg("zero_point"), nb::arg("qmin"),
        nb::arg("qmax"), nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "out[g] = epilogue(a[g] x b[g]^T) for unpacked int8 b [G, N, K]; see lowbit/ops/gemm.py.");
}

}  // namespace lowbit
