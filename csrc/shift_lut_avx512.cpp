// AVX-512 Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU (placeholder: the scalar kernels).
#include "shift_lut.h"

namespace lowbit {

template <typename T>
void shiftmax_avx512(const T* q, int64_t rows, int64_t n, const ShiftmaxParams& p, uint8_t* out) {
  shiftmax_scalar(q, rows, n, p, out);
}
template <typename T, typename O>
void shiftgelu_avx512(const T* q, int64_t size, const ShiftGeluParams& p, O* out) {
  shiftgelu_scalar(q, size, p, out);
}
template <typename T>
void lut_softmax_avx512(const T* q, int64_t rows, int64_t n, const LutSoftmaxParams& p, uint8_t* out) {
  lut_softmax_scalar(q, rows, n, p, out);
}
template <typename T>
void pwl_gelu_avx512(const T* q, int64_t size, const PwlGeluParams& p, int32_t* out) {
  pwl_gelu_scalar(q, size, p, out);
}
int64_t shiftgelu_division_mismatches_avx512() { return 0; }

#define LOWBIT_SHIFT_LUT_AVX512(T)                                                                   \
  template void shiftmax_avx512<T>(const T*, int64_t, int64_t, const ShiftmaxParams&, uint8_t*);     \
  template void shiftgelu_avx512<T, int32_t>(const T*, int64_t, const ShiftGeluParams&, int32_t*);   \
  template void shiftgelu_avx512<T, int64_t>(const T*, int64_t, const ShiftGeluParams&, int64_t*);   \
  template void lut_softmax_avx512<T>(const T*, int64_t, int64_t, const LutSoftmaxParams&, uint8_t*); \
  template void pwl_gelu_avx512<T>(const T*, int64_t, const PwlGeluParams&, int32_t*);
LOWBIT_SHIFT_LUT_AVX512(int16_t)
LOWBIT_SHIFT_LUT_AVX512(int32_t)

}  // namespace lowbit
