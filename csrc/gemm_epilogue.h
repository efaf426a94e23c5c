// The scalar epilogue of one accumulator: the reference for every GEMM variant and their tail path.
#pragma once
#include "gemm.h"
#include "rounding.h"

namespace lowbit {

inline void epilogue_one(int32_t acc, int64_t row, int64_t n, const GemmEpilogue& ep) {
  // modular add: the true sum fits int32 (see gemm.h), the intermediate may not
  const int32_t v = int32_t(uint32_t(acc) + uint32_t(ep.corr[n]));
  const int64_t o = row * ep.ldo + n;
  switch (ep.kind) {
    case GemmOut::s32:
      static_cast<int32_t*>(ep.out)[o] = ep.relu && v < 0 ? 0 : v;
      break;
    case GemmOut::f32: {
      const float f = float(v) * ep.scale[ep.scale_per_channel ? n : 0];
      static_cast<float*>(ep.out)[o] = ep.relu && f < 0.0f ? 0.0f : f;
      break;
    }
    case GemmOut::s8:
    case GemmOut::u8:
    case GemmOut::s16: {
      const int64_t k = ep.per_channel ? n : 0;
      const int32_t q = requantize_one(v, ep.m0[k], ep.shift[k], ep.zero_point, ep.qmin, ep.qmax);
      if (ep.kind == GemmOut::s8) static_cast<int8_t*>(ep.out)[o] = int8_t(q);
      else if (ep.kind == GemmOut::u8) static_cast<uint8_t*>(ep.out)[o] = uint8_t(q);
      else static_cast<int16_t*>(ep.out)[o] = int16_t(q);
      break;
    }
  }
}

}  // namespace lowbit
