// Standalone kernel self-test: every ISA variant this CPU can run against the scalar rule of
// rounding.h, on random and extreme inputs. It needs no Python, so it is how the aarch64 (NEON)
// build is checked under qemu-user on an x86 machine (`make arm-check`).
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "bitserial.h"
#include "cpu.h"
#include "gemm.h"
#include "intops.h"
#include "intops_extra.h"
#include "intops_fast.h"
#include "intops_one.h"
#include "lowbit_gemv.h"
#include "requant.h"
#include "rounding.h"
#include "shift_lut.h"
#include "shift_lut_one.h"

using namespace lowbit;

static int failed = 0, passed = 0;

static void check(bool ok, const char* what) {
  if (ok) ++passed;
  else if (++failed <= 10) std::printf("FAIL: %s\n", what);
}

static void rounding_rule() {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const int64_t x = int64_t(rng() >> 2) - (int64_t(1) << 61);
    const int n = int(rng() % 63);
    // floor((2x + 2^n) / 2^(n+1)) = floor(x / 2^n + 1/2), computed in 128 bits
    const __int128 num = __int128(x) * 2 + (__int128(1) << n), den = __int128(1) << (n + 1);
    __int128 q = num / den - ((num % den != 0) && (num < 0));
    if (n == 0) q = x;
    check(rshift_round(x, n) == int64_t(q), "rshift_round vs 128-bit floor");
  }
}

static void requantize_variants() {
  std::mt19937 rng(2);
  const OutType types[] = {OutType::s8, OutType::u8, OutType::s32};
  for (Isa isa : available_isas()) {
    for (int trial = 0; trial < 300; ++trial) {
      const int64_t rows = 1 + rng() % 5, cols = 1 + rng() % 70;
      const bool per_channel = rng() % 2;
      const OutType t = types[rng() % 3];
      std::vector<int32_t> acc(rows * cols), m0(per_channel ? cols : 1), shift(m0.size());
      for (auto& a : acc) a = (trial % 7 == 0) ? ((rng() % 2) ? INT32_MAX : INT32_MIN) : int32_t(rng());
      for (size_t i = 0; i < m0.size(); ++i) {
        m0[i] = int32_t((1u << 30) + rng() % (1u << 30));
        shift[i] = int32_t(rng() % 63);
      }
      int32_t qmin = t == OutType::u8 ? 0 : (t == OutType::s8 ? -128 : INT32_MIN);
      int32_t qmax = t == OutType::u8 ? 255 : (t == OutType::s8 ? 127 : INT32_MAX);
      const int32_t zp = t == OutType::u8 ? int32_t(rng() % 256) : 0;
      RequantParams p{m0.data(), shift.data(), per_channel, zp, qmin, qmax};
      std::vector<int32_t> got32(rows * cols);
      std::vector<uint8_t> got8(rows * cols);
      void* out = t == OutType::s32 ? (void*)got32.data() : (void*)got8.data();
      requantize(isa, acc.data(), rows, cols, p, t, out);
      bool ok = true;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const int64_t k = per_channel ? c : 0;
          const int32_t want = requantize_one(acc[r * cols + c], m0[k], shift[k], zp, qmin, qmax);
          const int64_t i = r * cols + c;
          const int32_t got = t == OutType::s32 ? got32[i]
                              : t == OutType::s8 ? int32_t(int8_t(got8[i]))
                                                 : int32_t(got8[i]);
          ok = ok && got == want;
        }
      check(ok, isa_name(isa));
    }
  }
}

// Every GEMM variant against a plain int64 triple loop, for int32 output (the epilogue's requantization
// is the scalar rule already covered above, shared by all variants through the same code or the same
// SIMD helper as requantize).
static void gemm_variants() {
  std::mt19937 rng(3);
  for (Isa isa : available_isas()) {
    for (int trial = 0; trial < 60; ++trial) {
      const int64_t M = 1 + rng() % 13, K = 1 + rng() % 150, N = 1 + rng() % 150;
      const bool a_signed = rng() % 2;
      std::vector<uint8_t> a(size_t(M * K));
      std::vector<int8_t> w(size_t(N * K));
      for (auto& v : a) v = uint8_t(trial % 5 == 0 ? (a_signed ? 0x80 : 0xFF) : rng());
      for (auto& v : w) v = int8_t(trial % 5 == 0 ? -128 : int(rng() % 256) - 128);
      const int32_t za = a_signed ? int32_t(rng() % 256) - 128 : int32_t(rng() % 256);
      std::vector<int8_t> packed(size_t(gemm_packed_size(N, K)));
      std::vector<int32_t> colsum(static_cast<size_t>(N)), bias(static_cast<size_t>(N)), out(static_cast<size_t>(M * N));
      for (auto& v : bias) v = int32_t(rng() % 2001) - 1000;
      gemm_pack_weight(w.data(), N, K, packed.data(), colsum.data());
      GemmEpilogue ep{};
      ep.kind = GemmOut::s32;
      ep.out = out.data();
      ep.ldo = N;
      gemm_s8(isa, a.data(), a_signed, M, K, za, packed.data(), colsum.data(), N, bias.data(), ep, 1 + trial % 3);
      bool ok = true;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t ref = bias[size_t(n)];
          for (int64_t k = 0; k < K; ++k) {
            const int64_t av = a_signed ? int64_t(int8_t(a[size_t(m * K + k)])) : int64_t(a[size_t(m * K + k)]);
            ref += (av - za) * w[size_t(n * K + k)];
          }
          ok = ok && out[size_t(m * N + n)] == ref;
        }
      check(ok, isa_name(isa));
    }
  }
}

// rows x n codes of one kind: 0, 1 small; 2 the full range of T; 3 all max; 4 all min; 5 +-max alternating
template <typename T>
static std::vector<T> make_codes(std::mt19937& rng, int64_t size, int kind) {
  const int32_t lo = sizeof(T) == 2 ? -32768 : INT32_MIN, hi = sizeof(T) == 2 ? 32767 : INT32_MAX;
  std::vector<T> q(static_cast<size_t>(size));
  for (size_t i = 0; i < q.size(); ++i) {
    const int64_t full = int64_t(lo) + int64_t(rng() % (uint64_t(int64_t(hi) - lo) + 1));
    q[i] = T(kind < 2 ? int32_t(rng() % 6001) - 3000 : kind == 2 ? full : kind == 3 ? hi : kind == 4 ? lo
             : (i % 2 ? hi : lo));
  }
  return q;
}

