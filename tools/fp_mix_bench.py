"""Register-only throughput of AVX-512 op mixes (branch w3cb, issue 4): which ops share pipes on this core.
Writes a C++ file of inline-asm loops (16 independent copies of each mix per iteration, no loads unless the
mix has them), builds it and prints core cycles per unit (per lookup where the mix has one, else per op;
the clock from a dependent-add loop), medians and ranges of interleaved rounds. Not part of the build:
    python tools/fp_mix_bench.py [rounds] [mix,mix,...]

Ops: S vpsrld, P vpermps (table in a register), Q vpermps (table from L1), I vpermi2ps, F vfmadd231ps,
A vaddps, L aligned 64-byte load, U 64-byte load 1-3 bytes off (split over two lines), X:<template> any
other instruction ({t} destination, {s} the unit's last result, {src} a source, {tab} a table; a lookup
after it uses its result as the index, so "X+P" is cycles per op, two ops per unit). S, L, U and X feed
the next lookup; F and A accumulate the last result into one of 16 chains.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

MIXES = {
    "F": ["F"],
    "P": ["P"],
    "S": ["S"],
    "I": ["I"],
    "A": ["A"],
    "L": ["L"],
    "U": ["U"],
    "S+F": ["S", "F"],
    "S+P": ["S", "P"],
    "P+F": ["P", "F"],
    "A+F": ["A", "F"],
    "A+P": ["A", "P"],
    "Q+F": ["Q", "F"],
    "I+F": ["I", "F"],
    "S+P+F": ["S", "P", "F"],
    "P+P+F": ["P", "P", "F"],
    "P+F+F": ["P", "F", "F"],
    "P+F+A": ["P", "F", "A"],
    "L+P+F": ["L", "P", "F"],
    "U+P+F": ["U", "P", "F"],
    "U+Q+F": ["U", "Q", "F"],
    # one 3-bit chunk (10 fields): the kernel's 9 shifts; 2 or 3 of them replaced by byte-offset loads
    "kernel10": ["S", "P", "F"] * 9 + ["P", "F"],
    "loads2_10": ["S", "P", "F"] * 7 + ["U", "P", "F"] * 2 + ["P", "F"],
    "loads3_10": ["S", "P", "F"] * 6 + ["U", "P", "F"] * 3 + ["P", "F"],
    "noshift10": ["P", "F"] * 10,
}
OTHER = {
    "vpermd": "vpermd {tab}, {s}, {t}",
    "vpermilps": "vpermilps {s}, {tab}, {t}",
    "vpshufb": "vpshufb {s}, {tab}, {t}",
    "vpermw": "vpermw {tab}, {s}, {t}",
    "vpermb": "vpermb {tab}, {s}, {t}",
    "valignd": "valignd $3, {src}, {src}, {t}",
    "vpsrldq": "vpsrldq $3, {src}, {t}",
    "vpmovzxbd": "vpmovzxbd %%xmm5, {t}",
    "vpsrlq": "vpsrlq $3, {src}, {t}",
    "vpsrlw": "vpsrlw $3, {src}, {t}",
    "vpsrlvd": "vpsrlvd %%zmm7, {src}, {t}",
    "vpshrdd": "vpshrdd $3, {src}, {src}, {t}",
    "vprold": "vprold $3, {src}, {t}",
    "vpandd": "vpandd {src}, %%zmm6, {t}",
    "vpternlogd": "vpternlogd $0x96, %%zmm6, %%zmm7, {t}",
    "vmulps": "vmulps {src}, %%zmm6, {t}",
    "vpmultishiftqb": "vpmultishiftqb {src}, %%zmm6, {t}",
    "vpsravd": "vpsravd %%zmm7, {src}, {t}",
    "vpsrld_xmm": "vpsrld %%xmm7, {src}, {t}",
    "vpsrlvq": "vpsrlvq %%zmm7, {src}, {t}",
    "vpaddd": "vpaddd {src}, %%zmm6, {t}",
    "vpmovzxwd": "vpmovzxwd %%ymm5, {t}",
    "vpackusdw": "vpackusdw {src}, %%zmm6, {t}",
}
for _n, _tpl in OTHER.items():
    MIXES[_n] = ["X:" + _tpl]
    MIXES[_n + "+F"] = ["X:" + _tpl, "F"]
    MIXES[_n + "+P"] = ["X:" + _tpl, "P"]


def _loop(name: str, ops: list[str]) -> str:
    # zmm0-3 tables, zmm4-7 sources, zmm8-15 results (round robin), zmm16-31 FMA / add accumulators
    lines = []
    t, a, src = 8, 16, 4
    for u in range(16):
        last = idx = src  # last result (for F, A, X); the index for the next lookup
        for op in ops:
            if op == "S":
                lines.append(f"vpsrld $3, %%zmm{src}, %%zmm{t}")
            elif op == "L":
                lines.append(f"vmovdqu32 {64 * (u % 8)}(%[m]), %%zmm{t}")
            elif op == "U":
                lines.append(f"vmovdqu32 {64 * (u % 8) + 1 + u % 3}(%[m]), %%zmm{t}")
            elif op == "P":
                lines.append(f"vpermps %%zmm{u % 4}, %%zmm{idx}, %%zmm{t}")
            elif op == "Q":
                lines.append(f"vpermps {64 * (u % 4)}(%[m]), %%zmm{idx}, %%zmm{t}")
            elif op == "I":  # vpermi2ps overwrites its index: a fresh one from L1 unless the mix loads it
                if idx == src:
                    lines.append(f"vmovdqu32 {64 * (u % 8)}(%[m]), %%zmm{t}")
                lines.append(f"vpermi2ps %%zmm1, %%zmm0, %%zmm{t}")
            elif op.startswith("X:"):
                tpl = op[2:]
                lines.append(
                    tpl.format(t=f"%%zmm{t}", s=f"%%zmm{last}", tab=f"%%zmm{u % 4}", src=f"%%zmm{src}")
                )
            elif op in ("F", "A"):
                ins = "vfmadd231ps %%zmm5" if op == "F" else "vaddps %%zmm6"
                lines.append(f"{ins}, %%zmm{last}, %%zmm{a}")
                a = 16 + (a - 15) % 16
                continue
            last = t
            # a lookup's result is no index: the next lookup of the unit reads the source again
            idx = t if op in ("S", "L", "U") or op.startswith("X:") else src
        t = 8 + (t - 7) % 8
        src = 4 + (src - 3) % 4
    lookups = sum(1 for o in ops if o in ("P", "Q", "I") or o.startswith("X:"))
    units = 16 * max(1, lookups)
    body = "\n".join(f'"{x}\\n"' for x in lines)
    clob = ",".join(f'"xmm{i}"' for i in range(8, 32))
    return f"""
