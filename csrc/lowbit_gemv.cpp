// The ISA-independent part of the low-bit GEMV (see lowbit_gemv.h): native activations, LUT tables,
// threads over row blocks, the integer / float epilogue; and the scalar raw kernels, which follow the
// layouts' definitions literally (they are also what NEON and AVX2 machines run).
#include "lowbit_gemv.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "lowbit_gemv_trits.h"
#include "threads.h"

namespace lowbit {

void lb_fields_raw_scalar(const uint8_t* block, int64_t bits, int64_t k0, int64_t k1, const uint8_t* x,
                          int64_t lda, int64_t M, const uint8_t*, int64_t, int32_t* raw) {
  const int64_t F = 8 / bits, R = 16 * F, mask = (1 << bits) - 1;
  for (int64_t m = 0; m < M; ++m) {
    const int8_t* xm = reinterpret_cast<const int8_t*>(x + m * lda);
    for (int64_t r = 0; r < R; ++r) {
      const int64_t f = r / 16, j = r % 16;
      int32_t acc = 0;
      for (int64_t k = k0; k < k1; ++k) {
        const uint8_t byte = block[(k / 4) * 64 + j * 4 + k % 4];
        acc += int32_t(xm[k]) * int32_t((byte >> (bits * f)) & mask);
      }
      raw[m * R + r] = acc;
    }
  }
}

void lb_planes_raw_scalar(const uint8_t* block, int64_t bits, int64_t k0, int64_t k1, const uint8_t* x,
                          int64_t lda, int64_t M, const uint8_t*, int64_t, int32_t* raw) {
  for (int64_t m = 0; m < M; ++m) {
    const uint8_t* xm = x + m * lda;
    for (int64_t r = 0; r < 64; ++r) {
      const int64_t c = r / 16, i = (r % 16) / 2, h = r % 2;
      int32_t acc = 0;
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t q = k / 32, s = (k % 32) / 8, t = k % 8;
        int32_t u = 0;
        for (int64_t p = 0; p < bits; ++p) {
          const uint8_t byte = block[(((q * bits + p) * 4 + c) * 8 + i) * 8 + h * 4 + s];
          u |= int32_t((byte >> t) & 1) << p;
        }
        acc += int32_t(xm[k]) * u;
      }
      raw[m * 64 + r] = acc;
    }
  }
}

// planes and trits need AVX-512 VBMI (vpermb, vpermi2b, vpmultishiftqb).
Isa lb_effective_isa(Isa requested, LbLayout layout) {
#if defined(__x86_64__)
  if (requested == Isa::avx512) {
    if (layout == LbLayout::fields) return Isa::avx512;
    for (const auto& f : cpu_features())
      if (f == "avx512vbmi") return Isa::avx512;
  }
#else
  (void)layout;
#endif
  (void)requested;
  return Isa::scalar;
}

namespace {

LbRawFn raw_fn(Isa isa, LbLayout layout) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) {
    if (layout == LbLayout::trits) return lb_trits_raw_avx512;
    return layout == LbLayout::fields ? lb_fields_raw_avx512 : lb_planes_raw_avx512;
  }
#endif
  (void)isa;
  if (layout == LbLayout::trits) return lb_trits_raw_scalar;
  return layout == LbLayout::fields ? lb_fields_raw_scalar : lb_planes_raw_scalar;
}

// The 64-byte table of one group of 8 native (uint8) activations: low-nibble and high-nibble subset sums
// of its two groups of 4, in the byte order the planes kernel's index bytes select (lowbit_gemv.h).
}  // namespace

void lb_build_tables_scalar(const uint8_t* x, int64_t kpad, uint8_t* t) {
  for (int64_t e = 0; e < kpad / 8; ++e, t += 64) {
    for (int g = 0; g < 2; ++g) {
      const uint8_t* a = x + 8 * e + 4 * g;
      uint8_t* lo = t + 32 * g;
      uint8_t* hi = lo + 16;
      lo[0] = hi[0] = 0;
      for (int idx = 1; idx < 16; ++idx) {
        const int low = __builtin_ctz(unsigned(idx));
        lo[idx] = uint8_t(lo[idx & (idx - 1)] + (a[low] & 15));
        hi[idx] = uint8_t(hi[idx & (idx - 1)] + (a[low] >> 4));
      }
    }
  }
}