// The edge sweep of the SIMD kernels' row loops (vector blocks, padded tails): every row length 1..70 and
// 4096, each with the six kinds of make_codes; case(rows, n, kind, c) runs one, c picks a constant set.
template <typename F>
static void row_length_sweep(std::mt19937& rng, int64_t n_min, F&& run_case) {
  std::vector<int64_t> ns;
  for (int64_t n = n_min; n <= 70; ++n) ns.push_back(n);
  ns.push_back(4096);
  for (int64_t n : ns)
    for (int kind = 0; kind < 6; ++kind) run_case(n == 4096 ? 2 : 1 + int64_t(rng() % 3), n, kind, int(n + kind));
}

// I-BERT softmax / GELU / LayerNorm: every variant against the scalar kernel (itself checked against the
// numpy reference by tests/kernels/test_intops_kernels.py), int16 and int32 codes, random and extreme rows,
// constants from real scales (lowbit.ops.intops_kernels.*_constants at 1e-3, 3e-5, 0.05, 2 and 300) that
// take both the SIMD kernels' 32-bit fast paths and their general fallbacks.
template <typename T>
static void intops_variants_typed(std::mt19937& rng) {
  const SoftmaxParams sp[] = {{21488, 1586259973, 26, 31996, 536204219}, {716253, 1522809574, 31, 31996, 536204219},
                              {430, 1239265604, 20, 31996, 536204219}, {11, 1549082005, 15, 31996, 536204219},
                              {1, 1815330474, 8, 31996, 536204219}};
  const GeluParams gp[] = {{2503, 1757992375, 30, 18563806}, {83393, 1687672680, 35, 18563806},
                           {52, 1373431543, 24, 18563806}, {3, 1716789429, 19, 18563806},
                           {2, 2011862612, 12, 18563806}};
  const int32_t lo = sizeof(T) == 2 ? -32768 : INT32_MIN, hi = sizeof(T) == 2 ? 32767 : INT32_MAX;
  for (Isa isa : available_isas()) {
    for (int trial = 0; trial < 150; ++trial) {
      const int64_t rows = 1 + rng() % 4, n = trial % 25 == 0 ? 4096 : 1 + rng() % 200;
      const int kind = trial % 6;  // 0, 1: small codes; 2: full range; 3: all max; 4: all min; 5: +-max alternating
      std::vector<T> q(size_t(rows * n));
      for (size_t i = 0; i < q.size(); ++i) {
        const int64_t full = int64_t(lo) + int64_t(rng() % (uint64_t(int64_t(hi) - lo) + 1));
        q[i] = T(kind < 2 ? int32_t(rng() % 6001) - 3000 : kind == 2 ? full : kind == 3 ? hi : kind == 4 ? lo
                 : (i % 2 ? hi : lo));
      }
      const SoftmaxParams& s = sp[trial % 5];
      std::vector<uint8_t> s_got(q.size()), s_want(q.size());
      ibert_softmax(isa, q.data(), rows, n, s, s_got.data());
      ibert_softmax_scalar(q.data(), rows, n, s, s_want.data());
      check(s_got == s_want, "ibert_softmax");
      const GeluParams& g = gp[trial % 5];
      std::vector<int64_t> g_got(q.size()), g_want(q.size());
      ibert_gelu(isa, q.data(), rows * n, g, g_got.data());
      ibert_gelu_scalar(q.data(), rows * n, g, g_want.data());
      check(g_got == g_want, "ibert_gelu");
      if constexpr (sizeof(T) == 2) {  // int32 output (16-bit codes only)
        std::vector<int32_t> h_got(q.size()), h_want(q.size());
        ibert_gelu(isa, q.data(), rows * n, g, h_got.data());
        ibert_gelu_scalar(q.data(), rows * n, g, h_want.data());
        check(h_got == h_want, "ibert_gelu int32 output");
      }
      if (n < 2) continue;
      std::vector<T> ql(q);  // LayerNorm takes |q| < 2^15
      for (auto& v : ql) v = T(std::max(-32767, std::min(32767, int32_t(v))));
      std::vector<int32_t> m0(static_cast<size_t>(n)), shift(static_cast<size_t>(n));
      std::vector<int64_t> beta(static_cast<size_t>(n));
      for (int64_t c = 0; c < n; ++c) {
        m0[size_t(c)] = int32_t((1u << 30) + rng() % (1u << 30)) * (rng() % 2 ? 1 : -1);
        shift[size_t(c)] = int32_t(30 + rng() % 17);
        beta[size_t(c)] = (int64_t(rng() % 4001) - 2000) << (shift[size_t(c)] - 8);
      }
      const LayerNormParams lp{trial % 7 == 0 ? 0 : int64_t(rng() % 1000), m0.data(), shift.data(), beta.data()};
      std::vector<int8_t> l_got(q.size()), l_want(q.size());
      ibert_layernorm(isa, ql.data(), rows, n, lp, l_got.data());
      ibert_layernorm_scalar(ql.data(), rows, n, lp, l_want.data());
      check(l_got == l_want, "ibert_layernorm");
    }
  }
}

// The 32-bit forms of intops_fast.h against the int64 rule, and isqrt_norm against isqrt.
static void intops_fast_forms(std::mt19937& rng) {
  for (int trial = 0; trial < 2000; ++trial) {
    const int shift = 16 + int(rng() % 32);
    const int32_t m0 = int32_t(rng() % (1u << 31));
    const int64_t c = (int64_t(1) << (shift - 1)) - int64_t(rng() % 2);
    const Rescale32 r = rescale32(m0, shift, c);
    bool ok = true;
    for (int j = 0; j < 64; ++j) {
      const uint32_t u = j < 2 ? (j ? 65535u : 0u) : uint32_t(rng() % 65536);
      ok = ok && int64_t(rescale32_one(u, r)) == ((int64_t(u) * m0 + c) >> shift);
    }
    check(ok, "rescale32_one");
  }
  std::mt19937_64 r64(5);
  const int64_t edges[] = {int64_t(1) << 60, (int64_t(1) << 62) - 1, 0, int64_t(1) << 62, (int64_t(1) << 61) - 1};
  for (int trial = 0; trial < 20000; ++trial) {
    const int64_t v = trial < 5 ? edges[trial] : int64_t(r64() >> (1 + r64() % 8));
    check(isqrt_norm(v) == isqrt(v), "isqrt_norm");
  }
}

