// Ternary weights at 1.6 bits each: five trits per byte (3^5 = 243 <= 256), layout "trits" of the
// low-bit GEMV (lowbit_gemv.h).
//
// Codes u in {0, 1, 2} (value u - 1). Row block of 80 rows; for row block b, k4 step s, lane j < 16,
// byte t < 4 the byte holds the codes u_f of rows 16 f + j (f < 5) at k = 4 s + t:
//     lo = u_0 + 3 u_1 + 9 u_2 (0 .. 26),  hi = u_3 + 3 u_4 (0 .. 8)
//     byte = lo + 14 hi                  if lo <= 13
//          = 128 | (26 - lo + 14 hi)     otherwise
// 26 - lo is lo with fields 0-2 negated (u -> 2 - u), and lo = 13 (all three zero in value) is its own
// negation: every code tuple is a 7-bit index < 126 plus a sign bit that flips fields 0-2 only. The kernel
// decodes a field with one 128-entry byte lookup of the index (vpermi2b, two registers per field), for
// fields 0-2 one masked subtract 2 - u where the sign bit is set, and feeds vpdpbusd like the 2-bit fields
// kernel (one accumulator per field): 14 instructions per 64 bytes (320 weights). Flipping all five fields
// would leave 122 indices but need five masked subtracts; flipping two leaves 135 > 128.
#pragma once
#include <cstdint>

#include "lowbit_gemv.h"

namespace lowbit {

constexpr int kTritFields = 5;
constexpr int kTritSigned = 3;  // fields flipped by the sign bit
constexpr int kTritLo = 14;     // lo values per index (0 .. 13)

// The code of field f for a byte's 7-bit index (before the sign flip).
inline uint8_t trit_digit(int idx, int f) {
  int v = f < kTritSigned ? idx % kTritLo : idx / kTritLo;
  for (int i = f < kTritSigned ? 0 : kTritSigned; i < f; ++i) v /= 3;
  return uint8_t(v % 3);
}

void lb_trits_raw_scalar(const uint8_t* block, int64_t bits, int64_t k0, int64_t k1, const uint8_t* x,
                         int64_t lda, int64_t M, const uint8_t* tables, int64_t ldt, int32_t* raw);
void lb_trits_raw_avx512(const uint8_t* block, int64_t bits, int64_t k0, int64_t k1, const uint8_t* x,
                         int64_t lda, int64_t M, const uint8_t* tables, int64_t ldt, int32_t* raw);

}  // namespace lowbit
