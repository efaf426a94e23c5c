#include "cpu.h"

#include <cstdlib>
#include <stdexcept>

#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace lowbit {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "?";
}

#if defined(__x86_64__) || defined(_M_X64)
static bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
// Our AVX-512 variant is the Ice Lake / Zen 4 set: F, BW, DQ, VL, VNNI, and VBMI and VPOPCNTDQ, which the
// AVX-512 files are compiled with and use (vpermt2b, vpermi2b, vpopcntq): a Cascade Lake (VNNI without
// VBMI) takes the AVX2 variant instead of an illegal instruction.
static bool has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi") &&
         __builtin_cpu_supports("avx512vpopcntdq");
}
std::vector<std::string> cpu_features() {
  std::vector<std::string> f;
  __builtin_cpu_init();
#define LOWBIT_FEATURE(name) \
  if (__builtin_cpu_supports(name)) f.push_back(name);
  LOWBIT_FEATURE("sse4.2") LOWBIT_FEATURE("avx") LOWBIT_FEATURE("avx2") LOWBIT_FEATURE("fma")
  LOWBIT_FEATURE("avx512f") LOWBIT_FEATURE("avx512bw") LOWBIT_FEATURE("avx512dq")
  LOWBIT_FEATURE("avx512vl") LOWBIT_FEATURE("avx512vnni") LOWBIT_FEATURE("avx512vbmi")
  LOWBIT_FEATURE("avx512vpopcntdq") LOWBIT_FEATURE("avx512bitalg")
#undef LOWBIT_FEATURE
  return f;
}
std::vector<Isa> available_isas() {
  __builtin_cpu_init();
  std::vector<Isa> v{Isa::scalar};
  if (has_avx2()) v.push_back(Isa::avx2);
  if (has_avx512()) v.push_back(Isa::avx512);
  return v;
}
#elif defined(__aarch64__)
// Our "neon" variant uses the dot-product extension (sdot, ARMv8.2+), which not every core has.
static bool has_dotprod() { return getauxval(AT_HWCAP) & HWCAP_ASIMDDP; }
std::vector<std::string> cpu_features() {
  std::vector<std::string> f{"neon"};
  if (has_dotprod()) f.push_back("dotprod");
  return f;
}
std::vector<Isa> available_isas() {
  if (has_dotprod()) return {Isa::scalar, Isa::neon};
  return {Isa::scalar};
}
#else
std::vector<std::string> cpu_features() { return {}; }
std::vector<Isa> available_isas() { return {Isa::scalar}; }
#endif

Isa parse_isa(const std::string& name) {
  auto avail = available_isas();
  if (name.empty() || name == "auto") return avail.back();
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon}) {
    if (name != isa_name(isa)) continue;
    for (Isa a : avail)
      if (a == isa) return isa;
    throw std::invalid_argument("isa: this CPU cannot run the '" + name + "' variant");
  }
  throw std::invalid_argument("isa: expected one of auto, scalar, avx2, avx512, neon, got '" + name +
                              "'");
}

Isa default_isa() {
  const char* env = std::getenv("LOWBIT_ISA");
  return parse_isa(env ? env : "auto");
}

}  // namespace lowbit