static void intops_variants() {
  std::mt19937 rng(4);
  intops_variants_typed<int16_t>(rng);
  intops_variants_typed<int32_t>(rng);
  intops_fast_forms(rng);
}

// Shiftmax / ShiftGELU / LUT softmax / NN-LUT GELU: every variant against the scalar kernel (itself checked
// against the numpy references by tests/kernels/test_shift_lut_kernels.py), with constants from real scales
// (lowbit.ops.shift_lut_kernels.*_constants at 1e-5, 1e-3, 0.05 and 300) on both sides of the fast paths.
template <typename T>
static void shift_lut_variants_typed(std::mt19937& rng) {
  const ShiftmaxParams sp[] = {{1700000, 1407374884, 32}, {17000, 1099511628, 25}, {340, 1717986918, 20},
                               {1, 1258291200, 7}};
  const ShiftGeluParams gp[] = {{0, 2284}, {2, 57110}, {8, 44617}, {15, 65535}};
  const LutSoftmaxParams lp0[] = {{2400001, 2030412765, 40}, {24001, 1586259973, 33}, {481, 1239265604, 27},
                                  {2, 1815330474, 15}};
  // NN-LUT GELU rows (shift_lut.h): random valid rows, dense (binary search) or sparse (buckets), with the
  // constants of nnlut.gelu_plan at 1e-3 (r = 0), 1e-4 (r = 2) and 1.5 (q8 = 6), and r = 20 (int32 codes)
  struct GeluRows {
    std::vector<uint16_t> st, an, sl;
    std::vector<uint8_t> sh;
    std::vector<int32_t> va;
  } gr[4];
  const int64_t g_const[4][6] = {{0, -8001, 16002, 8000, 1099511628, 24}, {2, -20001, 40002, 80000, 1759218604, 28},
                                 {0, -6, 12, 6, 1610612736, 14}, {20, -3, 6, 1073741824, 1099511628, 24}};
  PwlGeluParams pp[4];
  for (int c = 0; c < 4; ++c) {
    GeluRows& g = gr[c];
    const int32_t w_max = int32_t(g_const[c][2]);
    const int k = c == 0 ? 64 : c == 2 ? 12 : std::min(1 + int(rng() % 40), w_max + 1);
    std::vector<int32_t> s0{0};  // distinct starts in [1, w_max]: the first 64 codes for c = 0 (binary search)
    while (int(s0.size()) < k) {
      const int32_t v = 1 + int32_t(rng() % uint32_t(c == 0 ? 400 : w_max));
      if (std::find(s0.begin(), s0.end(), v) == s0.end() && v <= w_max) s0.push_back(v);
    }
    std::sort(s0.begin(), s0.end());
    for (int j = 0; j < k; ++j) {
      const int32_t end = j + 1 < k ? s0[size_t(j) + 1] - 1 : w_max;
      const int32_t len = std::min(end - s0[size_t(j)], 32767);
      g.st.push_back(uint16_t(s0[size_t(j)]));
      const int32_t anchor = rng() % 2 ? s0[size_t(j)] : s0[size_t(j)] + len;  // rows over 2^15 codes: anchor
      g.an.push_back(uint16_t(std::min(anchor, end)));                              // at the start
      int e = 0;
      while (e < 16 && (int64_t(len) << (e + 1)) <= 65535) ++e;
      g.sh.push_back(uint8_t(rng() % (e + 1)));
      g.sl.push_back(uint16_t(rng()));
      g.va.push_back(int32_t(rng() % (1u << 30)) - (1 << 29));
    }
    for (int j = 0; j < k; ++j) {  // the checks of pwl_gelu_params
      const int32_t end = j + 1 < k ? g.st[size_t(j) + 1] - 1 : w_max;
      const int64_t d = std::max<int64_t>(int64_t(g.an[size_t(j)]) - g.st[size_t(j)], end - int64_t(g.an[size_t(j)]));
      if (d > 32767) g.an[size_t(j)] = g.st[size_t(j)];
      const int64_t d2 = std::max<int64_t>(int64_t(g.an[size_t(j)]) - g.st[size_t(j)], end - int64_t(g.an[size_t(j)]));
      while ((d2 << g.sh[size_t(j)]) > 65535) --g.sh[size_t(j)];
    }
    pp[c] = PwlGeluParams{int32_t(g_const[c][0]), g_const[c][1], w_max, g_const[c][3], int32_t(g_const[c][4]),
                          int32_t(g_const[c][5]), k, g.st.data(), g.an.data(), g.sh.data(), g.sl.data(), g.va.data()};
  }
  std::vector<uint16_t> exp2(128), recip(128);
  std::vector<uint8_t> log2(128);
  for (int i = 0; i < 128; ++i) {  // integer stand-ins of lut_softmax.py's tables with the same ranges
    exp2[size_t(i)] = uint16_t(32768 - i * 127);
    recip[size_t(i)] = uint16_t((int64_t(1) << 22) / (128 + i));
    log2[size_t(i)] = uint8_t(i);
  }
  for (Isa isa : available_isas()) {
    auto run_case = [&](int64_t rows, int64_t n, int kind, int c) {
      c %= 4;
      const std::vector<T> q = make_codes<T>(rng, rows * n, kind);
      std::vector<uint8_t> got(q.size()), want(q.size());
      shiftmax(isa, q.data(), rows, n, sp[c], got.data());
      shiftmax_scalar(q.data(), rows, n, sp[c], want.data());
      check(got == want, "shiftmax");
      for (bool ln : {false, true}) {
        LutSoftmaxParams l = lp0[c];
        l.exp2 = exp2.data(), l.recip = recip.data(), l.log2 = log2.data(), l.lnexp = ln;
        lut_softmax(isa, q.data(), rows, n, l, got.data());
        lut_softmax_scalar(q.data(), rows, n, l, want.data());
        check(got == want, ln ? "lut_softmax lnexp" : "lut_softmax rexp");
      }
      std::vector<int32_t> g_got(q.size()), g_want(q.size());
      pwl_gelu(isa, q.data(), rows * n, pp[c], g_got.data());
      pwl_gelu_scalar(q.data(), rows * n, pp[c], g_want.data());
      check(g_got == g_want, "pwl_gelu");
      std::vector<T> qg(q);  // ShiftGELU takes |q| < 2^15
      for (auto& v : qg) v = T(std::max(-32767, std::min(32767, int32_t(v))));
      check(shiftgelu(isa, qg.data(), rows * n, gp[c], g_got.data()), "shiftgelu: codes in range");
      shiftgelu_scalar(qg.data(), rows * n, gp[c], g_want.data());
      check(g_got == g_want, "shiftgelu");
      std::vector<int64_t> w_got(q.size()), w_want(q.size());  // int64 output
      check(shiftgelu(isa, qg.data(), rows * n, gp[c], w_got.data()), "shiftgelu int64: codes in range");
      shiftgelu_scalar(qg.data(), rows * n, gp[c], w_want.data());
      check(w_got == w_want, "shiftgelu int64 output");
    };
    for (int trial = 0; trial < 120; ++trial)
      run_case(1 + rng() % 4, trial % 20 == 0 ? 4096 : 1 + rng() % 200, trial % 6, trial);
    row_length_sweep(rng, 1, run_case);
  }
  // NN-LUT GELU on every code of T's range near the windows' ends and q8, and at T's ends (int16: all 2^16
  // codes), plus edge constants on the 64 rows of pp[0]: a window below int16's range (the scalar kernel
  // for int16 codes) or across its low end, r = 40, r = 1 with base = INT32_MIN, q8 = 1 with an identity
  // that saturates, q8 past INT32_MAX
  const PwlGeluParams& g0 = pp[0];
  std::vector<PwlGeluParams> all(std::begin(pp), std::end(pp));
  const int64_t edges[][6] = {{0, -100000, 16002, 5, 1099511628, 24},  // r, base, w_max, q8, id_m0, id_shift
                               {0, -40000, 16002, 100, 1099511628, 24},
                               {40, -8001, 16002, 1 << 30, 1099511628, 24},
                               {1, INT32_MIN, 16002, 3, 1099511628, 24},
                               {0, -8001, 16002, 1, INT32_MAX, 0},
                               {0, -8001, 16002, int64_t(1) << 40, 1099511628, 24}};
  for (const auto& e : edges) {
    PwlGeluParams g = g0;
    g.r = int32_t(e[0]), g.base = e[1], g.w_max = int32_t(e[2]), g.q8 = e[3], g.id_m0 = int32_t(e[4]);
    g.id_shift = int32_t(e[5]);
    all.push_back(g);
  }
  std::vector<T> qa;
  if constexpr (sizeof(T) == 2) {
    for (int v = -32768; v <= 32767; ++v) qa.push_back(T(v));
  } else {
    for (const PwlGeluParams& e : all)
      for (int end = 0; end < 5; ++end)
        for (int64_t d = -1100; d <= 1100; ++d) {  // window ends in code units (x 2^r), steps of up to 2^r
          const int64_t unit = int64_t(1) << std::min(e.r, 31), step = end < 2 ? 1 + int64_t(rng() % uint64_t(unit)) : 1;
          const int64_t mid = end == 0 ? e.base * unit : end == 1 ? (e.base + e.w_max) * unit : end == 2 ? INT32_MIN
                              : end == 3 ? INT32_MAX : std::min<int64_t>(e.q8, INT32_MAX);
          qa.push_back(T(std::max<int64_t>(INT32_MIN, std::min<int64_t>(INT32_MAX, mid + d * step))));
        }
    for (int i = 0; i < 20000; ++i) qa.push_back(T(rng()));
  }
  std::vector<int32_t> ga(qa.size()), gb(qa.size());
  for (const PwlGeluParams& e : all) {
    pwl_gelu_scalar(qa.data(), int64_t(qa.size()), e, gb.data());
    for (Isa isa : available_isas()) {
      std::fill(ga.begin(), ga.end(), 0x55555555);
      pwl_gelu(isa, qa.data(), int64_t(qa.size()), e, ga.data());
      check(ga == gb, "pwl_gelu on every code / the windows' ends");
    }
  }
}

