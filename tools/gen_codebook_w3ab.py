"""Writes the experimental loops of the 3-bit codebook GEMV study (branch w3cb, issue 4) to a header for
tools/codebook_w3ab.cpp (not part of the build; the kernel is tools/gen_codebook_asm.py's). Each variant is
the kernel's tile loop (cb_tiles_asm3's signature) with one knob changed; some drop work and compute
wrong sums on purpose, to price that work (the harness checks only those marked exact). Run:
    python tools/gen_codebook_w3ab.py /tmp/w3cb/w3ab_asm.h
"""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("g", Path(__file__).with_name("gen_codebook_asm.py"))
g = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(g)
_z = g._z


def fold_variant(o: dict) -> list[str]:
    """The fold, or (timing only, wrong sums) a part of it."""
    fold = g._fold()
    v = o.get("fold", True)
    if v is True:
        return fold
    if v is False:
        return []
    if v == "nocvt":  # the 4-lane sums added in float32, no float64 conversion
        return fold[:-5] + ["vaddps %%zmm16, " + _z(g.CHAINS[0][0]) + ", %%zmm16"]
    if v == "merges":  # the chain merges alone
        return fold[:12]
    if v == "m4":
        return fold[:4]
    if v == "notree":  # merges, then each row to float64 without the shuffle tree
        out = fold[:12]
        for i in range(4):
            a = g.CHAINS[0][i]
            out += [
                f"vextractf32x8 $1, {_z(a)}, %%ymm22",
                f"vaddps %%ymm22, {g._y(a)}, %%ymm22",
                "vcvtps2pd %%ymm22, %%zmm22",
                "vaddpd %%zmm16, %%zmm22, %%zmm16",
            ]
        return out
    raise ValueError(v)


def block(bits: int, chunks: int, o: dict) -> list[str]:
    f = 10 if bits == 3 else 8
    ahead = o.get("pf", g.AHEAD)
    out = []
    for h in range(chunks):
        if o.get("dload", True):
            out += [f"vmovdqu32 {64 * i}(%[p]), {_z(12 + i)}" for i in range(4)]
        if ahead:
            out += [f"prefetch{o.get('hint', 't0')} {ahead + 64 * i}(%[p])" for i in range(4)]
        for r in o.get("reloads", ()):  # (timing only) each row's line loaded again at byte r, unused
            out += [f"vmovdqu32 {64 * i + r}(%[p]), %%zmm22" for i in range(4)]
        if "pf2" in o:  # a second prefetch stream: (distance, hint)
            out += [f"prefetch{o['pf2'][1]} {o['pf2'][0] + 64 * i}(%[p])" for i in range(4)]
        for j in range(f):
            n = h * f + j
            x = 20 + j % 2
            if o.get("xload", True) and not o.get("xmem"):
                out.append(f"vmovups {64 * j}(%[x]), {_z(x)}")
            for i in range(4):
                idx = _z(12 + i)
                how = o["how"][j] if "how" in o else ("S", bits * j)
                if how[0] == "S" and how[1]:
                    if o.get("noshift"):
                        idx = _z(12 + i)
                    else:
                        out.append(f"vpsrld ${how[1]}, {_z(12 + i)}, {_z(22 + i)}")
                        idx = _z(22 + i)
                tab = _z(i)
                if how[0] == "M":  # memory-operand shift of the data (the load folded into the shift)
                    out.append(f"vpsrld ${how[1]}, {64 * i}(%[p]), {_z(22 + i)}")
                    idx = _z(22 + i)
                if not o.get("noperm"):
                    out.append(f"vpermps {tab}, {idx}, {_z(22 + i)}")
                op = "vmulps" if n < 4 else "vfmadd231ps"
                xo = f"{64 * j}(%[x])" if o.get("xmem") else _z(x)
                if not o.get("nofma"):
                    out.append(f"{op} {xo}, {_z(22 + i)}, {_z(g.CHAINS[n % 4][i])}")
        out += ["add $256, %[p]", f"add ${64 * f}, %[x]"]
    return out + fold_variant(o)


T1REG = [21, 23, 24, 25]  # T1 tables (c[(i >> 1) & 7]) when x and the temps take fewer registers


