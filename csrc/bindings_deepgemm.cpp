// lowbit._C.deepgemm_2x2: 2-bit x 2-bit GEMM through one 16-entry product table (see csrc/deepgemm.h).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>

#include "check.h"
#include "cpu.h"
#include "deepgemm.h"

namespace lowbit {

namespace {

void deepgemm_py(const In& a, const In& w, int64_t k, const In& table, const Out& out, const std::string& isa) {
  const uint8_t* ap = checked<uint8_t>(a, "a", 2, 2);
  const uint8_t* wp = checked<uint8_t>(w, "w", 2, 2);
  const int8_t* tp = checked<int8_t>(table, "table", 1, 1);
  int32_t* op = checked<int32_t>(out, "out", 2, 2);
  const int64_t M = int64_t(a.shape(0)), N = int64_t(w.shape(0)), kb = (k + 3) / 4;
  require(k >= 1 && k <= (int64_t(1) << 22), "k: expected 1 <= K <= 2^22 (int32 sums of int8 products)");
  require(int64_t(a.shape(1)) == kb && int64_t(w.shape(1)) == kb,
          "a, w: expected ceil(K / 4) bytes per row (4 two-bit codes per byte) for K = " + std::to_string(k));
  require(table.shape(0) == 16, "table: expected 16 int8 products (index w * 4 + a)");
  require(int64_t(out.shape(0)) == M && int64_t(out.shape(1)) == N, "out: expected int32 [M, N]");
  // the AVX-512 kernel counts the codes past K in each row's last byte as code 0 (table[0]): they must be
  if (k % 4) {
    const uint8_t pad = uint8_t(0xFF << (2 * (k % 4)));
    for (int64_t m = 0; m < M; ++m)
      if (ap[m * kb + kb - 1] & pad) throw Error("a: expected zero padding codes past K in each row's last byte");
    for (int64_t n = 0; n < N; ++n)
      if (wp[n * kb + kb - 1] & pad) throw Error("w: expected zero padding codes past K in each row's last byte");
  }
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  deepgemm_2x2(which, ap, M, wp, N, k, tp, op);
}

}  // namespace

void bind_deepgemm(nb::module_& m) {
  m.def("deepgemm_2x2", &deepgemm_py, nb::arg("a"), nb::arg("w"), nb::arg("k"), nb::arg("table"), nb::arg("out"),
        nb::arg("isa") = "auto", "out[m, n] = sum_k table[w * 4 + a] over 2-bit codes; see lowbit/ops/deepgemm.py.");
}

}  // namespace lowbit
