// lowbit._C's Log-Int-Softmax and PWL sigmoid / tanh entry points (intops_extra.h): every array and integer
// constant is checked here, before any kernel reads it, against the bounds the kernels' arithmetic needs.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "check.h"
#include "gemm_spec.h"
#include "cpu.h"
#include "intops.h"
#include "intops_extra.h"
#include "rounding.h"

namespace nb = nanobind;

namespace lowbit {

namespace {

void log_int_softmax_py(const In& q, int64_t dclip, int32_t m0, int32_t shift, int32_t qb, int32_t qc,
                        const Out& out, const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const int64_t n = int64_t(q.shape(q.ndim() - 1)), rows = int64_t(q.size()) / n;
  require(n <= (int64_t(1) << 20), "q: expected rows of at most 2^20 elements along the last axis");
  uint8_t* o = checked<uint8_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const SoftmaxParams p = softmax_params(dclip, m0, shift, qb, qc);  // I-BERT's bounds (bindings.cpp)
  const Isa which = pick_isa(isa);
  nb::gil_scoped_release release;
  if (is16) log_int_softmax(which, static_cast<const int16_t*>(qp), rows, n, p, o);
  else log_int_softmax(which, static_cast<const int32_t*>(qp), rows, n, p, o);
}

void pwl_act_py(const In& q, int32_t r, int64_t base, int32_t w_max, const In& starts, const In& values,
                const In& fracs, const In& slopes, const In& shifts, int32_t y_lo, int32_t y_hi, bool clipless,
                const Out& out, const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  int16_t* o = checked<int16_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  require(r >= 0 && r <= 31, "r: expected a shift in [0, 31]");
  require(base >= int64_t(INT32_MIN) - 1 && base <= INT32_MAX, "base: expected a value in [-2^31 - 1, 2^31 - 1]");
  require(w_max >= 0 && w_max <= 65535, "w_max: expected a value in [0, 2^16 - 1]");
  require(INT16_MIN <= y_lo && y_lo <= y_hi && y_hi <= INT16_MAX, "y_lo, y_hi: expected an int16 range");
  const uint16_t* st = checked<uint16_t>(starts, "starts", 1, 1);
  const int16_t* va = checked<int16_t>(values, "values", 1, 1);
  const uint16_t* fr = checked<uint16_t>(fracs, "fracs", 1, 1);
  const uint16_t* sl = checked<uint16_t>(slopes, "slopes", 1, 1);
  const uint8_t* sh = checked<uint8_t>(shifts, "shifts", 1, 1);
  const int64_t k = int64_t(starts.shape(0));
  require(k >= 1 && k <= kPwlActRows, "starts: expected 1..64 rows");
  require(int64_t(values.shape(0)) == k && int64_t(fracs.shape(0)) == k && int64_t(slopes.shape(0)) == k &&
              int64_t(shifts.shape(0)) == k,
          "values, fracs, slopes, shifts: expected one per row (the length of starts)");
  require(st[0] == 0 && st[k - 1] <= w_max, "starts: expected starts[0] = 0 and starts <= w_max");
  for (int64_t j = 0; j < k; ++j) {
    if (j > 0) require(st[j] > st[j - 1], "starts: expected increasing rows");
    require(sh[j] <= 16, "shifts: expected shifts in [0, 16]");
    const int64_t last = (j + 1 < k ? int64_t(st[j + 1]) - 1 : int64_t(w_max)) - st[j];  // the row's widest w - start
    require((last << sh[j]) <= 65535, "shifts: expected (w - start) << shift < 2^16 on every row");
  }
  // clipless promises the kernel that the clamp changes nothing: a row's values rise with w (slopes >= 0),
  // so its first and last values decide
  PwlActParams p{r, base, w_max, int32_t(k), st, va, fr, sl, sh, y_lo, y_hi, !clipless};
  for (int64_t j = 0; j < k && clipless; ++j) {
    const int64_t last = (j + 1 < k ? int64_t(st[j + 1]) - 1 : int64_t(w_max)) - st[j];
    const int64_t top = va[j] + ((int64_t(sl[j]) * (last << sh[j]) + fr[j]) >> 16);
    require(va[j] >= y_lo && top <= y_hi, "clipless: expected every row's values within [y_lo, y_hi]");
  }
  const Isa which = pick_isa(isa);
  nb::gil_scoped_release release;
  const int64_t size = int64_t(q.size());
  if (is16) pwl_act(which, static_cast<const int16_t*>(qp), size, p, o);
  else pwl_act(which, static_cast<const int32_t*>(qp), size, p, o);
}

// a PWL table's arrays, checked: 1..32 segments, sorted starts, and every value on [lo, hi] (|u| <= 2^15)
// within [vmin, vmax] (a segment's extremes are at its ends: the values are linear in u)
PwlTableRef checked_table(const In& starts, const In& slopes, const In& icpts, int32_t pshift, int64_t lo, int64_t hi,
                          int64_t vmin, int64_t vmax, const char* name, bool lanes32) {
  const std::string nm(name);
  const int16_t* st = checked<int16_t>(starts, (nm + "_starts").c_str(), 1, 1);
  const int32_t* sl = checked<int32_t>(slopes, (nm + "_slopes").c_str(), 1, 1);
  const int32_t* ic = checked<int32_t>(icpts, (nm + "_icpts").c_str(), 1, 1);
  const int64_t k = int64_t(starts.shape(0));
  require(k >= 1 && k <= 32, nm + "_starts: expected 1..32 segments");
  require(int64_t(slopes.shape(0)) == k && int64_t(icpts.shape(0)) == k,
          nm + "_slopes, " + nm + "_icpts: expected one per segment (the length of the starts)");
  require(pshift >= 0 && pshift <= kMaxShift, nm + "_pshift: expected a value in [0, 62]");
  for (int64_t j = 1; j < k; ++j) require(st[j] >= st[j - 1], nm + "_starts: expected non-decreasing breakpoints");
  for (int64_t j = 0; lanes32 && j < k; ++j) {  // SIMD lanes, |u| <= 2^15: the value and its pieces fit int32
    const int64_t a = sl[j] < 0 ? -int64_t(sl[j]) : int64_t(sl[j]);
    const int64_t c = ic[j] < 0 ? -int64_t(ic[j]) : int64_t(ic[j]);
    require(((a << 15) >> pshift) + 1 + c < (int64_t(1) << 31),
            nm + " table: expected |icpt| + |slope| 2^15 / 2^pshift + 1 < 2^31");
  }
  const PwlTableRef t{int32_t(k), st, sl, ic, pshift};
  for (int64_t j = 0; j < k; ++j) {  // the segment j covers [max(starts[j], lo), next start - 1] within [lo, hi]
    const int64_t a = j == 0 ? lo : std::max<int64_t>(st[j], lo);
    const int64_t b = j + 1 < k ? std::min<int64_t>(int64_t(st[j + 1]) - 1, hi) : hi;
    if (a > b) continue;
    for (int64_t u : {a, b}) {
      const int64_t v = pwl_eval_one(u, t);
      require(v >= vmin && v <= vmax, nm + " table: expected values in [" + std::to_string(vmin) + ", " +
                                          std::to_string(vmax) + "] on its input range");
    }
  }
  return t;
}

void nnlut_softmax_py(const In& q, int32_t m, int32_t s, int64_t dcap, bool binary, const In& exp_starts,
                      const In& exp_values, const In& exp_slopes, int32_t rfrac, const In& recip_starts,
                      const In& recip_slopes, const In& recip_icpts, int32_t recip_pshift, const Out& out,
                      const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const int64_t n = int64_t(q.shape(q.ndim() - 1)), rows = int64_t(q.size()) / n;
  require(n <= (int64_t(1) << 20), "q: expected rows of at most 2^20 elements along the last axis");
  uint8_t* o = checked<uint8_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  require(m >= (1 << 15) && m < (1 << 16), "m: expected a value in [2^15, 2^16)");
  require(s >= 1 && s <= kMaxShift, "s: expected a value in [1, 62]");
  require(dcap >= 1, "dcap: expected a value >= 1");
  require(rfrac >= 1 && rfrac <= 14, "rfrac: expected a value in [1, 14]");
  const uint16_t* st = checked<uint16_t>(exp_starts, "exp_starts", 1, 1);
  const uint16_t* va = checked<uint16_t>(exp_values, "exp_values", 1, 1);
  const uint16_t* sl = checked<uint16_t>(exp_slopes, "exp_slopes", 1, 1);
  const int64_t k = int64_t(exp_starts.shape(0));
  require(k >= 1 && k <= 32, "exp_starts: expected 1..32 rows");
  require(int64_t(exp_values.shape(0)) == k && int64_t(exp_slopes.shape(0)) == k,
          "exp_values, exp_slopes: expected one per row (the length of the starts)");
  require(st[0] == 0, "exp_starts: expected the first row at 0");
  // y = value - ((v slope) >> 10) falls along a row (slopes >= 0): its first value <= 2^16 - 2 (the exps
  // rshift_round(y, k + 1) stay below 2^15) and its last >= 0; the first row's value >= 2^15 keeps a row
  // sum >= 2^(14 + g) (the kernels' output step needs shifts >= 17)
  require(va[0] >= (1 << 15), "exp_values: expected the first row's value >= 2^15");
  for (int64_t j = 0; j < k; ++j) {
    if (j > 0) require(st[j] > st[j - 1], "exp_starts: expected increasing rows");
    const int64_t last = j + 1 < k ? int64_t(st[j + 1]) - 1 : (1 << kNnlutEf) - 1;
    require(last < (1 << kNnlutEf), "exp_starts: expected rows within [0, 2^10)");
    require(va[j] <= 65534 && int64_t(va[j]) - ((last * sl[j]) >> kNnlutEf) >= 0,
            "exp_values: expected every row's values within [0, 2^16 - 2]");
  }
  // reciprocals rounded to Q.15 below 2^16 (the kernels' 16-bit products e r < 2^31)
  const PwlTableRef rt = checked_table(recip_starts, recip_slopes, recip_icpts, recip_pshift, int64_t(1) << rfrac,
                                       int64_t(1) << (rfrac + 1), 0, (int64_t(65535) << 15) + (1 << 14) - 1, "recip",
                                       false);
  const NnlutSoftmaxParams p{m, s, dcap, binary, int32_t(k), st, va, sl, rfrac, rt};
  const Isa which = pick_isa(isa);
  nb::gil_scoped_release release;
  if (is16) nnlut_softmax(which, static_cast<const int16_t*>(qp), rows, n, p, o);
  else nnlut_softmax(which, static_cast<const int32_t*>(qp), rows, n, p, o);
}

void ptf_layernorm_py(const In& q, int32_t bits, int32_t zp, const In& alpha, int64_t eps, const In& m0, const In& shift,
                      const In& beta, const Out& out, const std::string& isa) {
  require(q.dtype() == nb::dtype<uint8_t>(), "q: expected dtype uint8 (PTF codes)");
  const uint8_t* qp = checked<uint8_t>(q, "q", 1, 8);
  const int64_t n = int64_t(q.shape(q.ndim() - 1)), rows = int64_t(q.size()) / n;
  require(n >= 2 && n <= (1 << 14), "q: expected 2..16384 elements along the last axis");
  require(bits >= 2 && bits <= 8, "bits: expected an int in [2, 8]");
  require(zp >= 0 && zp < (1 << bits), "zp: expected a zero point in [0, 2^bits)");
  // the codes' range, as the reference's check: a full pass, except for 8 bits (every uint8 code is in range)
  if (bits < 8) require(int32_t(max_u8(qp, int64_t(q.size()))) < (1 << bits), "q: expected codes in [0, 2^bits)");
  // alpha as uint8, or as int64 (PTFParams' own dtype: checked and narrowed here, which saves the wrapper
  // two passes and two copies)
  std::vector<uint8_t> a8;
  const uint8_t* ap;
  if (alpha.dtype() == nb::dtype<int64_t>()) {
    const int64_t* a64 = checked<int64_t>(alpha, "alpha", 1, 1);
    require(int64_t(alpha.shape(0)) == n, "alpha: expected one per channel (the last axis of q)");
    a8.resize(size_t(n));
    for (int64_t c = 0; c < n; ++c) {
      require(a64[c] >= 0 && a64[c] <= 3, "alpha: expected values in [0, 3]");
      a8[size_t(c)] = uint8_t(a64[c]);
    }
    ap = a8.data();
  } else {
    ap = checked<uint8_t>(alpha, "alpha", 1, 1);
    require(int64_t(alpha.shape(0)) == n, "alpha: expected one per channel (the last axis of q)");
    for (int64_t c = 0; c < n; ++c) require(ap[c] <= 3, "alpha: expected values in [0, 3]");
  }
  int8_t* o = checked<int8_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const LayerNormParams p = layernorm_params(eps, m0, shift, beta, n);  // bindings.cpp
  const Isa which = pick_isa(isa);
  nb::gil_scoped_release release;
  ptf_layernorm(which, qp, rows, n, zp, ap, p, o);
}

}  // namespace

void bind_intops_extra(nb::module_& m) {
  m.def("nnlut_softmax", &nnlut_softmax_py, nb::arg("q"), nb::arg("m"), nb::arg("s"), nb::arg("dcap"),
        nb::arg("binary"), nb::arg("exp_starts"), nb::arg("exp_values"), nb::arg("exp_slopes"), nb::arg("rfrac"),
        nb::arg("recip_starts"), nb::arg("recip_slopes"), nb::arg("recip_icpts"), nb::arg("recip_pshift"), nb::arg("out"),
        nb::arg("isa") = "auto", "NN-LUT softmax along the last axis; see lowbit/ops/intops_extra_kernels.py.");
  m.def("ptf_layernorm", &ptf_layernorm_py, nb::arg("q"), nb::arg("bits"), nb::arg("zp"), nb::arg("alpha"),
        nb::arg("eps"), nb::arg("m0"), nb::arg("shift"), nb::arg("beta"), nb::arg("out"), nb::arg("isa") = "auto",
        "FQ-ViT PTF LayerNorm; see lowbit/ops/intops_extra_kernels.py.");
  m.def("log_int_softmax", &log_int_softmax_py, nb::arg("q"), nb::arg("dclip"), nb::arg("m0"), nb::arg("shift"),
        nb::arg("qb"), nb::arg("qc"), nb::arg("out"), nb::arg("isa") = "auto",
        "FQ-ViT Log-Int-Softmax (4-bit codes) along the last axis; see lowbit/ops/intops_extra_kernels.py.");
  m.def("pwl_act", &pwl_act_py, nb::arg("q"), nb::arg("r"), nb::arg("base"), nb::arg("w_max"), nb::arg("starts"),
        nb::arg("values"), nb::arg("fracs"), nb::arg("slopes"), nb::arg("shifts"), nb::arg("y_lo"), nb::arg("y_hi"),
        nb::arg("clipless"), nb::arg("out"),
        nb::arg("isa") = "auto",
        "PWL sigmoid / tanh (pwl._pwl_apply); see lowbit/ops/intops_extra_kernels.py.");
}

}  // namespace lowbit