def block_l(bits: int, chunks: int, o: dict) -> list[str]:
    """Fields at positions o["pos"]; those in o["loads"] (bit 0 or 1 of a byte) from a byte-offset load
    and table T0 / T1, the others shifted; x in zmm20 only, temps o["tmp"] per row."""
    pos = o["pos"]
    ahead = o.get("pf", g.AHEAD)
    tmp = o.get("tmp", [22, 22, 22, 22])
    out = []
    for h in range(chunks):
        out += [f"vmovdqu32 {64 * i}(%[p]), {_z(12 + i)}" for i in range(4)]
        if ahead:
            out += [f"prefetcht0 {ahead + 64 * i}(%[p])" for i in range(4)]
        dep = o.get("dep")
        if dep == "row3":  # offset loads wait for row 3's line: their address depends on its data
            out += ["vmovd %%xmm15, %k[d]", "and $0, %k[d]"]
        for j, q in enumerate(pos):
            n = h * len(pos) + j
            out.append(f"vmovups {64 * j}(%[x]), {_z(20)}")
            for i in range(4):
                t = _z(tmp[i])
                tab = _z(i)
                if q == 0:
                    idx = _z(12 + i)
                elif q in o.get("loads", ()):
                    addr = "(%[p])" if not dep else "(%[p],%[d])"
                    out.append(f"vmovdqu32 {64 * i + q // 8}{addr}, {t}")
                    idx = t
                    tab = _z(i) if q % 8 == 0 else _z(T1REG[i])
                else:
                    out.append(f"vpsrld ${q}, {_z(12 + i)}, {t}")
                    idx = t
                out.append(f"vpermps {tab}, {idx}, {t}")
                op = "vmulps" if n < 4 else "vfmadd231ps"
                out.append(f"{op} {_z(20)}, {t}, {_z(g.CHAINS[n % 4][i])}")
        out += ["add $256, %[p]", f"add ${64 * len(pos)}, %[x]"]
    return out + fold_variant(o)


def block_o(bits: int, chunks: int, o: dict) -> list[str]:
    """The kernel's work in another issue order (o["order"]): "grp" = per field the 4 shifts, then the 4
    lookups (in place), then the 4 FMAs; "pair" = per row two fields' shifts, lookups, FMAs."""
    f = 10
    ahead = o.get("pf", g.AHEAD)
    tmp = [21, 23, 24, 25]
    out = []
    for h in range(chunks):
        out += [f"vmovdqu32 {64 * i}(%[p]), {_z(12 + i)}" for i in range(4)]
        if ahead:
            out += [f"prefetcht0 {ahead + 64 * i}(%[p])" for i in range(4)]

        def spf(j, i, t, h=h):
            n = h * f + j
            src = _z(12 + i)
            ins = []
            if j:
                ins.append(f"vpsrld ${3 * j}, {src}, {_z(t)}")
                src = _z(t)
            p_ = f"vpermps {_z(i)}, {src}, {_z(t)}"
            op = "vmulps" if n < 4 else "vfmadd231ps"
            xr = _z(20 + j % 2) if o["order"] == "pair" else _z(20)
            f_ = f"{op} {xr}, {_z(t)}, {_z(g.CHAINS[n % 4][i])}"
            return ins, p_, f_

        if o["order"] == "grp":
            for j in range(f):
                out.append(f"vmovups {64 * j}(%[x]), {_z(20)}")
                parts = [spf(j, i, tmp[i]) for i in range(4)]
                for ins, _, _ in parts:
                    out += ins
                out += [p_ for _, p_, _ in parts]
                out += [f_ for _, _, f_ in parts]
        else:  # pair: x in zmm20 / zmm21, temps 22 and 23..25 (two per row in turn)
            for j in range(0, f, 2):
                out.append(f"vmovups {64 * j}(%[x]), {_z(20)}")
                out.append(f"vmovups {64 * (j + 1)}(%[x]), {_z(21)}")
                for i in range(4):
                    a = spf(j, i, 22)
                    b = spf(j + 1, i, 23 + i % 3)
                    out += a[0] + b[0] + [a[1], b[1], a[2], b[2]]
        out += ["add $256, %[p]", f"add ${64 * f}, %[x]"]
    return out + fold_variant(o)


SETB = [21, 23, 24, 25]