void lowbit_gemv(Isa isa, const LbWeight& w, const LbCall& c) {
  const Isa eff = lb_effective_isa(isa, w.layout);
  const LbRawFn run = raw_fn(eff, w.layout);
  const bool fields = w.layout != LbLayout::planes;  // fields and trits take int8 activations
  const int64_t M = c.M, K = w.k, N = w.n, kpad = lb_kpad(K);
  const int64_t R = lb_rows_per_block(w.layout, w.bits), blocks = (N + R - 1) / R;
  const int64_t bb = lb_block_bytes(w.layout, w.bits, K);
  const int64_t G = std::min(w.group, kpad), groups = (K + G - 1) / G;
  // Native activations, zero past K, and each row's zero point in that form.
  std::vector<uint8_t> x(size_t(M * kpad), 0);
  std::vector<int64_t> z(static_cast<size_t>(M)), sumx(size_t(M * groups), 0);
  const uint8_t* src = static_cast<const uint8_t*>(c.a);
  const bool flip = fields != c.a_signed;  // fields wants int8 (a - 128), planes uint8
  for (int64_t m = 0; m < M; ++m) {
    z[size_t(m)] = int64_t(c.a_zero_point) + (flip ? (fields ? -128 : 128) : 0);
    const uint8_t mask = flip ? 0x80 : 0;
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t k0 = g * G, k1 = std::min(K, k0 + G);
      const uint8_t* s = src + m * K;
      uint8_t* d = x.data() + m * kpad;
      int32_t sum = 0;  // |sum| <= 255 * 32768 < 2^31
      if (fields) {
        for (int64_t k = k0; k < k1; ++k) {
          d[k] = uint8_t(s[k] ^ mask);
          sum += int8_t(d[k]);
        }
      } else {
        for (int64_t k = k0; k < k1; ++k) {
          d[k] = uint8_t(s[k] ^ mask);
          sum += d[k];
        }
      }
      sumx[size_t(m * groups + g)] = sum;
    }
  }
  std::vector<uint8_t> tables;
  const int64_t ldt = kpad / 8 * 64;
  if (!fields && eff == Isa::avx512) {
    tables.resize(size_t(M * ldt));
    for (int64_t m = 0; m < M; ++m) {
#if defined(__x86_64__)
      lb_build_tables_avx512(x.data() + m * kpad, kpad, tables.data() + m * ldt);
#else
      lb_build_tables_scalar(x.data() + m * kpad, kpad, tables.data() + m * ldt);
#endif
    }
  }
  // Threads take whole units of `combine` blocks, so that one output row is never split between threads.
  const int64_t per_unit = c.combine, units = (blocks + per_unit - 1) / per_unit;
  const int threads = int(std::max<int64_t>(1, std::min<int64_t>(c.threads, units)));
  const int64_t n_out = N / c.combine;
  // M = 1 on weights beyond L2 (per thread): kLbStreams read streams (lowbit_gemv.h)
  LbStreamsFn run_streams = nullptr;
#if defined(__x86_64__)
  if (M == 1 && eff == Isa::avx512 && w.layout == LbLayout::fields && blocks * bb >= kLbStreamsMinBytes * threads)
    run_streams = lb_fields_streams_avx512;
#endif
  // The vector epilogue where rowsum and scale hold one K segment per row. Scalar, it took ~2% of the cold M = 1
  // 4-bit GEMV at 8192 x 8192, a pause in the weight stream between the stream kernel's calls.
  LbFinishFn fin = nullptr;
  LbCombineFn comb = nullptr;
#if defined(__x86_64__)
  if (eff == Isa::avx512 && groups == 1) fin = lb_finish_avx512;
  if (eff == Isa::avx512) comb = lb_combine_avx512;
