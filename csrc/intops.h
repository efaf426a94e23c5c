// I-BERT integer-only nonlinear ops (softmax, GELU, LayerNorm), bit-exact with lowbit/ops/ibert.py.
// The constants that the reference derives from float scales are computed in Python
// (lowbit/ops/intops_kernels.py) and arrive here as integers, already range-checked by bindings.cpp,
// so every kernel below is integer-only. One entry point per ISA; rows run along the last axis.
#pragma once
#include <cstdint>

#include "cpu.h"

namespace lowbit {

constexpr int kExpK = 14;                          // internal exp scale ln2 / 2^14 (EXP_K)
constexpr int32_t kExpMin = -30 * (1 << kExpK);    // exponents below -30 ln2 give 0 (EXP_N = 30)
constexpr int kSoftmaxOutShift = 62 - 8;           // uint8 output at scale 2^-8
constexpr int kErfK = 12, kErfDrop = 10;           // erf scale |b| / 2^12; erf kept to ~14 bits

struct SoftmaxParams {
  int64_t dclip;      // q - max is clamped to >= -dclip (dclip in [1, 2^31])
  int32_t m0, shift;  // dyadic rescale of q - max to the exp scale (m0 >= 0, shift in [0, 62])
  int32_t qb, qc;     // i-exp polynomial (r + qb)^2 + qc; checked: qb in [2^14, 2^15), result in (2^30, 2^31)
};

struct GeluParams {
  int64_t clip;       // |q| clamped to clip (in [1, 2^31]) before the rescale
  int32_t m0, shift;  // dyadic rescale to the erf scale
  int32_t qc;         // erf constant term, checked to lie in [2^24, 2^30]
};

struct LayerNormParams {
  int64_t eps;           // eps in variance units (d carries kLnF fraction bits), in [0, 2^60]
  const int32_t* m0;     // per channel: signed dyadic gamma / out_scale * 2^-16 ...
  const int32_t* shift;  // ... with shift in [0, 62]
  const int64_t* beta;   // per channel: beta / out_scale * 2^shift, |beta| <= 2^61
};
constexpr int kLnF = 8, kLnK = 16;  // fraction bits of the centred input and of the normalised value

// q: rows x n codes (int16 or int32); out: uint8 at scale 2^-8.
template <typename T>
void ibert_softmax_scalar(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);
template <typename T>
void ibert_softmax_avx512(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);
template <typename T>
void ibert_softmax_neon(const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);
template <typename T>
void ibert_softmax(Isa isa, const T* q, int64_t rows, int64_t n, const SoftmaxParams& p, uint8_t* out);

// q: size codes (elementwise); out: codes q * (erf + one) as int64 (what the reference returns), or as
// int32 (O = int32_t) when bindings.cpp has checked that they fit: int16 q and one < 2^15.
template <typename T, typename O>
void ibert_gelu_scalar(const T* q, int64_t size, const GeluParams& p, O* out);
template <typename T, typename O>
void ibert_gelu_avx512(const T* q, int64_t size, const GeluParams& p, O* out);
template <typename T, typename O>
void ibert_gelu_neon(const T* q, int64_t size, const GeluParams& p, O* out);
template <typename T, typename O>
void ibert_gelu(Isa isa, const T* q, int64_t size, const GeluParams& p, O* out);

// Whether every code lies in [lo, hi]: an input check, here rather than in bindings.cpp because the
// Python module is compiled for size (-Os) and this loop must vectorize.
template <typename T>
bool codes_within(const T* q, int64_t size, int32_t lo, int32_t hi);
template <typename T>
bool codes_within_avx512(const T* q, int64_t size, int32_t lo, int32_t hi);

// q: rows x n codes with |q| < 2^15, n in [2, 2^14]; out: int8 codes.
template <typename T>
void ibert_layernorm_scalar(const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out);
template <typename T>
void ibert_layernorm_avx512(const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out);
template <typename T>
void ibert_layernorm_neon(const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out);
template <typename T>
void ibert_layernorm(Isa isa, const T* q, int64_t rows, int64_t n, const LayerNormParams& p, int8_t* out);

}  // namespace lowbit
