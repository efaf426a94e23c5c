// Portable Log-Int-Softmax, PWL sigmoid / tanh and NN-LUT softmax kernels and their ISA dispatch
// (intops_extra.h): AVX-512 variants in x86-64 builds, NEON ones in aarch64 builds; avx2 runs these.
#include <algorithm>
#include <climits>
#include <utility>
#include <vector>

#include "intops_extra.h"
#include "intops_one.h"
#include "shift_lut_one.h"

namespace lowbit {

uint8_t lis_code_one(int64_t e, int64_t total) {
  const int64_t r = div_round(total, std::max<int64_t>(e, 1));
  const int f = bit_length(uint64_t(r)) - 1;
  const int64_t k = f + (f >= 1 ? (r >> std::max(f - 1, 0)) & 1 : 0);
  return uint8_t(e == 0 || k >= kLisZero ? kLisZero : k);
}

template <typename T>
void log_int_softmax_scalar(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
  std::vector<int64_t> e(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    int64_t mx = row[0];
    for (int64_t i = 1; i < n; ++i) mx = std::max<int64_t>(mx, row[i]);
    int64_t total = 0;  // <= 2^20 2^31
    for (int64_t i = 0; i < n; ++i) total += e[size_t(i)] = ibert_exp_one(int64_t(row[i]) - mx, p);
    for (int64_t i = 0; i < n; ++i) out[r * n + i] = lis_code_one(e[size_t(i)], total);
  }
}

template <typename T>
void pwl_act_scalar(const T* q, int64_t size, const PwlActParams& p, int16_t* out) {
  for (int64_t i = 0; i < size; ++i) {
    int64_t t = q[i];
    if (p.r) t = ((t >> (p.r - 1)) + 1) >> 1;
    const int64_t w = clamp64(t - p.base, 0, p.w_max);
    int j = 0;
    while (j + 1 < p.k && p.starts[j + 1] <= w) ++j;
    const int64_t y = p.values[j] + ((int64_t(p.slopes[j]) * ((w - p.starts[j]) << p.shifts[j]) + p.fracs[j]) >> 16);
    out[i] = int16_t(clamp64(y, p.y_lo, p.y_hi));
  }
}


template <typename T>
void nnlut_softmax_scalar(const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out) {
  std::vector<int32_t> e(static_cast<size_t>(n));
  const int g = nnlut_g(n);
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    int64_t mx = row[0];
    for (int64_t i = 1; i < n; ++i) mx = std::max<int64_t>(mx, row[i]);
    int64_t total = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t t = nnlut_t_one(mx - row[i], p), k = t >> kNnlutEf;
      const int64_t y = nnlut_y_one(t, p);
      e[size_t(i)] = int32_t(rshift_round(y, k + 1));  // < 2^15
      total += rshift_round(y << g, k + 1);
    }
    int32_t rc;
    int sh;
    nnlut_row_recip(total, g, p, rc, sh);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = rshift_round(int64_t(e[size_t(i)]) * rc, sh);  // e r < 2^31
      out[r * n + i] = uint8_t(v > 255 ? 255 : v);
    }
  }
}

template <typename T>
void nnlut_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const NnlutSoftmaxParams& p, uint8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return nnlut_softmax_avx512(q, rows, n, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return nnlut_softmax_neon(q, rows, n, p, out);
#endif
  (void)isa;
  nnlut_softmax_scalar(q, rows, n, p, out);
}

uint8_t max_u8(const uint8_t* q, int64_t size) {
#if defined(__x86_64__)
  static const bool avx512 = default_isa() == Isa::avx512;
  if (avx512) return max_u8_avx512(q, size);
#endif
  uint8_t top = 0;
  for (int64_t i = 0; i < size; ++i) top = q[i] > top ? q[i] : top;  // a reduction: vectorizes at -O3
  return top;
}

void ptf_shift_scalar(const uint8_t* q, int64_t size, int64_t n, int32_t zp, const uint8_t* alpha, int16_t* x) {
  for (int64_t r = 0; r < size; r += n)
    for (int64_t c = 0; c < n; ++c) x[r + c] = int16_t((int32_t(q[r + c]) - zp) * (1 << alpha[c]));
}

// Portable path: rows in blocks of ~128K codes, the shifted codes of a block into a per-thread int16
// buffer (NEON: ptf_shift_neon), then the I-BERT LayerNorm kernel of the ISA on it. AVX-512 fuses the shift
// into its passes.
void ptf_layernorm(Isa isa, const uint8_t* q, int64_t rows, int64_t n, int32_t zp, const uint8_t* alpha,
                   const LayerNormParams& p, int8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return ptf_layernorm_avx512(q, rows, n, zp, alpha, p, out);
#endif
  thread_local std::vector<int16_t> x;
  const int64_t block = std::max<int64_t>(1, (int64_t(1) << 17) / n);  // 256 KB of int16: stays in L2
  x.resize(size_t(std::min(block, rows) * n));
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t nb = std::min(block, rows - r0);
#if defined(__aarch64__)
    if (isa == Isa::neon) ptf_shift_neon(q + r0 * n, nb * n, n, zp, alpha, x.data());
    else ptf_shift_scalar(q + r0 * n, nb * n, n, zp, alpha, x.data());
#else
    ptf_shift_scalar(q + r0 * n, nb * n, n, zp, alpha, x.data());
#endif
    ibert_layernorm(isa, x.data(), nb, n, p, out + r0 * n);
  }
}

template <typename T>
void log_int_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return log_int_softmax_avx512(q, rows, n, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return log_int_softmax_neon(q, rows, n, p, out);
#endif
  (void)isa;
  log_int_softmax_scalar(q, rows, n, p, out);
}

template <typename T>
void pwl_act(Isa isa, const T* q, int64_t size, const PwlActParams& p, int16_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return pwl_act_avx512(q, size, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return pwl_act_neon(q, size, p, out);
#endif
  (void)isa;
  pwl_act_scalar(q, size, p, out);
}

#define LOWBIT_INTOPS_EXTRA_INSTANTIATE(T)                                                               \
  template void log_int_softmax_scalar<T>(const T*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);   \
  template void log_int_softmax<T>(Isa, const T*, int64_t, int64_t, const SoftmaxParams&, uint8_t*);     \
  template void pwl_act_scalar<T>(const T*, int64_t, const PwlActParams&, int16_t*);                     \
  template void pwl_act<T>(Isa, const T*, int64_t, const PwlActParams&, int16_t*);                       \
  template void nnlut_softmax_scalar<T>(const T*, int64_t, int64_t, const NnlutSoftmaxParams&, uint8_t*); \
  template void nnlut_softmax<T>(Isa, const T*, int64_t, int64_t, const NnlutSoftmaxParams&, uint8_t*);
LOWBIT_INTOPS_EXTRA_INSTANTIATE(int16_t)
LOWBIT_INTOPS_EXTRA_INSTANTIATE(int32_t)

}  // namespace lowbit
