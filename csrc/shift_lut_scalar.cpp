// Portable Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU kernels and their ISA dispatch (shift_lut.h).
// AVX-512 variants in x86-64 builds, NEON ones in aarch64 builds; every other ISA (avx2) runs these.
#include <algorithm>
#include <vector>

#include "shift_lut.h"
#include "shift_lut_one.h"

namespace lowbit {

template <typename T>
void shiftmax_scalar(const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out) {
  std::vector<int64_t> e(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    int64_t mx = row[0];
    for (int64_t i = 1; i < n; ++i) mx = std::max<int64_t>(mx, row[i]);
    int64_t total = 0;  // the max element's exp is 2^30, so total >= 2^30
    for (int64_t i = 0; i < n; ++i) total += e[size_t(i)] = shiftmax_exp_one(int64_t(row[i]) - mx, p);
    const int64_t factor = (int64_t(1) << 62) / total;
    for (int64_t i = 0; i < n; ++i) out[r * n + i] = softmax_prob_one(e[size_t(i)], factor);
  }
}

template <typename T, typename O>
bool shiftgelu_scalar(const T* q, int64_t size, const ShiftGeluParams& p, O* out) {
  bool ok = true;
  for (int64_t i = 0; i < size; ++i) {
    ok = ok && (sizeof(T) != 2 || q[i] != INT16_MIN);
    out[i] = O(shiftgelu_one(q[i], p));
  }
  return ok;
}

template <typename T>
void lut_softmax_scalar(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out) {
  std::vector<int64_t> t(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = q + r * n;
    int64_t mx = row[0];
    for (int64_t i = 1; i < n; ++i) mx = std::max<int64_t>(mx, row[i]);
    int64_t total = 0;
    for (int64_t i = 0; i < n; ++i) {
      t[size_t(i)] = lut_t_one(mx - row[i], p);
      total += lut_exp2_one(t[size_t(i)], p.exp2);
    }
    int idx, len;
    lut_mantissa(total, idx, len);
    uint8_t* o = out + r * n;
    for (int64_t i = 0; i < n; ++i)
      o[i] = p.lnexp ? lut_lnexp_out_one(t[size_t(i)], idx, len, p)
                     : lut_rexp_out_one(lut_exp2_one(t[size_t(i)], p.exp2), idx, len, p);
  }
}

template <typename T>
void pwl_gelu_scalar(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out) {
  for (int64_t i = 0; i < size; ++i) out[i] = pwl_gelu_one(q[i], p);
}

// The AVX-512 variants exist only in x86-64 builds, the NEON ones only in aarch64 builds.
template <typename T>
void shiftmax(Isa isa, const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return shiftmax_avx512(q, rows, n, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return shiftmax_neon(q, rows, n, p, out);
#endif
  (void)isa;
  shiftmax_scalar(q, rows, n, p, out);
}

template <typename T, typename O>
bool shiftgelu(Isa isa, const T* q, int64_t size, const ShiftGeluParams& p, O* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return shiftgelu_avx512(q, size, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return shiftgelu_neon(q, size, p, out);
#endif
  (void)isa;
  return shiftgelu_scalar(q, size, p, out);
}

template <typename T>
void lut_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return lut_softmax_avx512(q, rows, n, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return lut_softmax_neon(q, rows, n, p, out);
#endif
  (void)isa;
  lut_softmax_scalar(q, rows, n, p, out);
}

template <typename T>
void pwl_gelu(Isa isa, const T* q, int64_t size, const PwlGeluParams& p, int32_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return pwl_gelu_avx512(q, size, p, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return pwl_gelu_neon(q, size, p, out);
#endif
  (void)isa;
  pwl_gelu_scalar(q, size, p, out);
}

#define LOWBIT_SHIFT_LUT_INSTANTIATE(T)                                                                  \
  template void shiftmax_scalar<T>(const T*, int64_t, int64_t, const ShiftmaxParams&, uint8_t*);         \
  template void shiftmax<T>(Isa, const T*, int64_t, int64_t, const ShiftmaxParams&, uint8_t*);           \
  template bool shiftgelu_scalar<T, int32_t>(const T*, int64_t, const ShiftGeluParams&, int32_t*);       \
  template bool shiftgelu<T, int32_t>(Isa, const T*, int64_t, const ShiftGeluParams&, int32_t*);         \
  template bool shiftgelu_scalar<T, int64_t>(const T*, int64_t, const ShiftGeluParams&, int64_t*);       \
  template bool shiftgelu<T, int64_t>(Isa, const T*, int64_t, const ShiftGeluParams&, int64_t*);         \
  template void lut_softmax_scalar<T>(const T*, int64_t, int64_t, const LutSoftmaxParams&, uint8_t*);    \
  template void lut_softmax<T>(Isa, const T*, int64_t, int64_t, const LutSoftmaxParams&, uint8_t*);      \
  template void pwl_gelu_scalar<T>(const T*, int64_t, const PwlGeluParams&, int32_t*);                   \
  template void pwl_gelu<T>(Isa, const T*, int64_t, const PwlGeluParams&, int32_t*);
LOWBIT_SHIFT_LUT_INSTANTIATE(int16_t)
LOWBIT_SHIFT_LUT_INSTANTIATE(int32_t)

}  // namespace lowbit
