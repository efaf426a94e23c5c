#include "deepgemm.h"

namespace lowbit {

void deepgemm_2x2_scalar(const uint8_t* a, int64_t M, const uint8_t* w, int64_t N, int64_t K, const int8_t* table,
                         int32_t* out) {
  const int64_t kb = (K + 3) / 4;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int32_t sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int s = 2 * int(k % 4);
        sum += table[((w[n * kb + k / 4] >> s) & 3) * 4 + ((a[m * kb + k / 4] >> s) & 3)];
      }
      out[m * N + n] = sum;
    }
}

void deepgemm_2x2(Isa isa, const uint8_t* a, int64_t M, const uint8_t* w, int64_t N, int64_t K, const int8_t* table,
                  int32_t* out) {
#if defined(__x86_64__)
  if (isa == Isa::avx512) return deepgemm_2x2_avx512(a, M, w, N, K, table, out);
#endif
  (void)isa;
  deepgemm_2x2_scalar(a, M, w, N, K, table, out);
}

}  // namespace lowbit
