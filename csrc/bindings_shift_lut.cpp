// lowbit._C's Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU entry points (shift_lut.h): every array and
// integer constant is checked here, before any kernel reads it; the bounds below are the ones the kernels'
// 32- and 64-bit arithmetic relies on.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <algorithm>
#include <climits>
#include <string>

#include "check.h"
#include "cpu.h"
#include "intops.h"
#include "rounding.h"
#include "shift_lut.h"
#include "shift_lut_params.h"

namespace nb = nanobind;

namespace lowbit {

namespace {

void dyadic_ok(int32_t m0, int32_t shift, const char* m0_name, const char* shift_name) {
  require(m0 >= 0, std::string(m0_name) + ": expected a non-negative multiplier");
  require(shift >= 1 && shift <= kMaxShift, std::string(shift_name) + ": expected a value in [1, 62]");
}

void clamp_ok(int64_t v, const char* name) {
  require(v >= 1 && v <= (int64_t(1) << 31), std::string(name) + ": expected a value in [1, 2^31]");
}

int64_t row_length(const In& q) {
  const int64_t n = int64_t(q.shape(q.ndim() - 1));
  require(n <= (int64_t(1) << 20), "q: expected rows of at most 2^20 elements along the last axis");
  return n;
}

}  // namespace

ShiftmaxParams shiftmax_params(int64_t dclip, int32_t m0, int32_t shift) {
  clamp_ok(dclip, "dclip");
  dyadic_ok(m0, shift, "m0", "shift");
  return ShiftmaxParams{dclip, m0, shift};
}

ShiftGeluParams shiftgelu_params(int32_t l, int32_t m) {
  require(l >= 0 && l <= 15, "l: expected a shift in [0, 15]");
  require(m >= 0 && m <= 65535, "m: expected a multiplier in [0, 65535]");
  return ShiftGeluParams{l, m};
}

LutSoftmaxParams lut_softmax_params(int64_t dcap, int32_t m0, int32_t shift, const In& exp2, const In& recip,
                                    const In& log2, bool lnexp) {
  clamp_ok(dcap, "dcap");
  dyadic_ok(m0, shift, "m0", "shift");
  const uint16_t* e2 = checked<uint16_t>(exp2, "exp2", 1, 1);
  const uint16_t* rc = checked<uint16_t>(recip, "recip", 1, 1);
  const uint8_t* lg = checked<uint8_t>(log2, "log2", 1, 1);
  require(exp2.shape(0) == 128 && recip.shape(0) == 128 && log2.shape(0) == 128,
          "exp2, recip, log2: expected 128 entries each");
  for (int i = 0; i < 128; ++i) {
    if (e2[i] > (1u << 15)) throw Error("exp2: expected entries <= 2^15");
    if (rc[i] > (1u << 15)) throw Error("recip: expected entries <= 2^15");
  }
  require(e2[0] == (1u << 15), "exp2: expected exp2[0] = 2^15 (a row's sum is then >= 2^15)");
  return LutSoftmaxParams{dcap, m0, shift, e2, rc, lg, lnexp};
}

PwlGeluParams pwl_gelu_params(int32_t r, int64_t base, int32_t w_max, int64_t q8, int32_t id_m0, int32_t id_shift,
                              const In& starts, const In& anchors, const In& shifts, const In& slopes,
                              const In& values) {
  require(r >= 0 && r <= 40, "r: expected a value in [0, 40]");
  require(base >= INT32_MIN && base <= 0, "base: expected a value in [-2^31, 0]");
  require(w_max >= 1 && w_max <= 65535, "w_max: expected a value in [1, 2^16 - 1]");
  require(q8 >= 1, "q8: expected a positive code");
  require(id_m0 >= 0, "id_m0: expected a non-negative multiplier");
  require(id_shift >= 0 && id_shift <= kMaxShift, "id_shift: expected a value in [0, 62]");
  const uint16_t* st = checked<uint16_t>(starts, "starts", 1, 1);
  const uint16_t* an = checked<uint16_t>(anchors, "anchors", 1, 1);
  const uint8_t* sh = checked<uint8_t>(shifts, "shifts", 1, 1);
  const uint16_t* sl = checked<uint16_t>(slopes, "slopes", 1, 1);
  const int32_t* va = checked<int32_t>(values, "values", 1, 1);
  const int64_t k = int64_t(starts.shape(0));
  require(k >= 1 && k <= kPwlGeluRows, "starts: expected 1..64 rows");
  for (const In* a : {&anchors, &shifts, &slopes, &values})
    require(int64_t(a->shape(0)) == k, "anchors, shifts, slopes, values: expected one per row (the length of starts)");
  require(st[0] == 0, "starts: expected starts[0] = 0");
  for (int64_t j = 0; j < k; ++j) {
    const int64_t end = j + 1 < k ? int64_t(st[j + 1]) - 1 : int64_t(w_max);  // the row's last w
    require(end >= st[j], "starts: expected increasing row starts within [0, w_max]");
    require(sh[j] <= 16, "shifts: expected values in [0, 16]");
    const int64_t d = std::max(int64_t(an[j]) - st[j], end - int64_t(an[j]));  // the row's largest |w - anchor|
    require(d <= 32767 && (d << sh[j]) <= 65535, "anchors: expected |w - anchor| < 2^15 and (|w - anchor| << shift) < 2^16 on each row");
    require(va[j] > -(1 << 30) && va[j] < (1 << 30), "values: expected |value| < 2^30");
  }
  return PwlGeluParams{r, base, w_max, q8, id_m0, id_shift, int32_t(k), st, an, sh, sl, va};
}

namespace {

void shiftmax_py(const In& q, int64_t dclip, int32_t m0, int32_t shift, const Out& out, const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const int64_t n = row_length(q), rows = int64_t(q.size()) / n;
  uint8_t* o = checked<uint8_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const ShiftmaxParams p = shiftmax_params(dclip, m0, shift);
  const Isa which = pick_isa(isa);
  nb::gil_scoped_release release;
  if (is16) shiftmax(which, static_cast<const int16_t*>(qp), rows, n, p, o);
  else shiftmax(which, static_cast<const int32_t*>(qp), rows, n, p, o);
}

void shiftgelu_py(const In& q, int32_t l, int32_t m, const Out& out, const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const int64_t size = int64_t(q.size());
  // q * sigmoid_Q15 fits int32 and the kernels' lanes only for |q| < 2^15 (the reference's input range):
  // int32 codes checked here, int16 codes (only -2^15 is out) by the kernel on its way (then out is garbage)
  const char* range = "q: expected codes in [-32767, 32767]";
  if (!is16) require(codes_within(static_cast<const int32_t*>(qp), size, -32767, 32767), range);
  const bool out32 = out.dtype() == nb::dtype<int32_t>();
  void* o = out32 ? (void*)checked<int32_t>(out, "out", 1, 8) : (void*)checked<int64_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const ShiftGeluParams p = shiftgelu_params(l, m);
  const Isa which = pick_isa(isa);
  bool ok;
  {
    nb::gil_scoped_release release;
    if (is16) {
      const auto* qq = static_cast<const int16_t*>(qp);
      ok = out32 ? shiftgelu(which, qq, size, p, static_cast<int32_t*>(o)) : shiftgelu(which, qq, size, p, static_cast<int64_t*>(o));
    } else {
      const auto* qq = static_cast<const int32_t*>(qp);
      ok = out32 ? shiftgelu(which, qq, size, p, static_cast<int32_t*>(o)) : shiftgelu(which, qq, size, p, static_cast<int64_t*>(o));
    }
  }
  require(ok, range);
}

void lut_softmax_py(const In& q, int64_t dcap, int32_t m0, int32_t shift, const In& exp2, const In& recip,
                    const In& log2, bool lnexp, const Out& out, const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const int64_t n = row_length(q), rows = int64_t(q.size()) / n;
  uint8_t* o = checked<uint8_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const LutSoftmaxParams p = lut_softmax_params(dcap, m0, shift, exp2, recip, log2, lnexp);
  const Isa which = pick_isa(isa);
  nb::gil_scoped_release release;
  if (is16) lut_softmax(which, static_cast<const int16_t*>(qp), rows, n, p, o);
  else lut_softmax(which, static_cast<const int32_t*>(qp), rows, n, p, o);
}

void pwl_gelu_py(const In& q, int32_t r, int64_t base, int32_t w_max, int64_t q8, int32_t id_m0, int32_t id_shift,
                 const In& starts, const In& anchors, const In& shifts, const In& slopes, const In& values,
                 const Out& out, const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  int32_t* o = checked<int32_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const PwlGeluParams p = pwl_gelu_params(r, base, w_max, q8, id_m0, id_shift, starts, anchors, shifts, slopes, values);
  const Isa which = pick_isa(isa);
  nb::gil_scoped_release release;
  const int64_t size = int64_t(q.size());
  if (is16) pwl_gelu(which, static_cast<const int16_t*>(qp), size, p, o);
  else pwl_gelu(which, static_cast<const int32_t*>(qp), size, p, o);
}

}  // namespace

void bind_shift_lut(nb::module_& m) {
  m.def("shiftmax", &shiftmax_py, nb::arg("q"), nb::arg("dclip"), nb::arg("m0"), nb::arg("shift"), nb::arg("out"),
        nb::arg("isa") = "auto", "I-ViT Shiftmax along the last axis; see lowbit/ops/shift_lut_kernels.py.");
  m.def("shiftgelu", &shiftgelu_py, nb::arg("q"), nb::arg("l"), nb::arg("m"), nb::arg("out"),
        nb::arg("isa") = "auto", "I-ViT ShiftGELU; see lowbit/ops/shift_lut_kernels.py.");
  m.def("lut_softmax", &lut_softmax_py, nb::arg("q"), nb::arg("dcap"), nb::arg("m0"), nb::arg("shift"),
        nb::arg("exp2"), nb::arg("recip"), nb::arg("log2"), nb::arg("lnexp"), nb::arg("out"), nb::arg("isa") = "auto",
        "LUT softmax (rexp / lnexp) along the last axis; see lowbit/ops/shift_lut_kernels.py.");
  m.def("pwl_gelu", &pwl_gelu_py, nb::arg("q"), nb::arg("r"), nb::arg("base"), nb::arg("w_max"), nb::arg("q8"),
        nb::arg("id_m0"), nb::arg("id_shift"), nb::arg("starts"), nb::arg("anchors"), nb::arg("shifts"),
        nb::arg("slopes"), nb::arg("values"), nb::arg("out"), nb::arg("isa") = "auto",
        "NN-LUT piecewise-linear GELU; see lowbit/ops/shift_lut_kernels.py.");
}

}  // namespace lowbit
