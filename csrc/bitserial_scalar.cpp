#include <stdexcept>

#include "bitserial.h"

namespace lowbit {

void bitserial_gemm_scalar(const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
  const int64_t words = a.words;
  for (int64_t m = 0; m < a.rows; ++m)
    for (int64_t n = 0; n < w.rows; ++n) {
      int64_t acc = 0;
      for (int64_t i = 0; i < w.bits; ++i)
        for (int64_t j = 0; j < a.bits; ++j) {
          const uint64_t* wr = w.data + (i * w.rows + n) * words;
          const uint64_t* ar = a.data + (j * a.rows + m) * words;
          int64_t c = 0;
          for (int64_t t = 0; t < words; ++t)
            c += __builtin_popcountll(bipolar ? (wr[t] ^ ar[t]) : (wr[t] & ar[t]));
          acc += c << (i + j);
        }
      out[m * w.rows + n] = int32_t(bipolar ? k - 2 * acc : acc);
    }
}

void bitserial_gemm(Isa isa, const BitPlanes& a, const BitPlanes& w, bool bipolar, int64_t k, int32_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return bitserial_gemm_avx512(a, w, bipolar, k, out);
#endif
  (void)isa;
  bitserial_gemm_scalar(a, w, bipolar, k, out);
}

}  // namespace lowbit