static void shift_lut_variants() {
  std::mt19937 rng(6);
  shift_lut_variants_typed<int16_t>(rng);
  shift_lut_variants_typed<int32_t>(rng);
  // scalar ShiftGELU against its own definition at a few points (x = 0 gives sigmoid 1/2: the interpolated
  // 2^30 / (2^15 + 32767), 2^14 + 1; a large x 1, a very negative x 0), and every ISA on every 16-bit code
  const ShiftGeluParams g{2, 57110};
  check(shiftgelu_one(0, g) == 0 && shiftgelu_sig_pos_one(0, g) == (1 << 14) + 1, "shiftgelu at 0");
  check(shiftgelu_one(32767, g) == int64_t(32767) << 15 && shiftgelu_one(-32767, g) == 0, "shiftgelu saturation");
  std::vector<int16_t> all(65535);
  for (int v = -32767; v <= 32767; ++v) all[size_t(v + 32767)] = int16_t(v);
  std::vector<int32_t> got(all.size()), want(all.size());
  for (const ShiftGeluParams& p : {ShiftGeluParams{0, 2284}, g, ShiftGeluParams{8, 44617}, ShiftGeluParams{15, 65535},
                                   ShiftGeluParams{0, 0}, ShiftGeluParams{0, 65535}, ShiftGeluParams{15, 1}}) {
    shiftgelu_scalar(all.data(), int64_t(all.size()), p, want.data());
    for (Isa isa : available_isas()) {
      check(shiftgelu(isa, all.data(), int64_t(all.size()), p, got.data()), "shiftgelu: every code in range");
      check(got == want, "shiftgelu on every code");
      std::vector<int16_t> bad(all.begin(), all.begin() + 77);
      bad[70] = INT16_MIN;
      check(!shiftgelu(isa, bad.data(), int64_t(bad.size()), p, got.data()), "shiftgelu: -2^15 reported");
    }
  }
}

