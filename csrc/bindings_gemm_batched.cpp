// lowbit._C.gemm_batched: many small int8 GEMMs in one call (attention's Q K^T and P V per head).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>

#include "check.h"
#include "cpu.h"
#include "gemm.h"
#include "rounding.h"

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

}  // namespace

void bind_gemm_batched(nb::module_& m) {
  m.def("gemm_batched", &gemm_batched_py, nb::arg("a"), nb::arg("a_zero_point"), nb::arg("b"), nb::arg("bias"),
        nb::arg("bias_every"), nb::arg("m0"), nb::arg("shift"), nb::arg("zero_point"), nb::arg("qmin"),
        nb::arg("qmax"), nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "out[g] = epilogue(a[g] x b[g]^T) for unpacked int8 b [G, N, K]; see lowbit/ops/gemm.py.");
}

}  // namespace lowbit
