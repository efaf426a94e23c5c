// Codebook GEMV driver (padding, threads over rows) and the scalar kernel (codebook_gemv.h).
#include "codebook_gemv.h"

#include <algorithm>
#include <vector>

#include "threads.h"

namespace lowbit {

void cb_rows_scalar(const CbWeight& w, const float* x, int64_t r0, int64_t r1, double* y) {
  const int64_t F = cb_fields(w.bits), chunk = 16 * F;
  const int64_t G = std::min(w.group, cb_kpad(w.bits, w.k)), groups = (w.k + G - 1) / G;
  const uint32_t mask = (1u << w.bits) - 1;
  for (int64_t r = r0; r < r1; ++r) {
    double acc = 0.0;
    for (int64_t k = 0; k < w.k; ++k) {
      const int64_t c = k / chunk, j = (k % chunk) / 16, l = k % 16, g = k / G;
      const uint32_t u = (w.data[cb_word_index(w.bits, w.n, w.k, r, c) + l] >> (w.bits * j)) & mask;
      float v = w.tables[r * w.table_row_stride + g * w.table_group_stride + u];
      if (w.scale) v *= w.scale[r * groups + g];
      acc += double(x[k]) * double(v);
    }
    y[r - r0] = acc;
  }
}

void codebook_gemv(Isa isa, const CbWeight& w, const float* x, int64_t M, const float* act_scale, float* out,
                   int threads) {
  CbRowsFn run = cb_rows_scalar;
#if defined(__x86_64__)
  if (isa == Isa::avx512) run = cb_rows_avx512;
#endif
  (void)isa;
  const int64_t kpad = cb_kpad(w.bits, w.k), N = w.n;
  std::vector<float> xp(size_t(M * kpad), 0.0f);
  for (int64_t m = 0; m < M; ++m) std::copy(x + m * w.k, x + (m + 1) * w.k, xp.begin() + m * kpad);
  constexpr int64_t kRows = 16;  // rows per task unit
  const int64_t units = (N + kRows - 1) / kRows;
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, units)));
  auto work = [&](int t) {
    const int64_t r0 = std::min(N, units * t / threads * kRows), r1 = std::min(N, units * (t + 1) / threads * kRows);
    std::vector<double> y(size_t(std::max<int64_t>(0, r1 - r0)));
    for (int64_t m = 0; m < M; ++m) {
      run(w, xp.data() + m * kpad, r0, r1, y.data());
      const double s = act_scale ? double(act_scale[m]) : 1.0;
      for (int64_t r = r0; r < r1; ++r) out[m * N + r] = float(s * y[size_t(r - r0)]);
    }
  };
  if (threads == 1) work(0);
  else parallel_for(threads, work);
}

}  // namespace lowbit
