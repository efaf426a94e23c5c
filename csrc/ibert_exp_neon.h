// The I-BERT i-exp on 4 unsigned 32-bit lanes (intops_fast.h's split rescale), shared by the NEON I-BERT
// softmax (intops_neon.cpp) and the NEON Log-Int-Softmax (intops_extra_neon.cpp).
#pragma once
#include <arm_neon.h>

#include <cstdint>

#include "intops.h"
#include "intops_fast.h"

namespace lowbit::neon {

struct ExpLanes {
  uint32x4_t ucap, ml, mh, cl, ch, xcap, qb, qc, mask14, one;
  int32x4_t neg_g;
  ExpLanes(const SoftmaxParams& p, const SoftmaxFast& f)
      : ucap(vdupq_n_u32(f.ucap)), ml(vdupq_n_u32(f.r.ml)), mh(vdupq_n_u32(f.r.mh)), cl(vdupq_n_u32(f.r.cl)),
        ch(vdupq_n_u32(f.r.ch)), xcap(vdupq_n_u32(uint32_t(-kExpMin))), qb(vdupq_n_u32(uint32_t(p.qb))),
        qc(vdupq_n_u32(uint32_t(p.qc))), mask14(vdupq_n_u32((1u << kExpK) - 1)), one(vdupq_n_u32(1)),
        neg_g(vdupq_n_s32(-f.r.g)) {}
};

// i-exp of 4 lanes u = max - q (unsigned); bounds as in intops_fast.h / the AVX-512 kernel
inline uint32x4_t exp4(uint32x4_t u, const ExpLanes& k) {
  u = vminq_u32(u, k.ucap);
  const uint32x4_t lo = vshrq_n_u32(vmlaq_u32(k.cl, u, k.ml), 16);
  const uint32x4_t hi = vmlaq_u32(k.ch, u, k.mh);
  const uint32x4_t xneg = vminq_u32(vshlq_u32(vaddq_u32(hi, lo), k.neg_g), k.xcap);
  const uint32x4_t z = vshrq_n_u32(xneg, kExpK);
  const uint32x4_t t = vsubq_u32(k.qb, vandq_u32(xneg, k.mask14));  // [1, 2^15)
  const uint32x4_t poly = vmlaq_u32(k.qc, t, t);                      // (2^30, 2^31)
  const int32x4_t zs = vreinterpretq_s32_u32(z);
  const uint32x4_t rnd = vshrq_n_u32(vshlq_u32(k.one, zs), 1);        // 2^(z-1), 0 for z = 0
  return vshlq_u32(vaddq_u32(poly, rnd), vnegq_s32(zs));             // < 2^32: unsigned
}

}  // namespace lowbit::neon
