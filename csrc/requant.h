// Requantization of int32 accumulators to int8 / uint8 / int32 codes (rule in rounding.h).
// One entry point per ISA; each takes already-validated pointers (bindings.cpp validates).
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

enum class OutType : int { s8 = 0, u8 = 1, s32 = 2 };

struct RequantParams {
  const int32_t* m0;     // length cols when per_channel, else 1
  const int32_t* shift;  // same length as m0, values in [0, kMaxShift]
  bool per_channel;      // one (m0, shift) per column of the [rows, cols] accumulator
  int32_t zero_point, qmin, qmax;
};

void requantize_scalar(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                       void* out);
void requantize_avx2(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                     void* out);
void requantize_avx512(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                       void* out);
void requantize_neon(const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                     void* out);

// Dispatch to the variant named by isa (the caller checked the CPU can run it).
void requantize(Isa isa, const int32_t* acc, int64_t rows, int64_t cols, const RequantParams& p, OutType t,
                void* out);

}  // namespace lowbit
