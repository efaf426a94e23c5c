// ISA-independent parts of the int8 GEMM: weight packing, activation copy, correction, threads.
#include "gemm.h"

#include "threads.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

namespace lowbit {

bool gemm_wants_unsigned(Isa isa) { return isa != Isa::neon; }

int64_t gemm_packed_size(int64_t N, int64_t K) {
  return (N + kPanel - 1) / kPanel * ((K + 3) / 4) * kPanel * 4;
}

void gemm_pack_strided(const int8_t* w, int64_t N, int64_t K, int64_t stride_n, int64_t stride_k, int8_t* packed,
                       int32_t* colsum) {
  const int64_t k4 = (K + 3) / 4;
  std::memset(packed, 0, size_t(gemm_packed_size(N, K)));
  auto at = [&](int64_t n, int64_t k) -> int8_t& {  // packed[p][k4][j][t] of W[n][k]
    return packed[(((n / kPanel) * k4 + k / 4) * kPanel + n % kPanel) * 4 + k % 4];
  };
  if (stride_n == 1) {  // W's columns are contiguous (V^T of attention): walk k outside, n inside
    std::fill(colsum, colsum + N, 0);
    for (int64_t k = 0; k < K; ++k) {
      const int8_t* src = w + k * stride_k;
      for (int64_t n = 0; n < N; ++n) {
        at(n, k) = src[n];
        colsum[n] += src[n];
      }
    }
    return;
  }
  for (int64_t n = 0; n < N; ++n) {
    const int8_t* src = w + n * stride_n;
    int32_t sum = 0;
    if (stride_k == 1) {  // rows contiguous: whole groups of 4 k are one 4-byte copy
      int64_t k = 0;
      for (; k + 4 <= K; k += 4) {
        std::memcpy(&at(n, k), src + k, 4);
        sum += int32_t(src[k]) + src[k + 1] + src[k + 2] + src[k + 3];
      }
      for (; k < K; ++k) at(n, k) = src[k], sum += src[k];
    } else {
      for (int64_t k = 0; k < K; ++k) at(n, k) = src[k * stride_k], sum += src[k * stride_k];
    }
    colsum[n] = sum;
  }
}

void gemm_pack_weight(const int8_t* w, int64_t N, int64_t K, int8_t* packed, int32_t* colsum) {
  gemm_pack_strided(w, N, K, K, 1, packed, colsum);
}

static GemmPanels panels_for(Isa isa) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::avx512: return gemm_panels_avx512;
    case Isa::avx2: return gemm_panels_avx2;
#endif
#if defined(__aarch64__)
    case Isa::neon: return gemm_panels_neon;
#endif
    case Isa::scalar: return gemm_panels_scalar;
    default: throw std::invalid_argument("isa: no GEMM variant for this ISA on this build");
  }
}