def block_p(bits: int, chunks: int, o: dict) -> list[str]:
    """The kernel's work with each chunk's data loaded one chunk earlier (into the other of two register
    sets, zmm12-15 / SETB; x in zmm20, temps in zmm22). chunks == 4: the loop body (chunk 0 preloaded
    in set A, loads the next block's chunk 0 at its end); otherwise loads its own data."""
    f = 10
    ahead = o.get("pf", g.AHEAD)
    out = []
    piped = chunks == 4
    sets = [[12, 13, 14, 15], SETB]
    for h in range(chunks):
        cur = sets[h % 2] if piped else sets[0]
        if piped:
            nxt = sets[(h + 1) % 2]
            out += [f"vmovdqu32 {256 + 64 * i}(%[p]), {_z(nxt[i])}" for i in range(4)]
        else:
            out += [f"vmovdqu32 {64 * i}(%[p]), {_z(cur[i])}" for i in range(4)]
        if ahead:
            out += [f"prefetcht0 {ahead + 64 * i}(%[p])" for i in range(4)]
        for j in range(f):
            n = h * f + j
            out.append(f"vmovups {64 * j}(%[x]), %%zmm20")
            for i in range(4):
                idx = _z(cur[i])
                if j:
                    out.append(f"vpsrld ${3 * j}, {_z(cur[i])}, %%zmm22")
                    idx = "%%zmm22"
                out.append(f"vpermps {_z(i)}, {idx}, %%zmm22")
                op = "vmulps" if n < 4 else "vfmadd231ps"
                out.append(f"{op} %%zmm20, %%zmm22, {_z(g.CHAINS[n % 4][i])}")
        out += ["add $256, %[p]", f"add ${64 * f}, %[x]"]
    return out + fold_variant(o)


def kernel(bits: int, name: str, o: dict) -> str:
    clobbers = ", ".join(f'"xmm{i}"' for i in range(32))
    blk = block_l if "pos" in o else block_o if "order" in o else block
    tstep, ostep, pre2 = o.get("tstep", 256), o.get("ostep", 128), o.get("pre2", "")
    t1 = ""
    if o.get("pipe"):
        blk = block_p
        t1 = g._quote([f"vmovdqu32 {64 * i}(%[p]), {_z(12 + i)}" for i in range(4)]) + "\n"
    if "pos" in o:  # T1[i] = T0[i >> 1], made from T0 at each tile
        t1 = ["vmovdqu32 (%[s1]), %%zmm22"] + [f"vpermps {_z(i)}, %%zmm22, {_z(T1REG[i])}" for i in range(4)]
        t1 = g._quote(t1) + "\n"
    return f"""
inline void {name}(const char* p, const float* x, const float* tabs, double* acc, int64_t tiles,
                            int64_t chunks) {{
  const int64_t quads = chunks / 4, rem = chunks % 4;
  int64_t n = 0, dz = 0;
  const float* xc = x;
  __asm__ volatile(
      "1:\\n"
      "vmovups 0(%[t]), %%zmm0\\n vmovups 64(%[t]), %%zmm1\\n vmovups 128(%[t]), %%zmm2\\n"
      "vmovups 192(%[t]), %%zmm3\\n vmovupd (%[o]), %%zmm16\\n vmovupd 64(%[o]), %%zmm17\\n"
{t1}      "mov %[x0], %[x]\\n mov %[q], %[n]\\n test %[n], %[n]\\n jz 3f\\n"
{pre2}      "2:\\n"
{g._quote(blk(bits, 4, o))}
      "dec %[n]\\n jnz 2b\\n"
      "3:\\n test $2, %[rem]\\n jz 4f\\n"
{g._quote(blk(bits, 2, o))}
      "4:\\n test $1, %[rem]\\n jz 5f\\n"
{g._quote(blk(bits, 1, o))}
      "5:\\n vmovupd %%zmm16, (%[o])\\n vmovupd %%zmm17, 64(%[o])\\n"
      "add ${tstep}, %[t]\\n add ${ostep}, %[o]\\n dec %[tiles]\\n jnz 1b\\n"
      : [p] "+&r"(p), [x] "+&r"(xc), [n] "+&r"(n), [t] "+&r"(tabs), [o] "+&r"(acc), [tiles] "+&r"(tiles),
        [d] "+&r"(dz)
      : [x0] "r"(x), [q] "r"(quads), [rem] "r"(rem), [s1] "r"(kHalfIdx)
      : "memory", "cc", {clobbers});
}}
"""


