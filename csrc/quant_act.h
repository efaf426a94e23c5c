// Dynamic activation quantization (float32 -> uint8 codes): the min/max of a tensor, then
//   q = clamp(nearbyint(x / scale) + zero_point, 0, 255)
// with the division in float32 and ties to even (IEEE default rounding), exactly as numpy's
// np.clip(np.rint(x / np.float32(scale)) + zp, 0, 255) computes it.
// A NaN has no code: minmax_f32 returns NaN for both when x holds one, quantize_u8 returns false (its codes
// are then meaningless; the binding raises).
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

void minmax_f32(Isa isa, const float* x, int64_t n, float* mn, float* mx);
bool quantize_u8(Isa isa, const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out);

void minmax_f32_scalar(const float* x, int64_t n, float* mn, float* mx);
bool quantize_u8_scalar(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out);
void minmax_f32_avx512(const float* x, int64_t n, float* mn, float* mx);
bool quantize_u8_avx512(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* out);

}  // namespace lowbit
