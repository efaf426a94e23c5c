// The compiled module lowbit._C. Every function validates its arguments (check.h) first.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cmath>

#include "check.h"
#include "bitserial.h"
#include "cpu.h"
#include "gemm.h"
#include "gemm_spec.h"
#include "quant_act.h"
#include "intops.h"
#include "intops_one.h"
#include "requant.h"
#include "rounding.h"
#include "threads.h"

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
  require(m0.shape(0) == shift.shape(0), "m0, shift: expected the same length");
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

void gemm_pack_py(const In& w, const Out& packed, const Out& colsum) {
  const int8_t* wp = checked<int8_t>(w, "w", 2, 2);
  const int64_t N = int64_t(w.shape(0)), K = int64_t(w.shape(1));
  require(N >= 1 && K >= 1, "w: expected a non-empty [N, K] array");
  require(K <= kMaxK, "w: expected K <= " + std::to_string(kMaxK) + " (int32 accumulation bound), got " +
                          std::to_string(K));
  int8_t* pp = checked<int8_t>(packed, "packed", 1, 4);
  require(int64_t(packed.size()) == gemm_packed_size(N, K), "packed: expected gemm_packed_size(N, K) bytes");
  int32_t* cs = checked<int32_t>(colsum, "colsum", 1, 1);
  require(int64_t(colsum.shape(0)) == N, "colsum: expected length N");
  nb::gil_scoped_release release;
  gemm_pack_weight(wp, N, K, pp, cs);
}

}  // namespace

