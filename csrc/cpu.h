// Which instruction-set variant of a kernel runs. Kernels come in one translation unit per ISA,
// each compiled with its own flags; the dispatcher picks the best one the CPU supports unless the
// caller (or LOWBIT_ISA in the environment) forces one.
#pragma once
#include <string>
#include <vector>

namespace lowbit {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };

const char* isa_name(Isa isa);
// Variants this CPU can run, scalar first, best last.
std::vector<Isa> available_isas();
// The best available variant, or the one LOWBIT_ISA names (throws if the CPU lacks it).
Isa default_isa();
// Parses "scalar" / "avx2" / "avx512" / "neon" / "auto"; throws std::invalid_argument otherwise or
// when the CPU cannot run it.
Isa parse_isa(const std::string& name);
// CPU feature flags that kernels care about, for `lowbit probe` and bug reports.
std::vector<std::string> cpu_features();

}  // namespace lowbit
