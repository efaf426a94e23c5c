#include "bitserial.h"

namespace lowbit {

void bitserial_gemm_scalar(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  for (int64_t m = 0; m < a.rows; ++m)
    for (int64_t n = 0; n < w.rows; ++n) {
      int64_t acc = 0;
      for (int64_t i = 0; i < w.bits; ++i)
        for (int64_t j = 0; j < a.bits; ++j) {
          int64_t c = 0;
          for (int64_t t = 0; t < a.words; ++t) {
            const uint64_t x = plane_word(a, j, m, t), y = plane_word(w, i, n, t);
            c += __builtin_popcountll(bipolar ? (x ^ y) : (x & y));
          }
          acc += c << (i + j);
        }
      out[m * w.rows + n] = int32_t(bipolar ? k - 2 * acc : acc);
    }
}

void bitserial_gemm(Isa isa, const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  if (a.layout == BsLayout::rows_interleaved) {  // its own kernels
#if defined(__x86_64__)
    if (isa == Isa::avx512) return bitserial_rows_avx512(a, w, bipolar, k, out);
    if (isa == Isa::avx2) return bitserial_rows_avx2(a, w, bipolar, k, out);
#elif defined(__aarch64__)
    if (isa == Isa::neon) return bitserial_rows_neon(a, w, bipolar, k, out);
#endif
    return bitserial_gemm_scalar(a, w, bipolar, k, out);
  }
#if defined(__x86_64__)
  if (isa == Isa::avx512) return bitserial_gemm_avx512(a, w, bipolar, k, out);
  if (isa == Isa::avx2) return bitserial_gemm_avx2(a, w, bipolar, k, out);
#elif defined(__aarch64__)
  if (isa == Isa::neon) return bitserial_gemm_neon(a, w, bipolar, k, out);
#endif
  (void)isa;
  bitserial_gemm_scalar(a, w, bipolar, k, out);
}

}  // namespace lowbit
