// lowbit._C's low-bit GEMV entry points (lowbit_gemv.h, codebook_gemv.h): every array is checked here,
// before any kernel reads it.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "codebook_gemv.h"
#include "lowbit_gemv.h"

namespace nb = nanobind;

namespace lowbit {

namespace {

constexpr int64_t kMaxRows = int64_t(1) << 31;  // keeps every size product below in int64

// a NaN or Inf activation scale would turn its whole output row into NaN / Inf (the weight's scales and
// tables are checked once, when the weight is packed: a pass over them here would cost a GEMV ~5%)
void require_finite(const float* p, int64_t size, const char* msg) {
  for (int64_t i = 0; i < size; ++i)
    if (!std::isfinite(p[i])) throw Error(msg);
}

LbLayout parse_layout(const std::string& s) {
  if (s == "fields") return LbLayout::fields;
  if (s == "planes") return LbLayout::planes;
  if (s == "trits") return LbLayout::trits;
  throw Error("layout: expected 'fields', 'planes' or 'trits', got '" + s + "'");
}

// out: int32 [M, n] without scale, float32 [M, n / combine] with it.
void lowbit_gemv_py(const In& a, int32_t a_zero_point, const In& data, const std::string& layout, int64_t bits,
                    int64_t n, int64_t k, const In& rowsum, int64_t group, int32_t mul, int32_t off,
                    const In& scale, const In& act_scale, int64_t combine, const Out& out, const std::string& isa,
                    int threads) {
  const LbLayout lay = parse_layout(layout);
  const bool ok_bits = lay == LbLayout::fields ? (bits == 1 || bits == 2 || bits == 4)
                       : lay == LbLayout::trits ? bits == 2 : (bits >= 1 && bits <= 4);
  require(ok_bits, "bits: expected 1, 2 or 4 for layout 'fields', 1..4 for 'planes', 2 for 'trits', got " +
                       std::to_string(bits));
  require(k >= 1 && k <= kLbMaxK, "k: expected 1 <= K <= " + std::to_string(kLbMaxK));
  require(n >= 1 && n <= kMaxRows, "n: expected 1 <= N <= 2^31");
  require(group >= k || (group >= kLbQuantum && group % kLbQuantum == 0),
          "group: expected a multiple of " + std::to_string(kLbQuantum) + " or >= K");
  require(mul == 1 || mul == 2, "mul: expected 1 or 2");
  require(off >= -16 && off <= 0, "off: expected -16 <= off <= 0");
  require(combine >= 1 && combine <= 8 && n % combine == 0, "combine: expected 1..8 dividing N");
  const int64_t R = lb_rows_per_block(lay, bits), blocks = (n + R - 1) / R, bb = lb_block_bytes(lay, bits, k);
  const uint8_t* d = checked<uint8_t>(data, "w", 1, 1);
  const std::string what = std::to_string(bits) + "-bit layout '" + layout + "' with N = " + std::to_string(n) +
                           ", K = " + std::to_string(k);
  require(int64_t(data.shape(0)) == blocks * bb + 32,
          "w: expected " + std::to_string(blocks * bb + 32) + " bytes of packed data for " + what);
  int64_t tag[4];
  std::memcpy(tag, d + blocks * bb, sizeof tag);
  require(tag[0] == kLbTag && tag[1] == int64_t(lay) * 16 + bits && tag[2] == n && tag[3] == k,
          "w: expected data packed for " + what + " (packed for another kernel or shape)");
  const int64_t G = group >= k ? k : group, groups = (k + G - 1) / G;
  const int32_t* rs = checked<int32_t>(rowsum, "rowsum", 2, 2);
  require(int64_t(rowsum.shape(0)) == n && int64_t(rowsum.shape(1)) == groups,
          "rowsum: expected shape [N, groups] = [" + std::to_string(n) + ", " + std::to_string(groups) + "]");
  require(a.dtype() == nb::dtype<uint8_t>() || a.dtype() == nb::dtype<int8_t>(), "a: expected dtype uint8 or int8");
  const bool a_signed = a.dtype() == nb::dtype<int8_t>();
  const void* ap = a_signed ? static_cast<const void*>(checked<int8_t>(a, "a", 2, 2))
                            : static_cast<const void*>(checked<uint8_t>(a, "a", 2, 2));
  require(int64_t(a.shape(1)) == k, "a: expected K = " + std::to_string(k) + " columns");
  const int64_t M = int64_t(a.shape(0));
  require(M >= 1, "a: expected at least one row");
  require(a_signed ? (a_zero_point >= -128 && a_zero_point <= 127) : (a_zero_point >= 0 && a_zero_point <= 255),
          "a_zero_point: expected a value of a's dtype");
  const float* sc = nullptr;
  const float* asc = nullptr;
  if (scale.size() > 0) {
    sc = checked<float>(scale, "scale", 2, 2);
    require(int64_t(scale.shape(0)) == n && int64_t(scale.shape(1)) == groups,
            "scale: expected shape [N, groups] = [" + std::to_string(n) + ", " + std::to_string(groups) + "]");
    if (act_scale.size() > 0) {
      asc = checked<float>(act_scale, "act_scale", 1, 1);
      require(int64_t(act_scale.shape(0)) == M, "act_scale: expected one per row of a");
      require_finite(asc, M, "act_scale: expected finite activation scales (no NaN or Inf)");
    }
    float* o = checked<float>(out, "out", 2, 2);
    (void)o;
    require(int64_t(out.shape(0)) == M && int64_t(out.shape(1)) == n / combine, "out: expected shape [M, N / combine]");
  } else {
    require(groups == 1 && combine == 1, "scale: expected per-group scales for grouped or combined output");
    checked<int32_t>(out, "out", 2, 2);
    require(int64_t(out.shape(0)) == M && int64_t(out.shape(1)) == n, "out: expected shape [M, N]");
  }
  require(threads >= 1 && threads <= 1024, "threads: expected 1..1024");
  const LbWeight w{d, lay, bits, n, k, rs, G, mul, off};
  const LbCall c{ap, a_signed, M, a_zero_point, sc, asc, combine, const_cast<void*>(static_cast<const void*>(out.data())), threads};
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  lowbit_gemv(which, w, c);
}


// x: float32 [M, K], or int8 / uint8 [M, K] taken as (x - a_zero_point) exactly in float32.
void codebook_gemv_py(const In& a, int32_t a_zero_point, const In& data, int64_t bits, int64_t n, int64_t k,
                      const In& tables, int64_t table_row_stride, int64_t table_group_stride, int64_t group,
                      const In& scale, const In& act_scale, const Out& out, const std::string& isa, int threads) {
  require(bits == 3 || bits == 4, "bits: expected 3 or 4");
  require(k >= 1 && k <= (int64_t(1) << 24), "k: expected 1 <= K <= 2^24");
  require(n >= 1 && n <= kMaxRows, "n: expected 1 <= N <= 2^31");
  require(group >= k || (group >= 16 && group % 16 == 0), "group: expected a multiple of 16 or >= K");
  const int64_t words = cb_row_words(bits, k);
  const uint32_t* d = checked<uint32_t>(data, "w", 1, 1);
  const std::string what = std::to_string(bits) + "-bit codebook layout with N = " + std::to_string(n) +
                           ", K = " + std::to_string(k);
  require(int64_t(data.shape(0)) == n * words + 8,
          "w: expected " + std::to_string(n * words + 8) + " uint32 words of packed data for " + what);
  int64_t tag[4];
  std::memcpy(tag, d + n * words, sizeof tag);
  require(tag[0] == kCbTag && tag[1] == bits && tag[2] == n && tag[3] == k,
          "w: expected data packed for " + what + " (packed for another kernel or shape)");
  const int64_t G = group >= k ? k : group, groups = (k + G - 1) / G;
  const float* t = checked<float>(tables, "codebook", 2, 2);
  require(tables.shape(1) == 16, "codebook: expected 16 float32 entries per table (3-bit tables stored twice)");
  require(table_row_stride >= 0 && table_group_stride >= 0 && table_row_stride % 16 == 0 && table_group_stride % 16 == 0,
          "codebook: expected non-negative strides in whole tables");
  // each of the two terms of the last table's index below bounded by the tables' size first (by a division:
  // the products themselves could overflow int64 and wrap back into range)
  const int64_t floats = int64_t(tables.shape(0)) * 16;
  require((table_row_stride == 0 || n - 1 <= floats / table_row_stride) &&
              (table_group_stride == 0 || groups - 1 <= floats / table_group_stride),
          "codebook: expected one table per row or per (row, group): too few tables for N and K (or strides "
          "past the tables' " + std::to_string(floats) + " floats)");
  const int64_t last = (n - 1) * table_row_stride + (groups - 1) * table_group_stride;
  require(last / 16 < int64_t(tables.shape(0)) && last % 16 == 0,
          "codebook: expected one table per row or per (row, group): too few tables for N and K");
  const float* sc = nullptr;
  if (scale.size() > 0) {
    sc = checked<float>(scale, "scale", 2, 2);
    require(int64_t(scale.shape(0)) == n && int64_t(scale.shape(1)) == groups,
            "scale: expected shape [N, groups] = [" + std::to_string(n) + ", " + std::to_string(groups) + "]");
  }
  require(a.ndim() == 2 && int64_t(a.shape(1)) == k, "a: expected activations [M, K] with K = " + std::to_string(k));
  const int64_t M = int64_t(a.shape(0));
  require(M >= 1, "a: expected at least one row");
  std::vector<float> conv;
  const float* x;
  if (a.dtype() == nb::dtype<float>()) {
    x = checked<float>(a, "a", 2, 2);
  } else {
    require(a.dtype() == nb::dtype<uint8_t>() || a.dtype() == nb::dtype<int8_t>(),
            "a: expected dtype float32, uint8 or int8");
    const bool sgn = a.dtype() == nb::dtype<int8_t>();
    const uint8_t* p = sgn ? reinterpret_cast<const uint8_t*>(checked<int8_t>(a, "a", 2, 2)) : checked<uint8_t>(a, "a", 2, 2);
    conv.resize(size_t(M * k));
    for (int64_t i = 0; i < M * k; ++i)
      conv[size_t(i)] = float((sgn ? int32_t(int8_t(p[i])) : int32_t(p[i])) - a_zero_point);
    x = conv.data();
  }
  const float* asc = nullptr;
  if (act_scale.size() > 0) {
    asc = checked<float>(act_scale, "act_scale", 1, 1);
    require(int64_t(act_scale.shape(0)) == M, "act_scale: expected one per row of a");
    require_finite(asc, M, "act_scale: expected finite activation scales (no NaN or Inf)");
  }
  float* o = checked<float>(out, "out", 2, 2);
  require(int64_t(out.shape(0)) == M && int64_t(out.shape(1)) == n, "out: expected shape [M, N]");
  require(threads >= 1 && threads <= 1024, "threads: expected 1..1024");
  const CbWeight w{d, bits, n, k, t, table_row_stride, table_group_stride, G, sc};
  Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  if (which != Isa::avx512) which = Isa::scalar;
  nb::gil_scoped_release release;
  codebook_gemv(which, w, x, M, asc, o, threads);
}

}  // namespace

void bind_lowbit_gemv(nb::module_& m) {
  m.def("lowbit_gemv", &lowbit_gemv_py, nb::arg("a"), nb::arg("a_zero_point"), nb::arg("w"), nb::arg("layout"),
        nb::arg("bits"), nb::arg("n"), nb::arg("k"), nb::arg("rowsum"), nb::arg("group"), nb::arg("mul"),
        nb::arg("off"), nb::arg("scale"), nb::arg("act_scale"), nb::arg("combine"), nb::arg("out"),
        nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "Low-bit weight x int8 activation GEMV; see csrc/lowbit_gemv.h and lowbit/ops/lowbit_gemv.py.");
  m.def("codebook_gemv", &codebook_gemv_py, nb::arg("a"), nb::arg("a_zero_point"), nb::arg("w"), nb::arg("bits"),
        nb::arg("n"), nb::arg("k"), nb::arg("codebook"), nb::arg("table_row_stride"), nb::arg("table_group_stride"),
        nb::arg("group"), nb::arg("scale"), nb::arg("act_scale"), nb::arg("out"), nb::arg("isa") = "auto",
        nb::arg("threads") = 1, "Codebook GEMV (3/4-bit indices into float tables); see csrc/codebook_gemv.h.");
  m.def("lowbit_gemv_isa", [](const std::string& isa, const std::string& layout) {
    const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
    return std::string(isa_name(lb_effective_isa(which, parse_layout(layout))));
  }, nb::arg("isa"), nb::arg("layout"), "The variant lowbit_gemv really runs for this request.");
}

}  // namespace lowbit
