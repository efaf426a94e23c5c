// lowbit._C's small glue kernels of the integer-only transformer (see lowbit/nn/int_bert.py).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>

#include "check.h"
#include "cpu.h"
#include "residual.h"

namespace lowbit {

namespace {

void residual_add_py(const In& x, const In& shift, const In& y, const Out& out, const std::string& isa) {
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
  nb::gil_scoped_release release;
  residual_add(which, xp, sp, yp, int64_t(x.size()) / C, C, op);
}

}  // namespace

void bind_model(nb::module_& m) {
  m.def("residual_add", &residual_add_py, nb::arg("x"), nb::arg("shift"), nb::arg("y"), nb::arg("out"),
        nb::arg("isa") = "auto", "out = clamp((x << shift[c]) + y, -32767, 32767); see csrc/residual.h.");
}

}  // namespace lowbit