namespace lowbit {
// The output range of a requantizing epilogue (s8/u8/s16), checked against out's dtype.
void set_requant_range(GemmEpilogue& ep, int32_t qmin, int32_t qmax, int32_t zero_point, bool relu) {
  const int32_t lo = ep.kind == GemmOut::s8 ? -128 : ep.kind == GemmOut::u8 ? 0 : -32768;
  const int32_t hi = ep.kind == GemmOut::s8 ? 127 : ep.kind == GemmOut::u8 ? 255 : 32767;
  require(lo <= qmin && qmin <= qmax && qmax <= hi, "qmin, qmax: expected lo <= qmin <= qmax <= hi of out's dtype");
  require(qmin <= zero_point && zero_point <= qmax, "zero_point: expected a value in [qmin, qmax]");
  ep.zero_point = zero_point;
  ep.qmin = relu ? std::max(qmin, zero_point) : qmin;  // ReLU: real 0 is the zero point
  ep.qmax = qmax;
}

GemmSpec gemm_spec(int64_t ka, bool a_signed, int32_t a_zero_point, const In& packed, const In& colsum, int64_t n,
                   int64_t k, const In& bias, const In& m0, const In& shift, const In& scale, int32_t zero_point,
                   int32_t qmin, int32_t qmax, bool relu, GemmOut kind, const In& perm, const In& seg_end,
                   const In& seg_shift) {
  GemmSpec g;
  require(n >= 1 && k >= 1 && k <= kMaxK, "packed: expected 1 <= K <= " + std::to_string(kMaxK));
  KSegments& seg = g.ep.seg;
  if (perm.size() > 0) {  // a's columns are gathered into the packed (segment) order
    g.perm = checked<int32_t>(perm, "perm", 1, 1);
    require(int64_t(perm.shape(0)) == k && k % 4 == 0, "perm: expected the packed K entries (a multiple of 4)");
    for (int64_t i = 0; i < k; ++i)
      if (g.perm[i] < -1 || g.perm[i] >= ka) throw Error("perm: expected column indices of a (or -1), got " +
                                                           std::to_string(g.perm[i]));
  } else {
    require(ka == k, "a: expected K = " + std::to_string(k) + " columns (the packed weight's K), got " +
                         std::to_string(ka));
  }
  if (seg_end.size() > 0) {  // K segments: power-of-two factors per input column
    seg.end = checked<int32_t>(seg_end, "seg_end", 1, 1);
    seg.shift = checked<int32_t>(seg_shift, "seg_shift", 1, 1);
    seg.n = int64_t(seg_end.shape(0));
    require(int64_t(seg_shift.shape(0)) == seg.n, "seg_shift: expected as many entries as seg_end");
    require(seg.end[seg.n - 1] == (k + 3) / 4, "seg_end: expected the last segment to end at the packed K / 4");
    int64_t weight = 0, prev = 0;  // sum of 2^factor over packed k, walked from the last segment
    for (int64_t i = 0; i < seg.n; ++i) {
      require(seg.end[i] >= prev, "seg_end: expected ascending k4 indices");
      require(seg.shift[i] >= 0 && seg.shift[i] <= 30, "seg_shift: expected shifts in [0, 30]");
      prev = seg.end[i];
    }
    for (int64_t i = seg.n; i-- > 0;) {
      weight = (weight + 4 * (seg.end[i] - (i ? seg.end[i - 1] : 0))) << seg.shift[i];
      require(weight <= kMaxK, "seg_shift: expected sum of 2^factor over K <= " + std::to_string(kMaxK) +
                                   " (int32 accumulation bound)");
    }
  }
  require(a_signed ? (a_zero_point >= -128 && a_zero_point <= 127) : (a_zero_point >= 0 && a_zero_point <= 255),
          "a_zero_point: expected a value of a's dtype");
  g.packed = checked<int8_t>(packed, "packed", 4, 4);
  require(int64_t(packed.shape(0)) == (n + kPanel - 1) / kPanel && int64_t(packed.shape(1)) == (k + 3) / 4 &&
              int64_t(packed.shape(2)) == kPanel && packed.shape(3) == 4,
          "packed: expected the k4n64 layout [ceil(N/64), ceil(K/4), 64, 4] for this N and K "
          "(a weight packed for another kernel or shape?)");
  g.colsum = checked<int32_t>(colsum, "colsum", 1, 1);
  require(int64_t(colsum.shape(0)) == n, "colsum: expected length N");
  if (bias.size() > 0) {
    g.bias = checked<int32_t>(bias, "bias", 1, 1);
    require(int64_t(bias.shape(0)) == n, "bias: expected length N");
    for (int64_t i = 0; i < n; ++i)
      if (g.bias[i] <= -kMaxBias || g.bias[i] >= kMaxBias) throw Error("bias: expected |bias| < 2^30");
  }
  GemmEpilogue& ep = g.ep;
  ep.kind = kind;
  ep.relu = relu;
  ep.ldo = n;
  if (kind == GemmOut::f32) {
    ep.scale = checked<float>(scale, "scale", 1, 1);
    ep.scale_per_channel = scale.shape(0) != 1;
    require(!ep.scale_per_channel || int64_t(scale.shape(0)) == n, "scale: expected length 1 or N");
    for (size_t i = 0; i < scale.shape(0); ++i)
      if (!(ep.scale[i] > 0.0f) || ep.scale[i] > 3.4e38f) throw Error("scale: expected finite positive values");
  }
  if (kind == GemmOut::s8 || kind == GemmOut::u8 || kind == GemmOut::s16) {
    ep.m0 = checked<int32_t>(m0, "m0", 1, 1);
    ep.shift = checked<int32_t>(shift, "shift", 1, 1);
    require(m0.shape(0) == shift.shape(0), "m0, shift: expected the same length");
    ep.per_channel = m0.shape(0) != 1;
    require(!ep.per_channel || int64_t(m0.shape(0)) == n, "m0: expected length 1 or N");
    for (size_t i = 0; i < m0.shape(0); ++i) {
      if (ep.shift[i] < 0 || ep.shift[i] > kMaxShift) throw Error("shift: expected values in [0, 62]");
      if (ep.m0[i] < 0) throw Error("m0: expected non-negative multipliers");
    }
    set_requant_range(ep, qmin, qmax, zero_point, relu);
  }
  return g;
}

LayerNormParams layernorm_params(int64_t eps, const In& m0, const In& shift, const In& beta, int64_t n) {
  require(eps >= 0 && eps <= (int64_t(1) << 60), "eps: expected an integer eps in [0, 2^60]");
  const int32_t* mp = checked<int32_t>(m0, "m0", 1, 1);
  const int32_t* sp = checked<int32_t>(shift, "shift", 1, 1);
  const int64_t* bp = checked<int64_t>(beta, "beta", 1, 1);
  require(int64_t(m0.shape(0)) == n && int64_t(shift.shape(0)) == n && int64_t(beta.shape(0)) == n,
          "m0, shift, beta: expected one per channel (the last axis of q)");
  for (int64_t c = 0; c < n; ++c) {
    if (sp[c] < 0 || sp[c] > kMaxShift) throw Error("shift: expected values in [0, 62]");
    if (mp[c] == INT32_MIN) throw Error("m0: expected |m0| < 2^31");
    if (bp[c] < -(int64_t(1) << 61) || bp[c] > (int64_t(1) << 61)) throw Error("beta: expected |beta| <= 2^61");
  }
  const LayerNormParams p{eps, mp, sp, bp};
  return p;
}

SoftmaxParams softmax_params(int64_t dclip, int32_t m0, int32_t shift, int32_t qb, int32_t qc) {
  require(dclip >= 1 && dclip <= (int64_t(1) << 31), "dclip: expected a value in [1, 2^31]");
  require(m0 >= 0, "m0: expected a non-negative multiplier");
  require(shift >= 0 && shift <= kMaxShift, "shift: expected a value in [0, 62]");
  // these bounds are what keeps the kernels' 32-bit exp arithmetic and its one 32x32 product exact
  const int64_t top = int64_t(qb) * qb + qc;
  require(qb >= (1 << kExpK) && qb < (1 << 15) && qc >= 0 && top > (int64_t(1) << 30) && top < (int64_t(1) << 31),
          "qb, qc: expected exp polynomial constants with 2^14 <= qb < 2^15, 2^30 < qb^2 + qc < 2^31 (from ibert's EXP_* constants)");
  return SoftmaxParams{dclip, m0, shift, qb, qc};
}
}  // namespace lowbit