// Log-Int-Softmax and PWL sigmoid / tanh: every variant against the scalar kernel (itself checked against the
// numpy references by tests/kernels/test_intops_extra_kernels.py), and the division-free threshold form of
// the Log-Int-Softmax code against the reference's division on random and edge (e, sum) pairs.
template <typename T>
static void intops_extra_variants_typed(std::mt19937& rng) {
  const SoftmaxParams sp[] = {{21488, 1586259973, 26, 31996, 536204219}, {716253, 1522809574, 31, 31996, 536204219},
                              {430, 1239265604, 20, 31996, 536204219}, {1, 1815330474, 8, 31996, 536204219}};
  // pwl.pwl_plan(pwl.default_table("tanh"), scale) at 1e-5 (r = 5), 1e-3, 0.05 and 300
  // scale 1e-05: r 5, base -25000, w_max 50000, 20 rows, clipless True
  const uint16_t st0[] = {0, 1, 5076, 15662, 18551, 20116, 21229, 22135, 22950, 23772, 25000, 26229, 27051, 27866, 28772, 29885, 31450, 34339, 44925, 50000};
  const int16_t va0[] = {-16384, -16384, -16384, -16349, -15914, -15056, -13743, -11919, -9484, -6185, 59, 6182, 9487, 11923, 13744, 15057, 15912, 16328, 16384, 16384};
  const uint16_t fr0[] = {32768, 32768, 324, 42283, 45079, 13493, 1286, 890, 25974, 13042, 32768, 35403, 33309, 4297, 53880, 19550, 46197, 62182, 32768, 32768}, sl0[] = {0, 0, 347, 9909, 35911, 38661, 32966, 48960, 32948, 40869, 40869, 32948, 48960, 32966, 38661, 35911, 9909, 347, 0, 0};
  const uint8_t sh0[] = {0, 0, 0, 0, 0, 1, 2, 2, 3, 3, 3, 3, 2, 2, 1, 0, 0, 0, 0, 0};
  // scale 0.001: r 0, base -8001, w_max 16002, 20 rows, clipless True
  const uint16_t st1[] = {0, 1, 1626, 5013, 5938, 6439, 6794, 7085, 7345, 7608, 8001, 8395, 8658, 8918, 9209, 9564, 10065, 10990, 14377, 16002};
  const int16_t va1[] = {-16384, -16384, -16384, -16349, -15913, -15053, -13745, -11912, -9484, -6186, 59, 6191, 9493, 11922, 13748, 15056, 15912, 16328, 16384, 16384};
  const uint16_t fr1[] = {32768, 32768, 1062, 47238, 55855, 29519, 16978, 31741, 25974, 37709, 32768, 38647, 56256, 20385, 23701, 62642, 46197, 62746, 32768, 32768}, sl1[] = {0, 0, 1084, 30965, 56111, 60407, 51509, 38250, 51482, 63857, 63857, 51482, 38250, 51509, 60407, 56111, 30965, 1084, 0, 0};
  const uint8_t sh1[] = {0, 0, 0, 0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 3, 2, 1, 0, 0, 0, 0};
  // scale 0.05: r 0, base -161, w_max 322, 20 rows, clipless True
  const uint16_t st2[] = {0, 1, 34, 102, 120, 130, 137, 143, 148, 154, 161, 169, 175, 180, 186, 193, 203, 221, 289, 322};
  const int16_t va2[] = {-16384, -16384, -16384, -16331, -15890, -15009, -13701, -11763, -9409, -5516, 59, 6267, 9895, 12129, 13903, 15120, 15929, 16329, 16384, 16384};
  const uint16_t fr2[] = {32768, 32768, 28172, 44246, 7423, 45488, 17884, 58947, 53009, 62349, 32768, 147, 26971, 52743, 14054, 20581, 46813, 9138, 32768, 32768}, sl2[] = {0, 0, 54220, 48382, 43837, 47193, 40241, 59766, 40220, 49888, 49888, 40220, 59766, 40241, 47193, 43837, 48382, 54220, 0, 0};
  const uint8_t sh2[] = {0, 0, 0, 5, 7, 8, 9, 9, 10, 10, 10, 10, 9, 9, 8, 7, 5, 0, 0, 0};
  // scale 300.0: r 0, base -1, w_max 2, 3 rows, clipless True
  const uint16_t st3[] = {0, 1, 2};
  const int16_t va3[] = {-16384, 59, 16384};
  const uint16_t fr3[] = {32768, 32768, 32768}, sl3[] = {0, 0, 0};
  const uint8_t sh3[] = {0, 0, 0};
  const PwlActParams pp[] = {{5, -25000, 50000, 20, st0, va0, fr0, sl0, sh0, -16384, 16384, false},
                             {0, -8001, 16002, 20, st1, va1, fr1, sl1, sh1, -16384, 16384, true},
                             {0, -161, 322, 20, st2, va2, fr2, sl2, sh2, 0, 16384, true},
                             {0, -1, 2, 3, st3, va3, fr3, sl3, sh3, -16384, 16384, false}};
  // rows that take the SIMD kernel's other paths: 64 rows (binary search), rows clustered 6 to a bucket
  // (more than 3 steps), windows past int16's (the scalar kernel for int16 codes) and past int32's low end
  uint16_t st64[64], clus[12], fr64[64], sl64[64];
  int16_t va64[64];
  uint8_t sh64[64];
  for (int j = 0; j < 64; ++j)
    st64[j] = uint16_t(j * 1000), va64[j] = int16_t(j * 500 - 16000), sl64[j] = uint16_t(j * 1021), sh64[j] = 0,
    fr64[j] = uint16_t(j * 977);
  for (int j = 0; j < 12; ++j) clus[j] = uint16_t(j < 2 ? j * 4000 : 30000 + j * 7);
  const PwlActParams extra[] = {{0, -32000, 64000, 64, st64, va64, fr64, sl64, sh64, -32768, 32767, true},
                                {0, -9000, 40000, 12, clus, va64, fr64, sl64, sh64, -32768, 32767, true},
                                {3, 40000, 3000, 3, st64, va64, fr64, sl64, sh64, -32768, 32767, true},
                                {0, -(int64_t(1) << 31) - 1, 60000, 11, clus, va64, fr64, sl64, sh64, -20000, 20000, true}};
  for (Isa isa : available_isas()) {
    auto run_case = [&](int64_t rows, int64_t n, int kind, int c) {
      c %= 4;
      const std::vector<T> q = make_codes<T>(rng, rows * n, kind);
      for (const PwlActParams& e : extra) {
        std::vector<int16_t> a(q.size()), b(q.size());
        pwl_act(isa, q.data(), rows * n, e, a.data());
        pwl_act_scalar(q.data(), rows * n, e, b.data());
        check(a == b, "pwl_act (other evaluator paths)");
      }
      std::vector<uint8_t> got(q.size()), want(q.size());
      log_int_softmax(isa, q.data(), rows, n, sp[c], got.data());
      log_int_softmax_scalar(q.data(), rows, n, sp[c], want.data());
      check(got == want, "log_int_softmax");
      std::vector<int16_t> y_got(q.size()), y_want(q.size());
      pwl_act(isa, q.data(), rows * n, pp[c], y_got.data());
      pwl_act_scalar(q.data(), rows * n, pp[c], y_want.data());
      check(y_got == y_want, "pwl_act");
    };
    for (int trial = 0; trial < 120; ++trial)
      run_case(1 + rng() % 4, trial % 20 == 0 ? 4096 : 1 + rng() % 200, trial % 6, trial);
    row_length_sweep(rng, 1, run_case);
  }
  // every table on every code of T's range near the windows' ends and at T's ends (int16: all 2^16 codes),
  // plus edge tables: values + slope x past 2^15 - 1 (the reference clamps the sum), r = 1 and r = 31 at
  // T's max (round(q / 2) of INT32_MAX is 2^30), windows reaching past T's range on either side
  const uint16_t stE[] = {0, 100}, frE[] = {32768, 65535}, slE[] = {65535, 65535};
  const int16_t vaE[] = {32000, 32700};
  const uint8_t shE[] = {8, 0};
  const PwlActParams edge[] = {{0, -200, 1000, 2, stE, vaE, frE, slE, shE, -32768, 32767, true},
                               {0, 32000, 1000, 2, stE, vaE, frE, slE, shE, -32768, 20000, true},
                               {1, 16300, 500, 2, stE, vaE, fr1, sl1, sh1, -32768, 32767, true},
                               {1, (int64_t(1) << 30) - 300, 500, 2, stE, vaE, fr1, sl1, sh1, -32768, 32767, true},
                               {31, -1, 2, 3, st3, va3, fr3, sl3, sh3, -16384, 16384, false},
                               {0, -40000, 20000, 20, st1, va1, fr1, sl1, sh1, -16384, 16384, true},
                               {0, INT32_MAX - 16001, 16002, 20, st1, va1, fr1, sl1, sh1, -16384, 16384, true}};
  std::vector<PwlActParams> all(std::begin(pp), std::end(pp));
  all.insert(all.end(), std::begin(extra), std::end(extra));
  all.insert(all.end(), std::begin(edge), std::end(edge));
  std::vector<T> q;
  if constexpr (sizeof(T) == 2) {
    for (int v = -32768; v <= 32767; ++v) q.push_back(T(v));
  } else {
    for (const PwlActParams& e : all)
      for (int end = 0; end < 4; ++end)
        for (int64_t d = -1100; d <= 1100; ++d) {  // window ends in code units (x 2^r), steps of up to 2^r
          const int64_t unit = int64_t(1) << e.r, step = end < 2 ? 1 + int64_t(rng() % uint64_t(unit)) : 1;
          const int64_t mid = end == 0 ? e.base * unit : end == 1 ? (e.base + e.w_max) * unit : end == 2 ? INT32_MIN : INT32_MAX;
          q.push_back(T(std::max<int64_t>(INT32_MIN, std::min<int64_t>(INT32_MAX, mid + d * step))));
        }
    for (int i = 0; i < 20000; ++i) q.push_back(T(rng()));
  }
  std::vector<int16_t> a(q.size()), b(q.size());
  for (const PwlActParams& e : all) {
    pwl_act_scalar(q.data(), int64_t(q.size()), e, b.data());
    for (Isa isa : available_isas()) {
      std::fill(a.begin(), a.end(), int16_t(0x5555));
      pwl_act(isa, q.data(), int64_t(q.size()), e, a.data());
      check(a == b, "pwl_act on every code / the windows' ends");
    }
  }
}

