// The residual add of the integer-only transformer: out = clamp((x << shift[c]) + y, -32767, 32767)
// for int8 x (the block's input, channel c at scale s 2^shift[c] relative to y's), int16 y (the block's
// output) and int16 out, rows of C channels. The sum is formed in int32 (|x << 30| fits for |x| <= 127
// only up to shift 23, so shifts are limited to [0, 23]).
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

constexpr int kMaxResidualShift = 23;

void residual_add(Isa isa, const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t C,
                  int16_t* out);
void residual_add_scalar(const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t C,
                         int16_t* out);
void residual_add_avx512(const int8_t* x, const int32_t* shift, const int16_t* y, int64_t rows, int64_t C,
                         int16_t* out);

}  // namespace lowbit
