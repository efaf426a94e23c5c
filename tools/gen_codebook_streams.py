"""Writes the experimental loops of the codebook GEMV's read-stream study (branch cbstream, issue 4) to a
header for tools/codebook_streams_ab.cpp (not part of the build; the kernel is tools/gen_codebook_asm.py's):

- cb_streams_asm{3,4}{suffix}: the kernel's loop over `streams` concurrent streams of a K-block's tiles
  (tile i of each stream in turn; stream s starts `stride` tiles after stream s - 1),
- cb_quads_asm{3,4}{suffix}: the same, switched every 4 chunks (tables and sums reloaded),
- cb_rows_asm{3,4}{suffix}: a tile's 4 rows from 4 streams, 64 bytes of each per chunk,

each with another software prefetch distance / hint (suffix). Run:
    python tools/gen_codebook_streams.py /tmp/cbs/var_asm.h
"""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("g", Path(__file__).with_name("gen_codebook_asm.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)


def block(bits: int, chunks: int, ahead: int = g.AHEAD, hint: str = "t0") -> list[str]:
    """`chunks` chunks of the 4-row tile, field n of the block into chain n % 4, then the fold."""
    f = 10 if bits == 3 else 8
    out = []
    for h in range(chunks):
        out += [f"vmovdqu32 {64 * i}(%[p]), {g._z(12 + i)}" for i in range(4)]
        if ahead:
            out += [f"prefetch{hint} {ahead + 64 * i}(%[p])" for i in range(4)]
        for j in range(f):
            n = h * f + j
            x = 20 + j % 2
            out.append(f"vmovups {64 * j}(%[x]), {g._z(x)}")
            for i in range(4):
                idx = g._z(12 + i)
                if j:
                    out.append(f"vpsrld ${bits * j}, {g._z(12 + i)}, {g._z(22 + i)}")
                    idx = g._z(22 + i)
                out.append(f"vpermps {g._z(i)}, {idx}, {g._z(22 + i)}")
                op = "vmulps" if n < 4 else "vfmadd231ps"
                out.append(f"{op} {g._z(x)}, {g._z(22 + i)}, {g._z(g.CHAINS[n % 4][i])}")
        out += ["add $256, %[p]", f"add ${64 * f}, %[x]"]
    return out + g._fold()


def streams_kernel(bits: int, ahead: int = g.AHEAD, suffix: str = "") -> str:
    clobbers = ", ".join(f'"xmm{i}"' for i in range(32))
    return f"""
// {bits}-bit: `streams` x `tiles` full 4-row tiles of one K-block, `chunks` chunks each, stored one after the
// other from p; activations x (the K-block's); tables tabs [..][4][16]; adds to acc [..][16] (4 float64
// partial sums per row, rows 0-1 first). Tile i of stream s is the (s stride + i)-th (stride 0: `tiles`):
// the loop runs tile i of every stream, then tile i + 1, so the data is read as `streams` concurrent
// sequential streams (one stream with streams = 1). Prefetches {ahead} bytes ahead of each.
inline void cb_streams_asm{bits}{suffix}(const char* p, const float* x, const float* tabs, double* acc,
                            int64_t tiles, int64_t chunks, int64_t streams = 1, int64_t stride = 0) {{
  const int64_t tile_bytes = chunks * 256, d = stride ? stride : tiles;
  // x0, quads, rem, streams; then the steps from tile (s, i) to (s + 1, i) and from (streams, i) to
  // (0, i + 1) of the data (from the tile's end), table and accumulator pointers
  const int64_t c[10] = {{int64_t(x), chunks / 4, chunks % 4, streams, (d - 1) * tile_bytes, d * 256,
                          d * 128, tile_bytes - streams * d * tile_bytes, 256 - streams * d * 256,
                          128 - streams * d * 128}};
  int64_t n = 0, sc = 0;
  const float* xc = x;
  __asm__ volatile(
      "1:\\n mov 24(%[c]), %[sc]\\n"
      "6:\\n"
      "vmovups 0(%[t]), %%zmm0\\n vmovups 64(%[t]), %%zmm1\\n vmovups 128(%[t]), %%zmm2\\n"
      "vmovups 192(%[t]), %%zmm3\\n vmovupd (%[o]), %%zmm16\\n vmovupd 64(%[o]), %%zmm17\\n"
      "mov 0(%[c]), %[x]\\n mov 8(%[c]), %[n]\\n test %[n], %[n]\\n jz 3f\\n"
      "2:\\n"
{g._quote(block(bits, 4, ahead))}
      "dec %[n]\\n jnz 2b\\n"
      "3:\\n testq $2, 16(%[c])\\n jz 4f\\n"
{g._quote(block(bits, 2, ahead))}
      "4:\\n testq $1, 16(%[c])\\n jz 5f\\n"
{g._quote(block(bits, 1, ahead))}
      "5:\\n vmovupd %%zmm16, (%[o])\\n vmovupd %%zmm17, 64(%[o])\\n"
      "add 32(%[c]), %[p]\\n add 40(%[c]), %[t]\\n add 48(%[c]), %[o]\\n dec %[sc]\\n jnz 6b\\n"
      "add 56(%[c]), %[p]\\n add 64(%[c]), %[t]\\n add 72(%[c]), %[o]\\n dec %[tiles]\\n jnz 1b\\n"
      : [p] "+&r"(p), [x] "+&r"(xc), [n] "+&r"(n), [sc] "+&r"(sc), [t] "+&r"(tabs), [o] "+&r"(acc),
        [tiles] "+&r"(tiles)
      : [c] "r"(c)
      : "memory", "cc", {clobbers});
}}
"""


def quads_kernel(bits: int, ahead: int = g.AHEAD, hint: str = "t0", suffix: str = "") -> str:
    clobbers = ", ".join(f'"xmm{i}"' for i in range(32))
    xq = 4 * 64 * (10 if bits == 3 else 8)
    return f"""
// {bits}-bit, `streams` streams at once, switched every 4 chunks: tile i of stream s is the (s stride + i)-th
// of the K-block's full tiles (`chunks` chunks each, a multiple of 4); the loop runs 4 chunks of tile i of
// each stream in turn (tables and sums reloaded), then the next 4 chunks, then tile i + 1. Otherwise as
// cb_streams_asm{bits}. Prefetch{hint} {ahead} bytes ahead in each stream.
inline void cb_quads_asm{bits}{suffix}(const char* p, const float* x, const float* tabs, double* acc,
                            int64_t tiles, int64_t chunks, int64_t streams, int64_t stride) {{
  const int64_t sb = stride * chunks * 256;
  const int64_t c[9] = {{int64_t(x), chunks / 4, streams, sb - 1024, stride * 256, stride * 128,
                         1024 - streams * sb, -streams * stride * 256, -streams * stride * 128}};
  int64_t n = 0, sc = 0;
  const float* xc = x;
  __asm__ volatile(
      "1:\\n mov 0(%[c]), %[x]\\n mov 8(%[c]), %[n]\\n"
      "2:\\n mov 16(%[c]), %[sc]\\n"
      "6:\\n"
      "vmovups 0(%[t]), %%zmm0\\n vmovups 64(%[t]), %%zmm1\\n vmovups 128(%[t]), %%zmm2\\n"
      "vmovups 192(%[t]), %%zmm3\\n vmovupd (%[o]), %%zmm16\\n vmovupd 64(%[o]), %%zmm17\\n"
{g._quote(block(bits, 4, ahead, hint))}
      "vmovupd %%zmm16, (%[o])\\n vmovupd %%zmm17, 64(%[o])\\n sub ${xq}, %[x]\\n"
      "add 24(%[c]), %[p]\\n add 32(%[c]), %[t]\\n add 40(%[c]), %[o]\\n dec %[sc]\\n jnz 6b\\n"
      "add 48(%[c]), %[p]\\n add 56(%[c]), %[t]\\n add 64(%[c]), %[o]\\n add ${xq}, %[x]\\n"
      "dec %[n]\\n jnz 2b\\n"
      "add $256, %[t]\\n add $128, %[o]\\n dec %[tiles]\\n jnz 1b\\n"
      : [p] "+&r"(p), [x] "+&r"(xc), [n] "+&r"(n), [sc] "+&r"(sc), [t] "+&r"(tabs), [o] "+&r"(acc),
        [tiles] "+&r"(tiles)
      : [c] "r"(c)
      : "memory", "cc", {clobbers});
}}
"""


def block_rs(bits: int, chunks: int, ahead: int, hint: str, pf_every: int = 1) -> list[str]:
    """As _block, row i's chunk from stream i (p + i * q1), each stream 64 bytes per chunk."""
    f = 10 if bits == 3 else 8
    out = []
    addr = ["(%[p])", "(%[p],%[q1])", "(%[p],%[q1],2)", "(%[p],%[q3])"]
    for h in range(chunks):
        out += [f"vmovdqu32 {64 * h}{addr[i]}, {g._z(12 + i)}" for i in range(4)]
        if ahead and h % pf_every == 0:
            out += [f"prefetch{hint} {ahead + 64 * h}{addr[i]}" for i in range(4)]
        for j in range(f):
            n = h * f + j
            x = 20 + j % 2
            out.append(f"vmovups {64 * j}(%[x]), {g._z(x)}")
            for i in range(4):
                idx = g._z(12 + i)
                if j:
                    out.append(f"vpsrld ${bits * j}, {g._z(12 + i)}, {g._z(22 + i)}")
                    idx = g._z(22 + i)
                out.append(f"vpermps {g._z(i)}, {idx}, {g._z(22 + i)}")
                op = "vmulps" if n < 4 else "vfmadd231ps"
                out.append(f"{op} {g._z(x)}, {g._z(22 + i)}, {g._z(g.CHAINS[n % 4][i])}")
        out += [f"add ${64 * f}, %[x]"]
    return out + [f"add ${64 * chunks}, %[p]"] + g._fold()


def rows_kernel(
    bits: int, ahead: int = g.AHEAD, hint: str = "t0", suffix: str = "", pf_every: int = 1
) -> str:
    clobbers = ", ".join(f'"xmm{i}"' for i in range(32))
    return f"""
// {bits}-bit, a tile's 4 rows from 4 streams q1 bytes apart (row i's chunk c of tile t at
// p + i q1 + 64 (t chunks + c)); otherwise as cb_streams_asm{bits} with streams = 1
inline void cb_rows_asm{bits}{suffix}(const char* p, const float* x, const float* tabs, double* acc,
                            int64_t tiles, int64_t chunks, int64_t q1) {{
  const int64_t quads = chunks / 4, rem = chunks % 4, q3 = 3 * q1;
  int64_t n = 0;
  const float* xc = x;
  __asm__ volatile(
      "1:\\n"
      "vmovups 0(%[t]), %%zmm0\\n vmovups 64(%[t]), %%zmm1\\n vmovups 128(%[t]), %%zmm2\\n"
      "vmovups 192(%[t]), %%zmm3\\n vmovupd (%[o]), %%zmm16\\n vmovupd 64(%[o]), %%zmm17\\n"
      "mov %[x0], %[x]\\n mov %[q], %[n]\\n test %[n], %[n]\\n jz 3f\\n"
      "2:\\n"
{g._quote(block_rs(bits, 4, ahead, hint, pf_every))}
      "dec %[n]\\n jnz 2b\\n"
      "3:\\n test $2, %[rem]\\n jz 4f\\n"
{g._quote(block_rs(bits, 2, ahead, hint, pf_every))}
      "4:\\n test $1, %[rem]\\n jz 5f\\n"
{g._quote(block_rs(bits, 1, ahead, hint, pf_every))}
      "5:\\n vmovupd %%zmm16, (%[o])\\n vmovupd %%zmm17, 64(%[o])\\n"
      "add $256, %[t]\\n add $128, %[o]\\n dec %[tiles]\\n jnz 1b\\n"
      : [p] "+&r"(p), [x] "+&r"(xc), [n] "+&r"(n), [t] "+&r"(tabs), [o] "+&r"(acc), [tiles] "+&r"(tiles)
      : [x0] "r"(x), [q] "r"(quads), [rem] "r"(rem), [q1] "r"(q1), [q3] "r"(q3)
      : "memory", "cc", {clobbers});
}}
"""


def render() -> str:
    out = "// Generated by tools/gen_codebook_streams.py (experiments, not the kernel)\n"
    out += "// clang-format off\n#pragma once\n#include <cstdint>\n\nnamespace lowbit {\n"
    for bits in (3, 4):
        for ahead, suffix in ((8192, ""), (0, "_a0k"), (4096, "_a4k"), (16384, "_a16k")):
            out += streams_kernel(bits, ahead, suffix)
        for ahead, hint, suffix in (
            (8192, "t0", "_q8k"),
            (2048, "t0", "_q2k"),
            (4096, "t0", "_q4k"),
            (8192, "t1", "_q8kt1"),
            (16384, "t1", "_q16kt1"),
            (0, "t0", "_q0k"),
            (8192, "t2", "_q8kt2"),
        ):
            out += quads_kernel(bits, ahead, hint, suffix)
        for ahead, hint, suffix, every in (
            (2048, "t0", "_r2k", 1),
            (512, "t0", "_r512", 1),
            (1024, "t0", "_r1k", 1),
            (0, "t0", "_r0", 1),
            (2048, "t1", "_r2kt1", 1),
            (4096, "t1", "_r4kt1", 1),
            (2048, "t0", "_r2kh", 2),
        ):
            out += rows_kernel(bits, ahead, hint, suffix, every)
    return out + "\n}  // namespace lowbit\n"


if __name__ == "__main__":
    Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cbs/var_asm.h").write_text(render())