// PTF LayerNorm: every variant against the scalar one (the shift, then the I-BERT LayerNorm of the ISA)
// (row lengths 2..70, 384, 1000 and 4096; random, all-255, all-0 and 0 / 255 alternating codes)
static void ptf_variants(std::mt19937& rng) {
  std::vector<int64_t> ns{384, 1000, 4096};
  for (int64_t n = 2; n <= 70; ++n) ns.push_back(n);
  for (int64_t n : ns) {
    const size_t nn = static_cast<size_t>(n);
    std::vector<int32_t> m0(nn), sh(nn);
    std::vector<int64_t> beta(nn);
    std::vector<uint8_t> alpha(nn);
    for (size_t c = 0; c < nn; ++c) {
      m0[c] = int32_t(rng() % (1u << 31)) - (1 << 30), sh[c] = 24 + int32_t(rng() % 16);
      beta[c] = (int64_t(rng() % 2001) - 1000) << (sh[c] - 4), alpha[c] = uint8_t(rng() % 4);
    }
    const LayerNormParams p{int64_t(rng() % 1000), m0.data(), sh.data(), beta.data()};
    const int64_t rows = n == 4096 ? 3 : 1 + rng() % 70;
    const int32_t zp = int32_t(rng() % 256);
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<uint8_t> q(static_cast<size_t>(rows * n));
      for (size_t i = 0; i < q.size(); ++i) q[i] = uint8_t(kind == 0 ? rng() : kind == 1 ? 255 : kind == 2 ? 0 : 255 * (i % 2));
      std::vector<int8_t> want(q.size()), got(q.size());
      ptf_layernorm(Isa::scalar, q.data(), rows, n, zp, alpha.data(), p, want.data());
      for (Isa isa : available_isas()) {
        ptf_layernorm(isa, q.data(), rows, n, zp, alpha.data(), p, got.data());
        check(got == want, "ptf_layernorm");
      }
#if defined(__aarch64__)
      std::vector<int16_t> xs(q.size()), xn(q.size());
      ptf_shift_scalar(q.data(), rows * n, n, zp, alpha.data(), xs.data());
      ptf_shift_neon(q.data(), rows * n, n, zp, alpha.data(), xn.data());
      check(xs == xn, "ptf_shift_neon");
#endif
    }
  }
}