static double run_{name}(int64_t iters) {{
  int64_t n = iters;
  const auto t0 = std::chrono::steady_clock::now();
  __asm__ volatile("1:\\n" {body} "dec %[n]\\n jnz 1b\\n"
                   : [n] "+r"(n) : [m] "r"(mem) : "memory", "cc", {clob});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s / (double(iters) * {units});
}}"""


def _ident(name: str) -> str:
    return name.replace("+", "_")


def render(mixes: dict) -> str:
    out = [
        "#include <algorithm>\n#include <chrono>\n#include <cstdint>\n#include <cstdio>\n#include <cstdlib>\n"
        "#include <vector>\nalignas(64) static char mem[4096];"
    ]
    out += [_loop(_ident(n), ops) for n, ops in mixes.items()]
    adds = " ".join(['"add $1, %[x]\\n"'] * 64)
    out.append(
        "static double run_cal(int64_t iters) {\n  int64_t n = iters, x = 0;\n"
        "  const auto t0 = std::chrono::steady_clock::now();\n"
        f'  __asm__ volatile("1:\\n" {adds} "dec %[n]\\n jnz 1b\\n" : [n] "+r"(n), [x] "+r"(x)::"cc");\n'
        "  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();\n"
        "  return s / (double(iters) * 64);\n}"
    )
    table = ", ".join(f'{{"{n}", run_{_ident(n)}, {{}}}}' for n in mixes)
    out.append(
        "int main(int argc, char** argv) {\n  const int64_t it = 200000;\n"
        "  const int R = argc > 1 ? atoi(argv[1]) : 9;\n"
        "  struct V { const char* n; double (*f)(int64_t); std::vector<double> t; };\n"
        f"  std::vector<V> vs = {{{table}}};\n"
        "  for (int r = 0; r < R; ++r)\n    for (auto& v : vs) {\n      const double c = run_cal(it);\n"
        "      v.t.push_back(v.f(it) / c);\n    }\n"
        "  for (auto& v : vs) {\n    std::sort(v.t.begin(), v.t.end());\n"
        '    std::printf("%-14s %.3f cycles per unit [%.3f, %.3f]\\n",\n'
        "                v.n, v.t[v.t.size() / 2], v.t[0], v.t.back());\n"
        "  }\n}\n"
    )
    return "\n".join(out)


def main() -> None:
    rounds = sys.argv[1] if len(sys.argv) > 1 else "9"
    mixes = MIXES
    if len(sys.argv) > 2:
        mixes = {n: MIXES[n] for n in sys.argv[2].split(",")}
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d) / "mix.cpp", Path(d) / "mix"
        src.write_text(render(mixes))
        # -march only for the assembler to accept every AVX-512 extension used; the code is the asm
        subprocess.run(
            ["g++", "-O2", "-std=c++17", "-march=icelake-server", str(src), "-o", str(exe)], check=True
        )
        subprocess.run([str(exe), rounds], check=True)


if __name__ == "__main__":
    main()
