// The compiled module lowbit._C. Every function validates its arguments (check.h) first.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "check.h"
#include "cpu.h"
#include "requant.h"
#include "rounding.h"

namespace nb = nanobind;
using namespace lowbit;

namespace {

std::vector<std::string> isa_names() {
  std::vector<std::string> v;
  for (Isa i : available_isas()) v.push_back(isa_name(i));
  return v;
}

void requantize_py(const In& acc, const In& m0, const In& shift, int32_t zero_point, int32_t qmin,
                   int32_t qmax, const Out& out,
                   const std::string& isa) {
  const int32_t* a = checked<int32_t>(acc, "acc", 1, 2);
  const int64_t rows = acc.ndim() == 2 ? int64_t(acc.shape(0)) : 1;
  const int64_t cols = int64_t(acc.shape(acc.ndim() - 1));
  const int32_t* m = checked<int32_t>(m0, "m0", 1, 1);
  const int32_t* s = checked<int32_t>(shift, "shift", 1, 1);
  require(m0.shape(0) == shift.shape(0), "shift: expected the same length as m0");
  const bool per_channel = m0.shape(0) != 1;
  require(!per_channel || int64_t(m0.shape(0)) == cols,
          "m0: expected length 1 or the number of columns of acc (" + std::to_string(cols) + ")");
  for (size_t i = 0; i < m0.shape(0); ++i) {  // messages are built only on failure: this loop is hot
    if (s[i] < 0 || s[i] > kMaxShift) throw Error("shift: expected values in [0, 62], got " + std::to_string(s[i]));
    if (m[i] < 0) throw Error("m0: expected non-negative multipliers, got " + std::to_string(m[i]));
  }
  OutType t;
  int64_t lo, hi;
  if (out.dtype() == nb::dtype<int8_t>()) t = OutType::s8, lo = INT8_MIN, hi = INT8_MAX;
  else if (out.dtype() == nb::dtype<uint8_t>()) t = OutType::u8, lo = 0, hi = UINT8_MAX;
  else if (out.dtype() == nb::dtype<int32_t>()) t = OutType::s32, lo = INT32_MIN, hi = INT32_MAX;
  else throw Error("out: expected dtype int8, uint8 or int32");
  void* o = t == OutType::s8 ? (void*)checked<int8_t>(out, "out", 1, 2)
            : t == OutType::u8 ? (void*)checked<uint8_t>(out, "out", 1, 2)
                               : (void*)checked<int32_t>(out, "out", 1, 2);
  require(out.size() == acc.size() && out.shape(out.ndim() - 1) == acc.shape(acc.ndim() - 1),
          "out: expected the shape of acc");
  require(lo <= qmin && qmin <= qmax && qmax <= hi, "qmin, qmax: expected lo <= qmin <= qmax <= hi of out's dtype");
  require(qmin <= zero_point && zero_point <= qmax, "zero_point: expected a value in [qmin, qmax]");
  RequantParams p{m, s, per_channel, zero_point, qmin, qmax};
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  requantize(which, a, rows, cols, p, t, o);
}

}  // namespace

NB_MODULE(_C, m) {
  m.doc() = "lowbit's C++ kernels. Use them through lowbit.ops; arguments are validated here too.";
  // kept for the life of the process (never decref'd at shutdown)
  PyObject* lowbit_error = nb::object(nb::module_::import_("lowbit.errors").attr("LowbitError")).release().ptr();
  nb::register_exception_translator(
      [](const std::exception_ptr& p, void* payload) {
        try {
          std::rethrow_exception(p);
        } catch (const Error& e) {
          PyErr_SetString(static_cast<PyObject*>(payload), e.what());
        } catch (const std::invalid_argument& e) {
          PyErr_SetString(static_cast<PyObject*>(payload), e.what());
        }
      },
      lowbit_error);

  m.def("available_isas", &isa_names, "Kernel variants this CPU can run, best last.");
  m.def("default_isa", [] { return std::string(isa_name(default_isa())); },
        "The variant kernels use by default (LOWBIT_ISA overrides).");
  m.def("cpu_features", &cpu_features, "CPU feature flags relevant to the kernels.");
  m.def("requantize", &requantize_py, nb::arg("acc"), nb::arg("m0"), nb::arg("shift"), nb::arg("zero_point"),
        nb::arg("qmin"), nb::arg("qmax"), nb::arg("out"), nb::arg("isa") = "auto",
        "out = clamp(rshift_round(acc * m0, shift) + zero_point, qmin, qmax); see csrc/rounding.h.");
}