#endif
  auto work = [&](int t) {
    const int64_t b0 = units * t / threads * per_unit, b1 = std::min(blocks, units * (t + 1) / threads * per_unit);
    if (b1 <= b0) return;
    const int64_t rbase = b0 * R, rend = std::min(N, b1 * R), span = rend - rbase;
    // float output: [M][span]; the vector epilogue stores each row's only term, the scalar one adds to zero
    std::unique_ptr<double[]> yacc(c.scale ? new double[size_t(M * span)] : nullptr);
    if (c.scale && !fin) std::fill(yacc.get(), yacc.get() + M * span, 0.0);
    auto k_end = [&](int64_t g) { return g == groups - 1 ? kpad : g * G + G; };
    // the epilogue of block b's raw sums over K-group g
    auto finish = [&](int64_t b, int64_t g, const int32_t* raw) {
      const int64_t r0 = b * R, rows = std::min(R, N - r0), kseg = std::min(K, g * G + G) - g * G;
      for (int64_t m = 0; m < M; ++m) {
        const int64_t zm = z[size_t(m)], xs = sumx[size_t(m * groups + g)] - kseg * zm;
        if (fin) {  // wrapping int32 is exact here (lowbit_gemv.h)
          if (c.scale)
            fin(raw + m * R, rows, w.rowsum + r0, w.mul, int32_t(zm), int32_t(w.off * xs), c.scale + r0, nullptr,
                yacc.get() + m * span + r0 - rbase);
          else
            fin(raw + m * R, rows, w.rowsum + r0, w.mul, int32_t(zm), int32_t(w.off * xs), nullptr,
                static_cast<int32_t*>(c.out) + m * N + r0, nullptr);
          continue;
        }
        for (int64_t i = 0; i < rows; ++i) {
          const int64_t r = r0 + i;
          const int64_t acc =
              int64_t(w.mul) * (int64_t(raw[m * R + i]) - zm * w.rowsum[r * groups + g]) + int64_t(w.off) * xs;
          if (c.scale)
            yacc[size_t(m * span + r - rbase)] += double(c.scale[r * groups + g]) * double(acc);
          else
            static_cast<int32_t*>(c.out)[m * N + r] = int32_t(acc);
        }
      }
    };
    std::vector<int32_t> raw(size_t(M * R * kLbStreams));
    int64_t b = b0;
    if (run_streams && b1 - b0 >= kLbStreams) {
      // kLbStreams contiguous ranges of len blocks, one block of each at a time; the last
      // (b1 - b0) % kLbStreams blocks run alone below
      const int64_t len = (b1 - b0) / kLbStreams;
      const uint8_t* blk[kLbStreams];
      int32_t* raws[kLbStreams];
      for (int i = 0; i < kLbStreams; ++i) raws[i] = raw.data() + i * R;
      for (int64_t j = 0; j < len; ++j)
        for (int64_t g = 0; g < groups; ++g) {
          for (int i = 0; i < kLbStreams; ++i) blk[i] = w.data + (b0 + i * len + j) * bb;
          run_streams(blk, w.bits, g * G, k_end(g), x.data(), raws);
          for (int i = 0; i < kLbStreams; ++i) finish(b0 + i * len + j, g, raws[i]);
        }
      b = b0 + kLbStreams * len;
    }
    for (; b < b1; ++b)
      for (int64_t g = 0; g < groups; ++g) {
        run(w.data + b * bb, w.bits, g * G, k_end(g), x.data(), kpad, M, tables.data(), ldt, raw.data());
        finish(b, g, raw.data());
      }
    if (!c.scale) return;
    for (int64_t m = 0; m < M; ++m) {
      const double s = c.act_scale ? double(c.act_scale[m]) : 1.0;
      if (comb) {
        comb(yacc.get() + m * span, span / c.combine, c.combine, s,
             static_cast<float*>(c.out) + m * n_out + rbase / c.combine);
        continue;
      }
      for (int64_t i = 0; i < span; i += c.combine) {
        double v = 0.0;
        for (int64_t j = 0; j < c.combine; ++j) v += yacc[size_t(m * span + i + j)];
        static_cast<float*>(c.out)[m * n_out + (rbase + i) / c.combine] = float(s * v);
      }
    }
  };
  if (threads == 1) {
    work(0);
  } else {
    parallel_for(threads, work);
  }
}

}  // namespace lowbit