// NN-LUT softmax: every variant against the scalar kernel, with nnlut.softmax_exp_rows / table("recip") and
// the constants of nnlut_softmax_constants at 1e-5, 1e-3, 2e-3, 0.05, 3.0 and 300 (binary)
template <typename T>
static void nnlut_softmax_variants(std::mt19937& rng) {
  static const uint16_t es[] = {0, 56, 112, 169, 227, 286, 347, 408, 471, 535, 601, 669, 738, 809, 881, 955};
  static const uint16_t ev[] = {65507, 65418, 65243, 64984, 64641, 64218, 63716, 63138,
                                62484, 61757, 60958, 60088, 59150, 58142, 57066, 55986};
  static const uint16_t esl[] = {44576, 42930, 41316, 39735, 38187, 36670, 35186, 33733,
                                 32311, 30920, 29557, 28225, 26922, 25644, 24393, 23235};
  static const int16_t rs[] = {16384, 17013, 17674, 18376, 19118, 19907, 20745, 21629, 22578, 23588, 24657, 25807, 27031, 28346, 29771, 31273};
  static const int32_t rsl[] = {-1034135052, -958649958, -887449169, -820383497, -757284837, -697989778, -642326725, -590130798,
                                -541266068, -495601031, -452959214, -413194734, -376140812, -341591751, -309405717, -280867275};
  static const int32_t ric[] = {2107675323, 2029292064, 1952484805, 1877263548, 1803634702, 1731588237, 1661108871, 1592203369,
                                1524866065, 1459123095, 1394950359, 1332316930, 1271184307, 1211411732, 1152926994, 1098454781};
  const PwlTableRef rt{16, rs, rsl, ric, 14};
  // rows of small values (their roundings show in the outputs), and rows two starts in one bucket apart
  // (AVX-512: the scalar kernel)
  static const uint16_t ss[] = {0, 300, 700}, sv[] = {33000, 20000, 5000}, ssl[] = {10000, 20000, 3000};
  static const uint16_t bs[] = {0, 3, 5}, bv[] = {40000, 39000, 38000}, bsl[] = {1000, 1000, 1000};
  const NnlutSoftmaxParams ps[] = {{61963, 22, 2010136, false, 16, es, ev, esl, 14, rt},
                                   {48409, 15, 20102, false, 16, es, ev, esl, 14, rt},
                                   {48409, 14, 10051, false, 16, es, ev, esl, 14, rt},
                                   {37819, 9, 403, false, 16, es, ev, esl, 14, rt},
                                   {35456, 3, 7, false, 16, es, ev, esl, 14, rt},
                                   {32768, 1, 1, true, 16, es, ev, esl, 14, rt},
                                   {48409, 15, 20102, false, 3, ss, sv, ssl, 14, rt},
                                   {37819, 9, 403, false, 3, bs, bv, bsl, 14, rt}};
  constexpr int kCases = int(sizeof(ps) / sizeof(ps[0]));
  for (Isa isa : available_isas()) {
    auto run_case = [&](int64_t rows, int64_t n, int kind, int c) {
      const std::vector<T> q = make_codes<T>(rng, rows * n, kind);
      std::vector<uint8_t> got(q.size()), want(q.size());
      nnlut_softmax(isa, q.data(), rows, n, ps[c % kCases], got.data());
      nnlut_softmax_scalar(q.data(), rows, n, ps[c % kCases], want.data());
      check(got == want, "nnlut_softmax");
    };
    for (int trial = 0; trial < 80; ++trial)
      run_case(1 + rng() % 4, trial % 20 == 0 ? 8192 : 1 + rng() % 200, trial % 5, trial);
    row_length_sweep(rng, 1, run_case);
  }
}

static void intops_extra_variants() {
  std::mt19937 rng(7);
  ptf_variants(rng);
  nnlut_softmax_variants<int16_t>(rng);
  nnlut_softmax_variants<int32_t>(rng);
  intops_extra_variants_typed<int16_t>(rng);
  intops_extra_variants_typed<int32_t>(rng);
  std::mt19937_64 r64(8);
  int32_t thr[15];
  bool ok = true;
  for (int trial = 0; trial < 200000 && ok; ++trial) {
    const int64_t e = trial % 7 == 0 ? 0 : int64_t(r64() % (uint64_t(1) << (1 + r64() % 31)));
    const int64_t total = std::max<int64_t>(e, 1) + int64_t(r64() % (uint64_t(1) << (r64() % 52)));
    lis_thresholds(total, thr);
    int k = 0;
    while (k < 15 && e <= thr[k]) ++k;
    ok = k == lis_code_one(e, total);
  }
  check(ok, "lis thresholds vs div_round");
}

// Low-bit GEMV: every variant, both layouts, against a plain int64 loop over the codes. The packing here
// follows lowbit_gemv.h's layout formulas directly (the Python packer is tested against the same kernels).
static void lowbit_gemv_variants() {
  std::mt19937 rng(5);
  for (Isa isa : available_isas()) {
    for (int trial = 0; trial < 40; ++trial) {
      const LbLayout lay = trial % 3 == 2 ? LbLayout::trits : trial % 3 ? LbLayout::planes : LbLayout::fields;
      const int64_t bits = lay == LbLayout::trits ? 2
                           : lay == LbLayout::fields ? int64_t(1) << (rng() % 3) : 1 + int64_t(rng() % 4);
      const uint32_t levels = lay == LbLayout::trits ? 3u : 1u << bits;
      const int64_t M = 1 + rng() % 4, N = 1 + rng() % 150, K = 1 + rng() % 200;
      const int64_t R = lb_rows_per_block(lay, bits), blocks = (N + R - 1) / R, bb = lb_block_bytes(lay, bits, K);
      std::vector<uint8_t> u(size_t(N * K)), a(size_t(M * K)), data(size_t(blocks * bb), 0);
      for (auto& v : u) v = uint8_t(rng() % levels);
      for (auto& v : a) v = uint8_t(rng());
      std::vector<int> lo(size_t(blocks * bb), 0), hi(size_t(blocks * bb), 0);  // trits: base-3 halves
      std::vector<int32_t> rowsum(static_cast<size_t>(N), 0), out(size_t(M * N));
      for (int64_t r = 0; r < N; ++r)
        for (int64_t k = 0; k < K; ++k) {
          const uint8_t v = u[size_t(r * K + k)];
          rowsum[size_t(r)] += v;
          const int64_t b = r / R, i = r % R;
          const size_t at = size_t(b * bb + (k / 4) * 64 + (i % 16) * 4 + k % 4);
          if (lay == LbLayout::fields) {
            data[at] |= uint8_t(v << (bits * (i / 16)));
          } else if (lay == LbLayout::trits) {
            const int f = int(i / 16), p3[5] = {1, 3, 9, 1, 3};
            (f < 3 ? lo : hi)[at] += v * p3[f];
            const int l = lo[at], h = hi[at];  // lowbit_gemv_trits.h's byte, rewritten as the digits arrive
            data[at] = uint8_t(l <= 13 ? l + 14 * h : 128 | (26 - l + 14 * h));
          } else {
            const int64_t c = i / 16, l = i % 16, q = k / 32, st = (k % 32) / 8, t = k % 8;
            for (int64_t p = 0; p < bits; ++p)
              data[size_t(b * bb + (((q * bits + p) * 4 + c) * 8 + l / 2) * 8 + (l % 2) * 4 + st)] |=
                  uint8_t(((v >> p) & 1) << t);
          }
        }
      const int32_t za = int32_t(rng() % 256), off = -int32_t(rng() % 9);
      const LbWeight w{data.data(), lay, bits, N, K, rowsum.data(), K, 1, off};
      const LbCall c{a.data(), false, M, za, nullptr, nullptr, 1, out.data(), 1 + trial % 2};
      lowbit_gemv(isa, w, c);
      bool ok = true;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t r = 0; r < N; ++r) {
          int64_t ref = 0;
          for (int64_t k = 0; k < K; ++k)
            ref += (int64_t(a[size_t(m * K + k)]) - za) * (int64_t(u[size_t(r * K + k)]) + off);
          ok = ok && out[size_t(m * N + r)] == ref;
        }
      check(ok, "lowbit_gemv");
    }
  }
