// Scalar requantization of columns [c0, c1) of one row: the scalar kernel and every SIMD tail.
#pragma once
#include "requant.h"
#include "rounding.h"

namespace lowbit {

// Parameters are copied to locals first: stores through int8_t*/uint8_t* may alias anything, so
// reading p.m0[...] inside the loop would force a reload of the struct after every store.
template <typename OutT>
inline void requant_row_tail_t(const int32_t* acc_row, int64_t c0, int64_t c1, const RequantParams& p,
                               OutT* out_row) {
  const int32_t* m0 = p.m0;
  const int32_t* shift = p.shift;
  const int32_t zp = p.zero_point, qmin = p.qmin, qmax = p.qmax;
  if (p.per_channel) {
    for (int64_t c = c0; c < c1; ++c) out_row[c] = OutT(requantize_one(acc_row[c], m0[c], shift[c], zp, qmin, qmax));
  } else {
    const int32_t m = m0[0], s = shift[0];
    for (int64_t c = c0; c < c1; ++c) out_row[c] = OutT(requantize_one(acc_row[c], m, s, zp, qmin, qmax));
  }
}

inline void requant_row_tail(const int32_t* acc_row, int64_t c0, int64_t c1, const RequantParams& p,
                             OutType t, void* out, int64_t out_offset) {
  if (t == OutType::s8) requant_row_tail_t(acc_row, c0, c1, p, static_cast<int8_t*>(out) + out_offset);
  else if (t == OutType::u8) requant_row_tail_t(acc_row, c0, c1, p, static_cast<uint8_t*>(out) + out_offset);
  else requant_row_tail_t(acc_row, c0, c1, p, static_cast<int32_t*>(out) + out_offset);
}

}  // namespace lowbit