namespace {

GemmOut gemm_out_kind(const Out& out) {
  if (out.dtype() == nb::dtype<int32_t>()) return GemmOut::s32;
  if (out.dtype() == nb::dtype<float>()) return GemmOut::f32;
  if (out.dtype() == nb::dtype<int8_t>()) return GemmOut::s8;
  if (out.dtype() == nb::dtype<uint8_t>()) return GemmOut::u8;
  if (out.dtype() == nb::dtype<int16_t>()) return GemmOut::s16;
  throw Error("out: expected dtype int32, float32, int8, uint8 or int16");
}

void* gemm_out_pointer(const Out& out, GemmOut kind) {
  switch (kind) {
    case GemmOut::s32: return checked<int32_t>(out, "out", 2, 2);
    case GemmOut::f32: return checked<float>(out, "out", 2, 2);
    case GemmOut::s8: return checked<int8_t>(out, "out", 2, 2);
    case GemmOut::u8: return checked<uint8_t>(out, "out", 2, 2);
    default: return checked<int16_t>(out, "out", 2, 2);
  }
}

void gemm_py(const In& a, int32_t a_zero_point, const In& packed, const In& colsum, int64_t n, int64_t k,
             const In& bias, const In& m0, const In& shift, const In& scale, int32_t zero_point, int32_t qmin,
             int32_t qmax, bool relu, const Out& out, const std::string& isa, int threads, const In& perm,
             const In& seg_end, const In& seg_shift, bool stream_out) {
  const bool a_signed = a.dtype() == nb::dtype<int8_t>();
  require(a_signed || a.dtype() == nb::dtype<uint8_t>(), "a: expected dtype uint8 or int8");
  const void* ap = a_signed ? (const void*)checked<int8_t>(a, "a", 2, 2) : (const void*)checked<uint8_t>(a, "a", 2, 2);
  const int64_t M = int64_t(a.shape(0)), ka = int64_t(a.shape(1));
  const GemmOut kind = gemm_out_kind(out);
  GemmSpec g = gemm_spec(ka, a_signed, a_zero_point, packed, colsum, n, k, bias, m0, shift, scale, zero_point, qmin,
                         qmax, relu, kind, perm, seg_end, seg_shift);
  g.ep.out = gemm_out_pointer(out, kind);
  g.ep.stream_out = stream_out;
  require(int64_t(out.shape(0)) == M && int64_t(out.shape(1)) == n, "out: expected shape [M, N]");
  require(threads >= 1, "threads: expected a positive int");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  if (M == 0) return;  // no rows: nothing to compute (the kernels' row blocking assumes M >= 1)
  nb::gil_scoped_release release;
  gemm_s8(which, ap, a_signed, M, ka, a_zero_point, g.packed, g.colsum, n, g.bias, g.ep, threads, g.perm, k);
}

void require_dyadic(int32_t m0, int32_t shift) {
  require(m0 >= 0, "m0: expected a non-negative multiplier");
  require(shift >= 0 && shift <= kMaxShift, "shift: expected a value in [0, 62]");
}

void ibert_softmax_py(const In& q, int64_t dclip, int32_t m0, int32_t shift, int32_t qb, int32_t qc, const Out& out,
                      const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const int64_t n = int64_t(q.shape(q.ndim() - 1)), rows = int64_t(q.size()) / n;
  require(n <= (int64_t(1) << 20), "q: expected rows of at most 2^20 elements along the last axis");
  uint8_t* o = checked<uint8_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const SoftmaxParams p = softmax_params(dclip, m0, shift, qb, qc);
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  if (is16) ibert_softmax(which, static_cast<const int16_t*>(qp), rows, n, p, o);
  else ibert_softmax(which, static_cast<const int32_t*>(qp), rows, n, p, o);
}

void ibert_gelu_py(const In& q, int64_t clip, int32_t m0, int32_t shift, int32_t qc, const Out& out,
                   const std::string& isa) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const bool out32 = out.dtype() == nb::dtype<int32_t>();
  void* o = out32 ? (void*)checked<int32_t>(out, "out", 1, 8) : (void*)checked<int64_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  require(clip >= 1 && clip <= (int64_t(1) << 31), "clip: expected a value in [1, 2^31]");
  require_dyadic(m0, shift);
  require(qc >= (1 << 24) && qc <= (1 << 30), "qc: expected the erf constant in [2^24, 2^30]");
  const GeluParams p{clip, m0, shift, qc};
  // |q (erf + one)| <= 2^15 * 2 one < 2^31 needs 16-bit codes and one < 2^15 (true for I-BERT's erf)
  require(!out32 || (is16 && ibert_gelu_one_constant(p) < (1 << 15)),
          "out: int32 output needs int16 codes (the products of int32 codes can need 48 bits)");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  const int64_t size = int64_t(q.size());
  if (out32) ibert_gelu(which, static_cast<const int16_t*>(qp), size, p, static_cast<int32_t*>(o));
  else if (is16) ibert_gelu(which, static_cast<const int16_t*>(qp), size, p, static_cast<int64_t*>(o));
  else ibert_gelu(which, static_cast<const int32_t*>(qp), size, p, static_cast<int64_t*>(o));
}

