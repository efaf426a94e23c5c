// The Shift / LUT kernels' parameters, validated (bindings_shift_lut.cpp): for every binding that runs these
// kernels, alone, inside attention or in a model plan. Pointers in the LUT / PWL bundles point into the
// arrays given, which must outlive the bundle.
#pragma once
#include <cstdint>

#include "check.h"
#include "shift_lut.h"

namespace lowbit {

ShiftmaxParams shiftmax_params(int64_t dclip, int32_t m0, int32_t shift);
ShiftGeluParams shiftgelu_params(int32_t l, int32_t m);
LutSoftmaxParams lut_softmax_params(int64_t dcap, int32_t m0, int32_t shift, const In& exp2, const In& recip,
                                    const In& log2, bool lnexp);
PwlGeluParams pwl_gelu_params(int32_t r, int64_t base, int32_t w_max, int64_t q8, int32_t id_m0, int32_t id_shift,
                              const In& starts, const In& anchors, const In& shifts, const In& slopes,
                              const In& values);

}  // namespace lowbit
