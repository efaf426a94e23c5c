// lowbit._C.int_bert_plan*: build an IntBertPlan part by part (every part validated here, once) and run it.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "gemm_spec.h"
#include "int_bert_plan.h"
#include "intops_one.h"
#include "residual.h"
#include "rounding.h"
#include "shift_lut_params.h"

namespace lowbit {

namespace {

enum Part : unsigned { kQkv = 1, kAttnOut = 2, kInter = 4, kOutput = 8, kNorm1 = 16, kNorm2 = 32, kAttention = 64,
                       kGelu = 128, kSoftmax = 256, kAll = 511 };

template <typename T>
std::vector<T> copied(const In& a, const char* name, int64_t length) {
  if (a.size() == 0) return {};
  const T* p = checked<T>(a, name, 1, 4);
  require(length < 0 || int64_t(a.size()) == length, std::string(name) + ": expected " + std::to_string(length) +
                                                          " values");
  return std::vector<T>(p, p + a.size());
}

PlanLayer& layer_at(IntBertPlan& plan, int64_t i) {
  require(i >= 0 && i < int64_t(plan.layers.size()), "layer: expected 0 .. layers - 1, got " + std::to_string(i));
  return plan.layers[size_t(i)];
}

void plan_linear(IntBertPlan& plan, int64_t layer, const std::string& name, int32_t a_zero_point, const In& packed,
                 const In& colsum, int64_t n, int64_t k, const In& bias, const In& m0, const In& shift,
                 int32_t zero_point, int32_t qmin, int32_t qmax, const In& perm, const In& seg_end,
                 const In& seg_shift) {
  PlanLayer& L = layer_at(plan, layer);
  const int64_t H = plan.hidden, F = plan.intermediate;
  PlanLinear* lin;
  int64_t ka, want_n;
  unsigned part;
  if (name == "qkv") lin = &L.qkv, ka = H, want_n = 3 * H, part = kQkv;
  else if (name == "attention_output") lin = &L.attention_output, ka = H, want_n = H, part = kAttnOut;
  else if (name == "intermediate") lin = &L.intermediate, ka = H, want_n = F, part = kInter;
  else if (name == "output") lin = &L.output, ka = F, want_n = H, part = kOutput;
  else throw Error("name: expected qkv, attention_output, intermediate or output, got '" + name + "'");
  require(n == want_n, "n: expected " + std::to_string(want_n) + " outputs for " + name);
  const bool a_signed = part != kOutput;  // the output GEMM reads GELU's uint8 codes
  const GemmOut kind = part == kQkv ? GemmOut::s8 : GemmOut::s16;
  const GemmSpec g = gemm_spec(ka, a_signed, a_zero_point, packed, colsum, n, k, bias, m0, shift, m0, zero_point, qmin,
                               qmax, false, kind, perm, seg_end, seg_shift);
  PlanLinear& o = *lin;
  o.packed = copied<int8_t>(packed, "packed", -1);
  o.colsum = copied<int32_t>(colsum, "colsum", n);
  o.bias = copied<int32_t>(bias, "bias", n);
  o.m0 = copied<int32_t>(m0, "m0", -1);
  o.shift = copied<int32_t>(shift, "shift", -1);
  o.perm = copied<int32_t>(perm, "perm", -1);
  o.seg_end = copied<int32_t>(seg_end, "seg_end", -1);
  o.seg_shift = copied<int32_t>(seg_shift, "seg_shift", -1);
  o.n = n, o.k = k, o.a_zero_point = a_zero_point, o.kind = kind;
  o.zero_point = g.ep.zero_point, o.qmin = g.ep.qmin, o.qmax = g.ep.qmax;
  L.ready |= part;
}

void plan_norm(IntBertPlan& plan, int64_t layer, int64_t slot, int64_t eps, const In& m0, const In& shift,
               const In& beta) {
  const int64_t n = plan.hidden;
  layernorm_params(eps, m0, shift, beta, n);  // checks only: the plan keeps copies
  PlanNorm norm;
  norm.m0 = copied<int32_t>(m0, "m0", n);
  norm.shift = copied<int32_t>(shift, "shift", n);
  norm.beta = copied<int64_t>(beta, "beta", n);
  norm.eps = eps;
  if (layer == -1) {
    plan.embeddings_norm = std::move(norm);
    plan.embeddings_ready = true;
    return;
  }
  PlanLayer& L = layer_at(plan, layer);
  require(slot == 1 || slot == 2, "slot: expected 1 (after attention) or 2 (after the feed-forward block)");
  (slot == 1 ? L.norm1 : L.norm2) = std::move(norm);
  L.ready |= slot == 1 ? kNorm1 : kNorm2;
}

void plan_attention(IntBertPlan& plan, int64_t layer, int32_t ctx_m0, int32_t ctx_shift, const In& shift1,
                    const In& shift2) {
  PlanLayer& L = layer_at(plan, layer);
  require(ctx_m0 >= 0 && ctx_shift >= 0 && ctx_shift <= kMaxShift, "ctx_m0, ctx_shift: expected m0 >= 0 and shift in [0, 62]");
  std::vector<int32_t> s1 = copied<int32_t>(shift1, "shift1", plan.hidden);
  std::vector<int32_t> s2 = copied<int32_t>(shift2, "shift2", plan.hidden);
  require(int64_t(s1.size()) == plan.hidden && int64_t(s2.size()) == plan.hidden,
          "shift1, shift2: expected one residual shift per channel");
  for (size_t c = 0; c < s1.size(); ++c)
    if (s1[c] < 0 || s1[c] > kMaxResidualShift || s2[c] < 0 || s2[c] > kMaxResidualShift)
      throw Error("shift1, shift2: expected values in [0, 23]");
  L.ctx_m0 = ctx_m0, L.ctx_shift = ctx_shift;
  L.shift1 = std::move(s1), L.shift2 = std::move(s2);
  L.ready |= kAttention;
}

void plan_softmax(IntBertPlan& plan, int64_t layer, int64_t dclip, int32_t m0, int32_t shift, int32_t qb, int32_t qc,
                  int score_shift) {
  PlanLayer& L = layer_at(plan, layer);
  L.softmax = softmax_params(dclip, m0, shift, qb, qc);
  require(score_shift >= 0 && score_shift <= 16, "score_shift: expected a value in [0, 16]");
  L.score_shift = score_shift;
  L.softmax_kind = PlanSoftmax::ibert;
  L.ready |= kSoftmax;
}

void plan_log_int_softmax(IntBertPlan& plan, int64_t layer, int64_t dclip, int32_t m0, int32_t shift, int32_t qb,
                          int32_t qc, int score_shift) {
  plan_softmax(plan, layer, dclip, m0, shift, qb, qc, score_shift);
  PlanLayer& L = layer_at(plan, layer);
  L.softmax_kind = PlanSoftmax::log_int;
  L.ready |= kSoftmax;
}

// FQ-ViT's PTF input of a LayerNorm already set (layer -1: the embeddings'; slot 1 or 2 otherwise)
void plan_norm_ptf(IntBertPlan& plan, int64_t layer, int64_t slot, const In& m0, const In& shift, int32_t zero_point,
                   const In& alpha) {
  PlanNorm* norm = &plan.embeddings_norm;
  if (layer != -1) {
    PlanLayer& L = layer_at(plan, layer);
    require(slot == 1 || slot == 2, "slot: expected 1 (after attention) or 2 (after the feed-forward block)");
    norm = slot == 1 ? &L.norm1 : &L.norm2;
  }
  require(!norm->m0.empty(), "plan: set the LayerNorm (int_bert_plan_norm) before its PTF input");
  const int64_t n = plan.hidden;
  std::vector<int32_t> pm = copied<int32_t>(m0, "m0", n), ps = copied<int32_t>(shift, "shift", n);
  std::vector<uint8_t> pa = copied<uint8_t>(alpha, "alpha", n);
  require(int64_t(pm.size()) == n && int64_t(ps.size()) == n && int64_t(pa.size()) == n,
          "m0, shift, alpha: expected one per channel");
  for (int64_t c = 0; c < n; ++c) {
    if (pm[size_t(c)] < 0 || ps[size_t(c)] < 0 || ps[size_t(c)] > kMaxShift)
      throw Error("m0, shift: expected m0 >= 0 and shift in [0, 62]");
    if (pa[size_t(c)] > 3) throw Error("alpha: expected PTF exponents in [0, 3]");
  }
  require(zero_point >= 0 && zero_point <= 255, "zero_point: expected 0..255");
  norm->ptf_m0 = std::move(pm), norm->ptf_shift = std::move(ps), norm->ptf_alpha = std::move(pa);
  norm->ptf_zero_point = zero_point;
  norm->ptf = true;
}

void plan_shiftmax(IntBertPlan& plan, int64_t layer, int64_t dclip, int32_t m0, int32_t shift) {
  PlanLayer& L = layer_at(plan, layer);
  L.shiftmax = shiftmax_params(dclip, m0, shift);
  L.softmax_kind = PlanSoftmax::shiftmax;
  L.ready |= kSoftmax;
}

void plan_lut_softmax(IntBertPlan& plan, int64_t layer, int64_t dcap, int32_t m0, int32_t shift, const In& exp2,
                      const In& recip, const In& log2, bool lnexp) {
  PlanLayer& L = layer_at(plan, layer);
  L.lut = lut_softmax_params(dcap, m0, shift, exp2, recip, log2, lnexp);
  L.lut_exp2 = copied<uint16_t>(exp2, "exp2", 128);
  L.lut_recip = copied<uint16_t>(recip, "recip", 128);
  L.lut_log2 = copied<uint8_t>(log2, "log2", 128);
  L.softmax_kind = PlanSoftmax::lut;
  L.ready |= kSoftmax;
}

// The GELU output's requantization to uint8 per channel, shared by every GELU method.
void set_gelu_requant(const IntBertPlan& plan, PlanLayer& L, const In& rq_m0, const In& rq_shift, int32_t zero_point) {
  std::vector<int32_t> rm = copied<int32_t>(rq_m0, "rq_m0", plan.intermediate);
  std::vector<int32_t> rs = copied<int32_t>(rq_shift, "rq_shift", plan.intermediate);
  require(int64_t(rm.size()) == plan.intermediate && int64_t(rs.size()) == plan.intermediate,
          "rq_m0, rq_shift: expected one multiplier per channel");
  for (size_t c = 0; c < rm.size(); ++c)
    if (rm[c] < 0 || rs[c] < 0 || rs[c] > kMaxShift) throw Error("rq_m0, rq_shift: expected m0 >= 0, shift in [0, 62]");
  require(zero_point >= 0 && zero_point <= 255, "zero_point: expected 0..255");
  L.gelu_m0 = std::move(rm), L.gelu_shift = std::move(rs), L.gelu_zero_point = zero_point;
  L.ready |= kGelu;
}

void plan_gelu(IntBertPlan& plan, int64_t layer, int64_t clip, int32_t m0, int32_t shift, int32_t qc,
               const In& rq_m0, const In& rq_shift, int32_t zero_point) {
  PlanLayer& L = layer_at(plan, layer);
  require(clip >= 1 && clip <= (int64_t(1) << 31), "clip: expected a value in [1, 2^31]");
  require(m0 >= 0 && shift >= 0 && shift <= kMaxShift, "m0, shift: expected m0 >= 0 and shift in [0, 62]");
  require(qc >= (1 << 24) && qc <= (1 << 30), "qc: expected the erf constant in [2^24, 2^30]");
  const GeluParams p{clip, m0, shift, qc};
  require(ibert_gelu_one_constant(p) < (1 << 15), "qc: expected int16 codes' products to fit int32");
  L.gelu = p;
  L.gelu_kind = PlanGelu::ibert;
  set_gelu_requant(plan, L, rq_m0, rq_shift, zero_point);
}

void plan_shiftgelu(IntBertPlan& plan, int64_t layer, int32_t l, int32_t m, const In& rq_m0,
                    const In& rq_shift, int32_t zero_point) {
  PlanLayer& L = layer_at(plan, layer);
  L.shiftgelu = shiftgelu_params(l, m);
  L.gelu_kind = PlanGelu::shift;
  set_gelu_requant(plan, L, rq_m0, rq_shift, zero_point);
}

void plan_pwl_gelu(IntBertPlan& plan, int64_t layer, int32_t r, int64_t base, int32_t w_max, int64_t q8, int32_t id_m0,
                   int32_t id_shift, const In& starts, const In& anchors, const In& shifts, const In& slopes,
                   const In& values, const In& rq_m0, const In& rq_shift, int32_t zero_point) {
  PlanLayer& L = layer_at(plan, layer);
  L.pwl = pwl_gelu_params(r, base, w_max, q8, id_m0, id_shift, starts, anchors, shifts, slopes, values);
  L.pwl_starts = copied<uint16_t>(starts, "starts", -1);
  L.pwl_anchors = copied<uint16_t>(anchors, "anchors", -1);
  L.pwl_shifts = copied<uint8_t>(shifts, "shifts", -1);
  L.pwl_slopes = copied<uint16_t>(slopes, "slopes", -1);
  L.pwl_values = copied<int32_t>(values, "values", -1);
  L.gelu_kind = PlanGelu::pwl;
  set_gelu_requant(plan, L, rq_m0, rq_shift, zero_point);
}

void plan_run(IntBertPlan& plan, const In& codes, const In& key_bias, const Out& out, const std::string& isa,
              int threads) {
  require(plan.embeddings_ready, "plan: the embeddings LayerNorm was not set");
  for (size_t i = 0; i < plan.layers.size(); ++i)
    require(plan.layers[i].ready == kAll, "plan: layer " + std::to_string(i) + " is incomplete");
  const int16_t* q = checked<int16_t>(codes, "codes", 3, 3);
  const int64_t B = int64_t(codes.shape(0)), T = int64_t(codes.shape(1));
  for (const PlanLayer& L : plan.layers)
    require(L.softmax_kind != PlanSoftmax::log_int || T <= 1024,
            "codes: expected at most 1024 tokens (Log-Int-Softmax's shift-only P V sums in int32)");
  require(B >= 1 && T >= 1 && int64_t(codes.shape(2)) == plan.hidden,
          "codes: expected int16 [B, T, " + std::to_string(plan.hidden) + "]");
  require(codes_within(q, int64_t(codes.size()), -32767, 32767), "codes: expected codes in [-32767, 32767]");
  const int32_t* bp = checked<int32_t>(key_bias, "key_bias", 2, 2);
  require(int64_t(key_bias.shape(0)) == B && int64_t(key_bias.shape(1)) == T, "key_bias: expected int32 [B, T]");
  for (size_t i = 0; i < key_bias.size(); ++i)
    if (bp[i] <= -kMaxBias || bp[i] >= kMaxBias) throw Error("key_bias: expected |key_bias| < 2^30");
  int8_t* o = checked<int8_t>(out, "out", 3, 3);
  require(int64_t(out.shape(0)) == B && int64_t(out.shape(1)) == T && int64_t(out.shape(2)) == plan.hidden,
          "out: expected int8 [B, T, H]");
  require(threads >= 1, "threads: expected a positive int");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  plan.run(which, q, B, T, bp, o, threads);
}

}  // namespace

void bind_int_bert(nb::module_& m) {
  nb::class_<IntBertPlan>(m, "IntBertPlan", "An integer-only BERT encoder as one C++ call (csrc/int_bert_plan.h).");
  m.def(
      "int_bert_plan",
      [](int64_t hidden, int64_t intermediate, int64_t heads, int64_t layers) {
        require(hidden >= 1 && intermediate >= 1 && heads >= 1 && hidden % heads == 0 && layers >= 0,
                "hidden, intermediate, heads, layers: expected positive sizes with heads dividing hidden");
        require(layers <= 4096, "layers: expected at most 4096 layers");
        auto* p = new IntBertPlan();
        p->hidden = hidden, p->intermediate = intermediate, p->heads = heads;
        p->layers.resize(size_t(layers));
        return p;
      },
      nb::arg("hidden"), nb::arg("intermediate"), nb::arg("heads"), nb::arg("layers"), nb::rv_policy::take_ownership);
  m.def("int_bert_plan_linear", &plan_linear, nb::arg("plan"), nb::arg("layer"), nb::arg("name"),
        nb::arg("a_zero_point"), nb::arg("packed"), nb::arg("colsum"), nb::arg("n"), nb::arg("k"), nb::arg("bias"),
        nb::arg("m0"), nb::arg("shift"), nb::arg("zero_point"), nb::arg("qmin"), nb::arg("qmax"), nb::arg("perm"),
        nb::arg("seg_end"), nb::arg("seg_shift"));
  m.def("int_bert_plan_norm", &plan_norm, nb::arg("plan"), nb::arg("layer"), nb::arg("slot"), nb::arg("eps"),
        nb::arg("m0"), nb::arg("shift"), nb::arg("beta"));
  m.def("int_bert_plan_attention", &plan_attention, nb::arg("plan"), nb::arg("layer"), nb::arg("ctx_m0"),
        nb::arg("ctx_shift"), nb::arg("shift1"), nb::arg("shift2"));
  m.def("int_bert_plan_softmax", &plan_softmax, nb::arg("plan"), nb::arg("layer"), nb::arg("dclip"), nb::arg("m0"),
        nb::arg("shift"), nb::arg("qb"), nb::arg("qc"), nb::arg("score_shift"));
  m.def("int_bert_plan_log_int_softmax", &plan_log_int_softmax, nb::arg("plan"), nb::arg("layer"), nb::arg("dclip"),
        nb::arg("m0"), nb::arg("shift"), nb::arg("qb"), nb::arg("qc"), nb::arg("score_shift"));
  m.def("int_bert_plan_norm_ptf", &plan_norm_ptf, nb::arg("plan"), nb::arg("layer"), nb::arg("slot"), nb::arg("m0"),
        nb::arg("shift"), nb::arg("zero_point"), nb::arg("alpha"));
  m.def("int_bert_plan_shiftmax", &plan_shiftmax, nb::arg("plan"), nb::arg("layer"), nb::arg("dclip"), nb::arg("m0"),
        nb::arg("shift"));
  m.def("int_bert_plan_lut_softmax", &plan_lut_softmax, nb::arg("plan"), nb::arg("layer"), nb::arg("dcap"),
        nb::arg("m0"), nb::arg("shift"), nb::arg("exp2"), nb::arg("recip"), nb::arg("log2"), nb::arg("lnexp"));
  m.def("int_bert_plan_gelu", &plan_gelu, nb::arg("plan"), nb::arg("layer"), nb::arg("clip"), nb::arg("m0"),
        nb::arg("shift"), nb::arg("qc"), nb::arg("rq_m0"), nb::arg("rq_shift"), nb::arg("zero_point"));
  m.def("int_bert_plan_shiftgelu", &plan_shiftgelu, nb::arg("plan"), nb::arg("layer"), nb::arg("l"), nb::arg("m"),
        nb::arg("rq_m0"), nb::arg("rq_shift"), nb::arg("zero_point"));
  m.def("int_bert_plan_pwl_gelu", &plan_pwl_gelu, nb::arg("plan"), nb::arg("layer"), nb::arg("r"), nb::arg("base"),
        nb::arg("w_max"), nb::arg("q8"), nb::arg("id_m0"), nb::arg("id_shift"), nb::arg("starts"), nb::arg("anchors"),
        nb::arg("shifts"), nb::arg("slopes"), nb::arg("values"), nb::arg("rq_m0"), nb::arg("rq_shift"),
        nb::arg("zero_point"));
  m.def("int_bert_plan_run", &plan_run, nb::arg("plan"), nb::arg("codes"), nb::arg("key_bias"), nb::arg("out"),
        nb::arg("isa") = "auto", nb::arg("threads") = 1);
}

}  // namespace lowbit
