// lowbit._C's small glue kernels of the integer-only transformer (see lowbit/nn/int_bert.py).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>

#include <vector>

#include "check.h"
#include "cpu.h"
#include "int_bert_plan.h"
#include "intops.h"
#include "intops_one.h"
#include "requant.h"
#include "residual.h"
#include "rounding.h"
#include "threads.h"

namespace lowbit {

namespace {

void residual_add_py(const In& x, const In& shift, const In& y, const Out& out, const std::string& isa,
                     int threads) {
  const int8_t* xp = checked<int8_t>(x, "x", 1, 8);
  const int16_t* yp = checked<int16_t>(y, "y", 1, 8);
  int16_t* op = checked<int16_t>(out, "out", 1, 8);
  const int32_t* sp = checked<int32_t>(shift, "shift", 1, 1);
  const int64_t C = int64_t(x.shape(x.ndim() - 1));
  require(C >= 1 && int64_t(shift.shape(0)) == C, "shift: expected one shift per channel (x's last axis)");
  bool same = x.ndim() == y.ndim() && x.ndim() == out.ndim();
  for (size_t i = 0; same && i < x.ndim(); ++i) same = x.shape(i) == y.shape(i) && x.shape(i) == out.shape(i);
  require(same, "y, out: expected the shape of x");
  for (int64_t c = 0; c < C; ++c)
    if (sp[c] < 0 || sp[c] > kMaxResidualShift) throw Error("shift: expected values in [0, 23]");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  require(threads >= 1, "threads: expected a positive int");
  nb::gil_scoped_release release;
  residual_rows(which, xp, sp, yp, int64_t(x.size()) / C, C, op, threads);
}

// I-BERT GELU of int16 codes [rows, C] requantized per channel to uint8 (one zero point), one row at a
// time through an L1-sized int32 buffer: the same integers as ibert_gelu then requantize, without the
// full int32 intermediate in memory.
void ibert_gelu_requant_py(const In& q, int64_t clip, int32_t m0, int32_t shift, int32_t qc, const In& rq_m0,
                           const In& rq_shift, int32_t zero_point, const Out& out, const std::string& isa,
                           int threads) {
  const int16_t* qp = checked<int16_t>(q, "q", 1, 8);
  uint8_t* op = checked<uint8_t>(out, "out", 1, 8);
  const int32_t* rm = checked<int32_t>(rq_m0, "rq_m0", 1, 1);
  const int32_t* rs = checked<int32_t>(rq_shift, "rq_shift", 1, 1);
  const int64_t C = int64_t(q.shape(q.ndim() - 1));
  require(C >= 1 && int64_t(rq_m0.shape(0)) == C && int64_t(rq_shift.shape(0)) == C,
          "rq_m0, rq_shift: expected one multiplier per channel (q's last axis)");
  bool same = q.ndim() == out.ndim();
  for (size_t i = 0; same && i < q.ndim(); ++i) same = q.shape(i) == out.shape(i);
  require(same, "out: expected the shape of q");
  require(clip >= 1 && clip <= (int64_t(1) << 31), "clip: expected a value in [1, 2^31]");
  require(m0 >= 0 && shift >= 0 && shift <= kMaxShift, "m0, shift: expected m0 >= 0 and shift in [0, 62]");
  require(qc >= (1 << 24) && qc <= (1 << 30), "qc: expected the erf constant in [2^24, 2^30]");
  const GeluParams p{clip, m0, shift, qc};
  require(ibert_gelu_one_constant(p) < (1 << 15), "qc: expected int16 codes' products to fit int32");
  for (int64_t c = 0; c < C; ++c)
    if (rm[c] < 0 || rs[c] < 0 || rs[c] > kMaxShift) throw Error("rq_m0, rq_shift: expected m0 >= 0, shift in [0, 62]");
  require(zero_point >= 0 && zero_point <= 255, "zero_point: expected 0..255");
  const RequantParams rp{rm, rs, true, zero_point, 0, 255};
  require(threads >= 1, "threads: expected a positive int");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  gelu_requant_rows(which, qp, int64_t(q.size()) / C, C, p, rp, op, threads);
}

}  // namespace

void bind_model(nb::module_& m) {
  m.def("ibert_gelu_requant", &ibert_gelu_requant_py, nb::arg("q"), nb::arg("clip"), nb::arg("m0"),
        nb::arg("shift"), nb::arg("qc"), nb::arg("rq_m0"), nb::arg("rq_shift"), nb::arg("zero_point"),
        nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "requantize(ibert_gelu(q)) to uint8 per channel, row by row; see lowbit/nn/int_nonlinear.py.");
  m.def("residual_add", &residual_add_py, nb::arg("x"), nb::arg("shift"), nb::arg("y"), nb::arg("out"),
        nb::arg("isa") = "auto", nb::arg("threads") = 1, "out = clamp((x << shift[c]) + y, -32767, 32767); see csrc/residual.h.");
}

}  // namespace lowbit