#if defined(__x86_64__)
  for (Isa isa : available_isas())
    if (isa == Isa::avx512) {
      std::vector<uint8_t> x(256), t1(32 * 64), t2(32 * 64);
      for (auto& v : x) v = uint8_t(rng());
      x[0] = 255;
      lb_build_tables_scalar(x.data(), 256, t1.data());
      lb_build_tables_avx512(x.data(), 256, t2.data());
      check(t1 == t2, "lb_build_tables_avx512");
    }
#endif
}

// Bit-serial GEMM: every variant, all three layouts, AND and XOR, p, q in 1..4 plus 8-bit activations, odd
// shapes (tails of the 3 x 8 / 2 x 4 / 2 x 2 tiles, K not a multiple of 64 or 512, several K chunks),
// against a plain int64 loop over the codes. Packing follows bitserial.h's layout formulas directly.
static void bitserial_variants() {
  std::mt19937 rng(6);
  for (Isa isa : available_isas()) {
    for (int trial = 0; trial < 48; ++trial) {
      const BsLayout lay = BsLayout(trial % 3);  // planes-outer, planes-interleaved, rows-interleaved
      // rows-interleaved W1A1 from K = 16384: the AVX-512 carry-save kernel (AND and XNOR)
      const bool long_w1 = trial == 44 || trial == 47;
      const bool bipolar = trial % 6 == 1 || trial == 28 || trial == 47;
      const bool chunks = trial % 23 == 5;  // activation planes past the AVX-512 kernel's 2 MiB: K chunks
      const int64_t p = bipolar || long_w1 ? 1 : 1 + int64_t(rng() % 4),
                    q = bipolar || long_w1 ? 1 : (chunks || trial % 7 == 0 ? 8 : 1 + int64_t(rng() % 4));
      const int64_t M = long_w1 ? 1 + rng() % 13 : chunks ? (bipolar ? 1100 : 150) : 1 + rng() % (trial % 5 == 0 ? 40 : 9);
      const int64_t N = long_w1 ? 1 + rng() % 13 : chunks ? 1 + rng() % 11 : 1 + rng() % 27;
      // 259 words (4-word steps, a pair, a single word) and 517 (two K chunks of 260 and 257 words)
      const int64_t K = long_w1 ? (trial == 44 ? 16384 + 129 : 32768 + 257) + int64_t(rng() % 63)
                        : chunks ? (bipolar ? 31000 : 14000) + rng() % 2000 : trial % 11 == 3 ? 2048 + rng() % 3000 : 1 + rng() % 1100;
      const int64_t blocks = (K + 511) / 512, words = (K + 63) / 64;
      const bool by_rows = lay == BsLayout::rows_interleaved;
      std::vector<uint8_t> ac(size_t(M * K)), wc(size_t(N * K));
      for (auto& v : ac) v = uint8_t(trial % 9 == 4 ? (1u << q) - 1 : rng() % (1u << q));
      for (auto& v : wc) v = uint8_t(trial % 9 == 4 ? (1u << p) - 1 : rng() % (1u << p));
      const int64_t am = by_rows ? (M + 7) / 8 * 8 * words : M * blocks * 8, wn = by_rows ? (N + 7) / 8 * 8 * words : N * blocks * 8;
      std::vector<uint64_t> ad(size_t(q * am), 0), wd(size_t(p * wn), 0);
      const BitPlanes a = make_planes(ad.data(), q, M, by_rows ? words : blocks, lay),
                      w = make_planes(wd.data(), p, N, by_rows ? words : blocks, lay);
      auto put = [](std::vector<uint64_t>& d, const BitPlanes& pl, int64_t j, int64_t r, int64_t kk) {
        const int64_t t = kk / 64;
        const int64_t at = pl.layout == BsLayout::rows_interleaved ? ((r / 8) * pl.bits + j) * pl.words * 8 + t * 8 + r % 8
                                                                   : j * pl.plane + r * pl.row + (t / 8) * pl.block + t % 8;
        d[size_t(at)] |= uint64_t(1) << (kk % 64);
      };
      for (int64_t r = 0; r < M; ++r)
        for (int64_t kk = 0; kk < K; ++kk)
          for (int64_t j = 0; j < q; ++j)
            if ((ac[size_t(r * K + kk)] >> j) & 1) put(ad, a, j, r, kk);
      for (int64_t r = 0; r < N; ++r)
        for (int64_t kk = 0; kk < K; ++kk)
          for (int64_t i = 0; i < p; ++i)
            if ((wc[size_t(r * K + kk)] >> i) & 1) put(wd, w, i, r, kk);
      std::vector<int32_t> out(size_t(M * N), -7);
      bitserial_gemm(isa, a, w, bipolar, K, out.data());
      bool ok = true;
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          int64_t ref = 0;
          for (int64_t kk = 0; kk < K; ++kk) {
            const int64_t x = ac[size_t(m * K + kk)], y = wc[size_t(n * K + kk)];
            ref += bipolar ? (2 * x - 1) * (2 * y - 1) : x * y;
          }
          ok = ok && out[size_t(m * N + n)] == ref;
        }
      check(ok, "bitserial_gemm");
    }
  }
}

int main() {
  std::printf("variants:");
  for (Isa isa : available_isas()) std::printf(" %s", isa_name(isa));
  std::printf("\n");
  rounding_rule();
  requantize_variants();
  gemm_variants();
  intops_variants();
  shift_lut_variants();
  intops_extra_variants();
  lowbit_gemv_variants();
  bitserial_variants();
  std::printf("selftest: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
