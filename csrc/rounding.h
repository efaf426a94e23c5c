// The one rounding rule of lowbit's integer arithmetic. Every kernel includes this file.
//
//   rshift_round(x, n) = floor((x + 2^(n-1)) / 2^n)   for n >= 1, and x for n = 0:
//   round to nearest, ties toward +infinity, done with one add and one arithmetic shift.
//
//   requantize(acc) = clamp(rshift_round(int64(acc) * m0, shift) + zero_point, qmin, qmax)
//   with int32 m0 (normally in [2^30, 2^31)) and shift in [0, 62], so the product and the
//   rounding term always fit in int64: |acc * m0| < 2^62.
// The Python reference (lowbit/ops/requant.py) states the same rule in numpy int64.
#pragma once
#include <cstdint>

namespace lowbit {

constexpr int kMaxShift = 62;

inline int64_t rshift_round(int64_t x, int n) {
  return n == 0 ? x : (x + (int64_t(1) << (n - 1))) >> n;
}

inline int32_t requantize_one(int32_t acc, int32_t m0, int shift, int32_t zero_point, int32_t qmin,
                              int32_t qmax) {
  int64_t v = rshift_round(int64_t(acc) * m0, shift);
  // clamp before adding the zero point so that nothing can wrap
  const int64_t lo = int64_t(qmin) - zero_point, hi = int64_t(qmax) - zero_point;
  v = v < lo ? lo : (v > hi ? hi : v);
  return int32_t(v + zero_point);
}

}  // namespace lowbit