void ibert_layernorm_py(const In& q, int64_t eps, const In& m0, const In& shift, const In& beta, const Out& out,
                        const std::string& isa, int threads) {
  bool is16;
  const void* qp = checked_codes(q, is16);
  const int64_t n = int64_t(q.shape(q.ndim() - 1)), rows = int64_t(q.size()) / n;
  require(n >= 2 && n <= (1 << 14), "q: expected 2..16384 elements along the last axis");
  // the kernel's sums rely on |q| < 2^15: a full pass, but cheap next to the op itself
  require(is16 ? codes_within(static_cast<const int16_t*>(qp), int64_t(q.size()), -32767, 32767)
               : codes_within(static_cast<const int32_t*>(qp), int64_t(q.size()), -32767, 32767),
          "q: expected codes in [-32767, 32767]");
  int8_t* o = checked<int8_t>(out, "out", 1, 8);
  require_same_shape(q, out, "out");
  const LayerNormParams p = layernorm_params(eps, m0, shift, beta, n);
  require(threads >= 1, "threads: expected a positive int");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  nb::gil_scoped_release release;
  for_row_blocks(rows, threads, [&](int64_t r0, int64_t r1) {  // rows are independent
    if (is16) ibert_layernorm(which, static_cast<const int16_t*>(qp) + r0 * n, r1 - r0, n, p, o + r0 * n);
    else ibert_layernorm(which, static_cast<const int32_t*>(qp) + r0 * n, r1 - r0, n, p, o + r0 * n);
  });
}