void gemm_s8(Isa isa, const void* a, bool a_signed, int64_t M, int64_t K, int32_t a_zero_point,
             const int8_t* packed, const int32_t* colsum, int64_t N, const int32_t* bias, GemmEpilogue ep,
             int threads, const int32_t* perm, int64_t kp, int64_t a_stride) {
  if (a_stride == 0) a_stride = K;
  const GemmPanels run = panels_for(isa);
  const bool want_unsigned = gemm_wants_unsigned(isa);
  // Flipping the top bit maps int8 a to uint8 a + 128 (and back): the correction absorbs the 128.
  const bool flip = a_signed == want_unsigned;
  const int64_t za_eff = int64_t(a_zero_point) + (flip ? (want_unsigned ? 128 : -128) : 0);
  // per-thread scratch kept between calls: small GEMMs (attention heads) would spend more time
  // allocating than computing
  thread_local std::vector<int32_t> corr;
  corr.resize(static_cast<size_t>(N));
  // mod 2^32 (see gemm.h), so computed in uint32 arithmetic, which wraps and vectorizes (the int64 loop
  // was ~2 us of a 1 x 4096 x 4096 GEMV's ~150 us)
  const uint32_t za32 = uint32_t(uint64_t(za_eff));
  const uint32_t* cs = reinterpret_cast<const uint32_t*>(colsum);
  uint32_t* cr = reinterpret_cast<uint32_t*>(corr.data());
  if (bias) {
    const uint32_t* bs = reinterpret_cast<const uint32_t*>(bias);
    for (int64_t n = 0; n < N; ++n) cr[n] = bs[n] - za32 * cs[n];
  } else {
    for (int64_t n = 0; n < N; ++n) cr[n] = 0u - za32 * cs[n];
  }
  ep.corr = corr.data();
  const int64_t kpad = perm ? kp : K;  // the packed K
  const uint8_t* src = static_cast<const uint8_t*>(a);
  const uint8_t mask = flip ? 0x80 : 0x00;
  // Activations already in the kernel's sign, with whole k4 groups, are read in place (the copy of a
  // 1024 x 1024 A costs ~1-2% of the GEMM). Otherwise they are copied once, rows padded to whole k4
  // groups with zeros (which meet zero weights), into per-thread scratch kept between calls: small
  // GEMMs (attention heads) would spend more time allocating than computing.
  thread_local std::vector<uint8_t> abuf_mem;
  const uint8_t* abuf = src;
  int64_t lda = a_stride;
  if (mask || perm || K % 4 != 0 || a_stride % 4 != 0) {
    lda = (kpad + 3) / 4 * 4;
    if (abuf_mem.size() < size_t(M * lda)) abuf_mem.resize(size_t(M * lda));
    uint8_t* const dst0 = abuf_mem.data();
#if defined(__x86_64__)
    const bool gathered = perm && isa == Isa::avx512;  // a vpermi2b gather (gemm_gather_avx512.cpp)
    if (gathered) gemm_gather_rows_avx512(src, M, a_stride, K, perm, kpad, mask, dst0, lda);
#else
    const bool gathered = false;
#endif
    for (int64_t m = 0; m < M && !gathered; ++m) {
      uint8_t* dst = dst0 + m * lda;
      if (perm) {  // gather into the packed channel order (padding columns meet zero weights)
        for (int64_t k = 0; k < kpad; ++k) dst[k] = perm[k] < 0 ? 0 : uint8_t(src[m * a_stride + perm[k]] ^ mask);
      } else if (mask) {
        for (int64_t k = 0; k < K; ++k) dst[k] = uint8_t(src[m * a_stride + k] ^ mask);
      } else {
        std::memcpy(dst, src + m * a_stride, size_t(K));
      }
      std::memset(dst + kpad, 0, size_t(lda - kpad));
    }
    abuf = dst0;
  }
  const int64_t k4 = (kpad + 3) / 4, panels = (N + kPanel - 1) / kPanel;
  const int64_t row_blocks = (M + kGemmRowPad - 1) / kGemmRowPad;
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, panels * row_blocks)));
  if (threads == 1) {
    run(abuf, M, lda, packed, k4, N, 0, panels, ep);
    return;
  }
  // Each output element is computed by exactly one thread in the same order: results do not depend
  // on the thread count. Columns are split when every thread gets at least two weight panels (each
  // panel is then read by one thread only); otherwise blocks of rows are (e.g. 128 x 768 x 768).
  // The parts are handed out in chunks from a shared counter, not as one fixed share per thread: on
  // this shared 2-core machine a thread whose core is busy with another process then takes fewer
  // chunks instead of making the whole call wait for its half.
  std::atomic<int64_t> next{0};
  if (panels >= 2 * threads || row_blocks < threads) {
    threads = int(std::min<int64_t>(threads, panels));
    const int64_t chunk = std::max<int64_t>(1, panels / (4 * threads));
    parallel_for(threads, [&](int) {
      for (int64_t p0; (p0 = next.fetch_add(chunk)) < panels;)
        run(abuf, M, lda, packed, k4, N, p0, std::min(panels, p0 + chunk), ep);
    });
    return;
  }
  const int64_t elem = gemm_out_bytes(ep.kind);
  const int64_t chunk = std::max<int64_t>(1, row_blocks / (4 * threads));  // in row blocks
  parallel_for(threads, [&](int) {
    for (int64_t b0; (b0 = next.fetch_add(chunk)) < row_blocks;) {
      const int64_t m0 = b0 * kGemmRowPad, m1 = std::min(M, (b0 + chunk) * kGemmRowPad);
      GemmEpilogue part = ep;
      part.out = static_cast<char*>(ep.out) + m0 * ep.ldo * elem;
      run(abuf + m0 * lda, m1 - m0, lda, packed, k4, N, 0, panels, part);
    }
  });
}

void gemm_batched_s8(Isa isa, const void* a, bool a_signed, int64_t G, int64_t M, int64_t K, int32_t a_zero_point,
                     const int8_t* b, int64_t N, const int32_t* bias, int64_t bias_every, GemmEpilogue ep,
                     int threads) {
  const int64_t a_stride = M * K, o_stride = M * N * gemm_out_bytes(ep.kind);
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, G)));
  parallel_for(threads, [&](int t) {
    std::vector<int8_t> packed(static_cast<size_t>(gemm_packed_size(N, K)));
    std::vector<int32_t> colsum(static_cast<size_t>(N));
    for (int64_t g = G * t / threads; g < G * (t + 1) / threads; ++g) {
      gemm_pack_weight(b + g * N * K, N, K, packed.data(), colsum.data());
      GemmEpilogue part = ep;
      part.out = static_cast<char*>(ep.out) + g * o_stride;
      const void* ag = static_cast<const int8_t*>(a) + g * a_stride;  // 1-byte elements either way
      gemm_s8(isa, ag, a_signed, M, K, a_zero_point, packed.data(), colsum.data(), N,
              bias ? bias + g / bias_every * N : nullptr, part, 1);
    }
  });
}

}  // namespace lowbit