# name -> (knobs, exact: computes the kernel's sums bit for bit). Timing-only ones drop or fake work.
_CUR = [3 * j for j in range(10)]  # the LBC2 field positions
_NEW = [0, 3, 6, 9, 12, 16, 19, 22, 25, 28]  # a layout with 4 fields at bit 0 or 1 of a byte
VARIANTS = {
    "v_base": ({}, True),
    # what each piece costs (wrong sums)
    "v_nopf": ({"pf": 0}, True),
    "v_nofold": ({"fold": False}, False),
    "f_nocvt": ({"fold": "nocvt"}, False),
    "f_merges": ({"fold": "merges"}, False),
    "f_m4": ({"fold": "m4"}, False),
    "f_notree": ({"fold": "notree"}, False),
    "v_noxload": ({"xload": False}, False),
    "v_nodload": ({"dload": False}, False),
    "v_noshift": ({"noshift": True}, False),
    "v_nofma": ({"nofma": True}, False),
    "v_fixtab": ({"tstep": 0, "ostep": 0}, False),
    "v_fixt": ({"tstep": 0}, False),
    # x from memory in each FMA; shifts with the data load folded in
    "v_xmem": ({"xmem": True}, True),
    "v_mshift": ({"how": [("S", 0)] + [("M", 3 * j) for j in range(1, 10)]}, True),
    # fields from byte-offset loads (T0 / T1 tables): x and temps in one register each (v_l0: that alone)
    "v_l0": ({"pos": _CUR}, True),
    "v_l1": ({"pos": _CUR, "loads": (24,)}, True),
    "v_l1b": ({"pos": _CUR, "loads": (9,)}, True),
    "v_l2": ({"pos": _CUR, "loads": (9, 24)}, True),
    "v_l2pf2": ({"pos": _CUR, "loads": (9, 24), "pf": 2048}, True),
    "v_l2pf16": ({"pos": _CUR, "loads": (9, 24), "pf": 16384}, True),
    "v_l2dep": ({"pos": _CUR, "loads": (9, 24), "dep": "row3"}, True),
    "v_new0": ({"pos": _NEW}, False),
    "v_new": ({"pos": _NEW, "loads": (9, 16, 25)}, False),
    "v_newdep": ({"pos": _NEW, "loads": (9, 16, 25), "dep": "row3"}, False),
    # extra loads of each row's line, results unused
    "v_reload": ({"reloads": (0,)}, True),
    "v_reload_u": ({"reloads": (1,)}, True),
    "v_reload_uu": ({"reloads": (1, 3)}, True),
    # issue order, data loaded a chunk ahead
    "v_grp": ({"order": "grp"}, True),
    "v_pair": ({"order": "pair"}, True),
    "v_pipe": ({"pipe": True}, True),
    # software prefetch distance / hint / a second stream
    "p4kt0": ({"pf": 4096}, True),
    "p4kt1": ({"pf": 4096, "hint": "t1"}, True),
    "p8kt1": ({"pf": 8192, "hint": "t1"}, True),
    "p8kt2": ({"pf": 8192, "hint": "t2"}, True),
    "p8knta": ({"pf": 8192, "hint": "nta"}, True),
    "p2kt0": ({"pf": 2048}, True),
    "p5kt0": ({"pf": 5120}, True),
    "p12kt0": ({"pf": 12288}, True),
    "p16kt0": ({"pf": 16384}, True),
    "p2k_16kt1": ({"pf": 2048, "pf2": (16384, "t1")}, True),
    "p4k_32kt2": ({"pf": 4096, "pf2": (32768, "t2")}, True),
    "p8k_4kt0": ({"pf2": (4096, "t0")}, True),
    "p8k_2kt0": ({"pf2": (2048, "t0")}, True),
    "p8k_1kt0": ({"pf2": (1024, "t0")}, True),
    "p16k_8kt0": ({"pf": 16384, "pf2": (8192, "t0")}, True),
    # the 4-chunk loop's first byte at k mod 64 (the kernel's own placement: wherever the build puts it)
    "a_pad0": ({"pre2": '      ".p2align 6\\n"\n'}, True),
    "a_pad16": ({"pre2": '      ".p2align 6\\n .skip 16, 0x90\\n"\n'}, True),
    "a_pad32": ({"pre2": '      ".p2align 6\\n .skip 32, 0x90\\n"\n'}, True),
    "a_pad40": ({"pre2": '      ".p2align 6\\n .skip 40, 0x90\\n"\n'}, True),
    "a_pad44": ({"pre2": '      ".p2align 6\\n .skip 44, 0x90\\n"\n'}, True),
    "a_pad48": ({"pre2": '      ".p2align 6\\n .skip 48, 0x90\\n"\n'}, True),
    "a_pad56": ({"pre2": '      ".p2align 6\\n .skip 56, 0x90\\n"\n'}, True),
}


def render() -> str:
    out = [
        "// Generated by tools/gen_codebook_w3ab.py (experiments, not the kernel)",
        "#pragma once",
        "#include <cstdint>",
        "namespace lowbit {",
        "alignas(64) static const int32_t kHalfIdx[16] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7};",
    ]
    for name, (o, _) in VARIANTS.items():
        out.append(kernel(3, name, o))
    out.append("}  // namespace lowbit")
    names = " ".join(f"W3AB_V({n}, {int(e)})" for n, (_, e) in VARIANTS.items())
    out.append("#define W3AB_VARIANTS " + names)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render())