BsLayout parse_layout(const std::string& layout) {
  if (layout == "planes-outer") return BsLayout::planes_outer;
  if (layout == "planes-interleaved") return BsLayout::planes_interleaved;
  if (layout == "rows-interleaved") return BsLayout::rows_interleaved;
  throw Error("layout: expected 'planes-outer', 'planes-interleaved' or 'rows-interleaved', got '" + layout + "'");
}

// planes-outer arrays are uint64 [bits, rows, blocks * 8], planes-interleaved ones [rows, blocks, bits, 8],
// rows-interleaved ones [ceil(rows / 8), bits, ceil(K / 64), 8]: the number of dimensions and the shape
// (for K and `rows`, the rows of the output) tell them apart, so planes packed for another layout are
// refused.
BitPlanes checked_planes(const In& arr, const char* name, int64_t k, int64_t rows, BsLayout layout) {
  const std::string n(name);
  const bool outer = layout == BsLayout::planes_outer, by_rows = layout == BsLayout::rows_interleaved;
  const size_t nd = outer ? 3 : 4;
  const char* form = outer ? "planes-outer [bits, rows, words]"
                     : by_rows ? "rows-interleaved [ceil(rows / 8), bits, ceil(K / 64), 8]"
                               : "planes-interleaved [rows, blocks, bits, 8]";
  if (arr.ndim() != nd)
    throw Error(n + ": expected " + form + " (" + std::to_string(nd) + " dimensions), got " +
                std::to_string(arr.ndim()) + " dimensions: planes packed for another layout?");
  const uint64_t* p = checked<uint64_t>(arr, name, nd, nd);
  const int64_t bits = int64_t(outer ? arr.shape(0) : by_rows ? arr.shape(1) : arr.shape(2));
  const int64_t blocks = (k + 511) / 512, words = (k + 63) / 64;
  bool shape_ok;
  if (outer) shape_ok = int64_t(arr.shape(1)) == rows && int64_t(arr.shape(2)) == blocks * 8;
  else if (by_rows) shape_ok = int64_t(arr.shape(0)) == (rows + 7) / 8 && int64_t(arr.shape(2)) == words && arr.shape(3) == 8;
  else shape_ok = int64_t(arr.shape(0)) == rows && int64_t(arr.shape(1)) == blocks && arr.shape(3) == 8;
  require(shape_ok, n + ": expected " + form + " with " + std::to_string(rows) + " rows and K = " + std::to_string(k) +
                        " (the packer's layout), got another shape: planes packed for another layout or shape?");
  require(bits >= 1 && bits <= 8, n + ": expected 1..8 bit-planes, got " + std::to_string(bits) +
                                       ": planes packed for another layout?");
  const BitPlanes b = make_planes(p, bits, rows, by_rows ? words : blocks, layout);
  // the XOR form and the shifts rely on zero padding: check the words past K (a few per row)
  const int64_t full = k / 64, rem = k % 64;
  for (int64_t j = 0; j < bits; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      if (rem && (plane_word(b, j, r, full) >> rem) != 0) throw Error(n + ": expected zero padding bits past K");
      for (int64_t t = full + (rem ? 1 : 0); t < b.words; ++t)
        if (plane_word(b, j, r, t)) throw Error(n + ": expected zero padding words past K");
    }
  return b;
}

