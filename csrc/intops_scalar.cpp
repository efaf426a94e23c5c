// Portable I-BERT softmax / GELU / LayerNorm kernels and the ISA dispatch (see intops.h): AVX-512 and NEON
// variants where built; "avx2" has none and runs these.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "intops.h"
#include "intops_one.h"

namespace lowbit {

template <typename T>
void ibert_softmax_scalar(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  std::vector<int64_t> e(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    int64_t mx = row[0];
    for (int64_t i = 1; i < n; ++i) mx = std::max<int64_t>(mx, row[i]);
    int64_t total = 0;  // <= 2^20 * 2^31
    for (int64_t i = 0; i < n; ++i) total += e[size_t(i)] = ibert_exp_one(int64_t(row[i]) - mx, p);
    const int64_t factor = (int64_t(1) << 62) / total;  // total > 0: the max element's exp is > 2^30
    for (int64_t i = 0; i < n; ++i) out[r * n + i] = ibert_softmax_out_one(e[size_t(i)], factor);
  }
}

template <typename T, typename O>
void ibert_gelu_scalar(const T* q, int64_t size, const GeluParams& p, O* out) {
  const int32_t one = ibert_gelu_one_constant(p);
  for (int64_t i = 0; i < size; ++i) out[i] = O(ibert_gelu_one(q[i], p, one));
}

template <typename T>
bool codes_within(const T* q, int64_t size, int32_t lo, int32_t hi) {
#if defined(__x86_64__)
  // the check reads the whole input: on 512-bit lanes it costs ~5% of a LayerNorm, not ~30%
  static const bool avx512 = default_isa() == Isa::avx512;
  if (avx512) return codes_within_avx512(q, size, lo, hi);
#endif
  T mn = q[0], mx = q[0];
  for (int64_t i = 1; i < size; ++i) mn = std::min(mn, q[i]), mx = std::max(mx, q[i]);  // a reduction: vectorizes
  return mn >= lo && mx <= hi;
}

template <typename T>
void ibert_layernorm_scalar(const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    int64_t s = 0, s2 = 0;
    for (int64_t i = 0; i < n; ++i) s += row[i], s2 += int64_t(row[i]) * row[i];
    const LnRow st = ibert_layernorm_row(s, s2, n, p.eps);
    for (int64_t i = 0; i < n; ++i) out[r * n + i] = ibert_layernorm_one(row[i], i, st, p);
  }
}

template <typename T>
void ibert_layernorm(Isa isa, const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return ibert_layernorm_avx512(q, rows, n, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return ibert_layernorm_neon(q, rows, n, p, out);
#endif
  (void)isa;
  ibert_layernorm_scalar(q, rows, n, p, out);
}

// The AVX-512 variants exist only in x86-64 builds, the NEON ones only in aarch64 builds.
template <typename T>
void ibert_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return ibert_softmax_avx512(q, rows, n, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return ibert_softmax_neon(q, rows, n, p, out);
#endif
  (void)isa;
  ibert_softmax_scalar(q, rows, n, p, out);
}

template <typename T, typename O>
void ibert_gelu(Isa isa, const T* q, int64_t size, const GeluParams& p, O* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return ibert_gelu_avx512(q, size, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return ibert_gelu_neon(q, size, p, out);
#endif
  (void)isa;
  ibert_gelu_scalar(q, size, p, out);
}

#define LOWBIT_INTOPS_INSTANTIATE(T)                                                                   \
  template bool codes_within<T>(const T*, int64_t, int32_t, int32_t);                                  \
  template void ibert_softmax_scalar<T>(const T*, int64_t, int64_t, const SoftmaxParams&, uint8_t*); \
  template void ibert_softmax<T>(Isa, const T*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);   \
  template void ibert_gelu_scalar<T, int64_t>(const T*, int64_t, const GeluParams&, int64_t*);      \
  template void ibert_gelu<T, int64_t>(Isa, const T*, int64_t, const GeluParams&, int64_t*);        \
  template void ibert_gelu_scalar<T, int32_t>(const T*, int64_t, const GeluParams&, int32_t*);      \
  template void ibert_gelu<T, int32_t>(Isa, const T*, int64_t, const GeluParams&, int32_t*);        \
  template void ibert_layernorm_scalar<T>(const T*, int64_t, int64_t, const LayerNormParams&, int8_t*); \
  template void ibert_layernorm<T>(Isa, const T*, int64_t, int64_t, const LayerNormParams&, int8_t*);
LOWBIT_INTOPS_INSTANTIATE(int16_t)
LOWBIT_INTOPS_INSTANTIATE(int32_t)

}  // namespace lowbit