void bitserial_py(const In& a, const In& w, int64_t k, bool bipolar, const Out& out, const std::string& isa,
                  const std::string& layout) {
  require(k >= 1, "k: expected K >= 1");
  const BsLayout lay = parse_layout(layout);
  int32_t* o = checked<int32_t>(out, "out", 2, 2);
  const int64_t M = int64_t(out.shape(0)), N = int64_t(out.shape(1));
  require(M >= 1 && N >= 1, "out: expected shape [M, N] with M, N >= 1");
  const BitPlanes pa = checked_planes(a, "a", k, M, lay), pw = checked_planes(w, "w", k, N, lay);
  require(!bipolar || (pa.bits == 1 && pw.bits == 1), "bipolar: expected 1-bit a and w (+-1 values)");
  const double worst = double(k) * double((1 << pa.bits) - 1) * double((1 << pw.bits) - 1);
  require(worst < 2147483647.0, "k: expected K * (2^p - 1) * (2^q - 1) < 2^31 (int32 output)");
  Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  bool popcnt = false;
  for (const auto& f : cpu_features()) popcnt = popcnt || f == "avx512vpopcntdq";
  if (which == Isa::avx512 && !popcnt) which = Isa::avx2;  // AVX-512 without VPOPCNTDQ (Cascade Lake)
  nb::gil_scoped_release release;
  bitserial_gemm(which, pa, pw, bipolar, k, o);
}

std::vector<float> minmax_py(const In& x, const std::string& isa) {
  const float* p = checked<float>(x, "x", 1, 8);
  require(x.size() >= 1, "x: expected a non-empty array");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  float mn, mx;
  {
    nb::gil_scoped_release release;
    minmax_f32(which, p, int64_t(x.size()), &mn, &mx);
  }
  return {mn, mx};
}

void quantize_u8_py(const In& x, float scale, int32_t zero_point, const Out& out, const std::string& isa) {
  const float* p = checked<float>(x, "x", 1, 8);
  uint8_t* o = checked<uint8_t>(out, "out", 1, 8);
  require(out.size() == x.size(), "out: expected as many elements as x");
  require(std::isfinite(scale) && scale > 0.0f, "scale: expected a finite positive float32");
  require(zero_point >= 0 && zero_point <= 255, "zero_point: expected 0..255");
  const Isa which = isa == "auto" ? default_isa() : parse_isa(isa);
  bool ok;
  {
    nb::gil_scoped_release release;
    ok = quantize_u8(which, p, int64_t(x.size()), scale, zero_point, o);
  }
  require(ok, "x: expected no NaN (a NaN has no uint8 code)");
}

}  // namespace

namespace lowbit {
void vnni_peak_loop(int64_t iters);
void bind_probe(nb::module_& m);  // bindings_probe.cpp
void bind_gemm_batched(nb::module_& m);  // bindings_gemm_batched.cpp
void bind_model(nb::module_& m);  // bindings_model.cpp
void bind_int_bert(nb::module_& m);  // bindings_int_bert.cpp
void bind_deepgemm(nb::module_& m);  // bindings_deepgemm.cpp
void bind_lowbit_gemv(nb::module_& m);  // bindings_lowbit_gemv.cpp
void bind_shift_lut(nb::module_& m);  // bindings_shift_lut.cpp
void bind_intops_extra(nb::module_& m);  // bindings_intops_extra.cpp
}

NB_MODULE(_C, m) {
  lowbit::bind_probe(m);
  lowbit::bind_gemm_batched(m);
  lowbit::bind_model(m);
  lowbit::bind_int_bert(m);
  lowbit::bind_deepgemm(m);
  lowbit::bind_lowbit_gemv(m);
  lowbit::bind_shift_lut(m);
  lowbit::bind_intops_extra(m);
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
  m.def("gemm_packed_size", &gemm_packed_size, nb::arg("n"), nb::arg("k"));
  m.def("gemm_pack", &gemm_pack_py, nb::arg("w"), nb::arg("packed"), nb::arg("colsum"),
        "Packs int8 W [N, K] into the k4n64 layout (see csrc/gemm.h) and its column sums.");
  m.def("gemm", &gemm_py, nb::arg("a"), nb::arg("a_zero_point"), nb::arg("packed"), nb::arg("colsum"),
        nb::arg("n"), nb::arg("k"), nb::arg("bias"), nb::arg("m0"), nb::arg("shift"), nb::arg("scale"),
        nb::arg("zero_point"), nb::arg("qmin"), nb::arg("qmax"), nb::arg("relu"), nb::arg("out"),
        nb::arg("isa") = "auto", nb::arg("threads") = 1, nb::arg("perm"), nb::arg("seg_end"), nb::arg("seg_shift"),
        nb::arg("stream_out") = false, "int8 GEMM with fused epilogue; see lowbit/ops/gemm.py.");
  m.attr("GEMM_MAX_K") = kMaxK;
  m.def("minmax_f32", &minmax_py, nb::arg("x"), nb::arg("isa") = "auto", "[min, max] of a float32 array (both NaN if it holds a NaN).");
  m.def("quantize_u8", &quantize_u8_py, nb::arg("x"), nb::arg("scale"), nb::arg("zero_point"), nb::arg("out"),
        nb::arg("isa") = "auto", "out = clamp(rint(x / scale) + zero_point, 0, 255); see csrc/quant_act.h.");
  m.def("bitserial_gemm", &bitserial_py, nb::arg("a"), nb::arg("w"), nb::arg("k"), nb::arg("bipolar"),
        nb::arg("out"), nb::arg("isa") = "auto", nb::arg("layout") = "planes-outer",
        "Bit-serial GEMM on bit-planes in one layout (planes-outer, planes-interleaved, rows-interleaved); see\n"
        "csrc/bitserial.h. M and N are out's shape.");
  m.def("ibert_softmax", &ibert_softmax_py, nb::arg("q"), nb::arg("dclip"), nb::arg("m0"), nb::arg("shift"),
        nb::arg("qb"), nb::arg("qc"), nb::arg("out"), nb::arg("isa") = "auto",
        "I-BERT integer softmax along the last axis; see lowbit/ops/intops_kernels.py.");
  m.def("ibert_gelu", &ibert_gelu_py, nb::arg("q"), nb::arg("clip"), nb::arg("m0"), nb::arg("shift"), nb::arg("qc"),
        nb::arg("out"), nb::arg("isa") = "auto", "I-BERT integer GELU; see lowbit/ops/intops_kernels.py.");
  m.def("ibert_layernorm", &ibert_layernorm_py, nb::arg("q"), nb::arg("eps"), nb::arg("m0"), nb::arg("shift"),
        nb::arg("beta"), nb::arg("out"), nb::arg("isa") = "auto", nb::arg("threads") = 1,
        "I-BERT integer LayerNorm along the last axis; see lowbit/ops/intops_kernels.py.");
#if defined(__x86_64__)
  m.def(
      "vnni_peak_loop",
      [](int64_t iters) {
        bool ok = false;
        for (Isa i : available_isas()) ok = ok || i == Isa::avx512;
        require(ok, "vnni_peak_loop: this CPU has no AVX-512 VNNI");
        nb::gil_scoped_release release;
        vnni_peak_loop(iters);
      },
      nb::arg("iters"), "iters x 24 vpdpbusd on registers (3072 int8 ops per iteration).");
#endif
}
