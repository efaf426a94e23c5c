"""`lowbit roofline`: run lowbit's operators and their peers over a sweep of shapes, place each run under
the roofline of this machine (measured by ``lowbit probe``), and write roofline.png, report.html and JSON.

Families (``--ops``): gemm (below), gemv, lut, bitserial and intops (lowbit.roofline.families).

Each run reports its achieved rate, the ceiling of the roofline model (lowbit.roofline.model), the level
that binds it (compute, L1, L2, L3 or DRAM), the fraction of that ceiling it reached, and a one-line
explanation of the gap.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lowbit.bench.timing import median_seconds
from lowbit.roofline.model import Limits, ceiling, gemm_cost

SWEEP = [(1, 4096, 4096), (16, 4096, 4096), (128, 768, 768), (512, 768, 3072), (1024, 1024, 1024)]
QUICK = [(1, 2048, 2048), (64, 768, 768), (256, 1024, 1024)]
# register tiles (rows x columns) the L1 traffic is counted for: lowbit's int8 kernel, and a typical
# AVX-512 fp32 kernel (6 rows x 2 zmm of 16 floats)
TILES = {"int8": (6, 64), "fp32": (6, 32)}


FAMILY_NAMES = ("gemm", "gemv", "intops", "bitserial", "lut")
UNITS = {"int8": "GOP/s", "fp32": "GFLOP/s", "binary": "G binMAC/s", "lookup": "G lookups/s",
         "int32": "G int ops/s"}  # fmt: skip


@dataclass
class Run:
    impl: str
    shape: tuple[int, ...]
    kind: str
    gops: float
    ceiling_gops: float
    binding: str
    fraction: float
    intensity: float  # ops per byte at the binding level (inf for compute-bound with no traffic)
    why: str
    family: str = "gemm"
    ms: float = 0.0

    @property
    def unit(self) -> str:
        return UNITS.get(self.kind, "G ops/s")


_COMPUTE_GAP = {
    "gemm": "compute-bound but below peak: tile/loop overheads, epilogue, or the load/broadcast mix",
    "gemv": "compute-bound in the model; unpacking (AND, shifts) takes issue slots beside vpdpbusd",
    "lut": "lookup-bound: index extraction (vpmultishiftqb, vpternlogd), table builds and the vpdpbusd "
    "that sums the looked-up bytes share the vector ports with vpermb",
    "codebook": "FMA-bound: each weight's vpermps lookup and field shift share the vector pipes with its "
    "FMA (lookup + FMA alone reach about two thirds of this roof)",
    "bitserial": "popcount-bound: the accumulating vpaddq (AND+popcount+add alone reach about two thirds "
    "of this roof), the plane-pair loop, reductions and the tile epilogue cost issue slots",
    "intops": "instruction-bound: 64-bit products and variable shifts cost several int32-add slots each, "
    "and per-row work (max, sum, division, integer sqrt) is not in the per-element count",
}


def _why(binding: str, fraction: float, family: str = "gemm", impl: str = "") -> str:
    if fraction > 1.05:
        return (f"above the {binding} roof: the probe's limit read low (a busy machine) or the model counts "
                "bytes that a cache (or the prefetcher) hid")  # fmt: skip
    if fraction > 0.85:
        return f"close to the {binding} roof: little left to gain on this machine"
    if impl.startswith("torch-fp32") and family == "intops":
        return "torch's fp32 kernel; its flop count is an estimate (exp/erf polynomials), so % is rough"
    if binding == "compute":
        kind = "codebook" if family == "lut" and impl.endswith("cb") else family
        return _COMPUTE_GAP.get(kind, _COMPUTE_GAP["gemm"])
    if binding == "DRAM":
        return "reads compulsory bytes from DRAM below the streaming rate: too few loads in flight"
    if family in ("gemv", "lut") and binding in ("L2", "L3"):
        return (f"streams its weights from {binding} below the read rate: the per-byte work (unpack, "
                "lookups) between loads limits the loads in flight; a second thread adds more")  # fmt: skip
    if binding == "L1":
        return "L1-bound in the model: the register tile's loads; the gap is loop and reduction overhead"
    return f"{binding}-bound in the model; the gap suggests more traffic than the model's tiling assumes"


def place(impl: str, shape: tuple[int, ...], cost, seconds: float, limits: Limits, family: str) -> Run:
    """A timed run placed under the roofline."""
    bound = ceiling(cost, limits)
    gops = cost.ops / seconds / 1e9
    frac = bound.fraction(gops)
    inten = cost.intensity(bound.binding) if bound.binding != "compute" else cost.intensity("L1")
    return Run(impl, tuple(shape), cost.kind, gops, bound.gops, bound.binding, frac, inten,
               _why(bound.binding, frac, family, impl), family, seconds * 1e3)  # fmt: skip


def _impls(m: int, k: int, n: int, threads: int) -> dict[str, tuple[str, object]]:
    """impl name -> (arithmetic kind, callable): lowbit's int8 GEMM and the peers of bench gemm."""
    import torch

    from lowbit.bench.peers import ort_peer
    from lowbit.ops.gemm import gemm, pack_weight

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
    w = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    packed = pack_weight(w)
    out: dict[str, tuple[str, object]] = {
        "lowbit-int8": ("int8", lambda: gemm(a, packed, a_zero_point=128, threads=threads))
    }
    ort = ort_peer(a, w, threads)
    if ort is not None:
        out["ort-u8s8"] = ("int8", ort)
    x, wf = torch.randn(m, k), torch.randn(k, n)
    out["torch-fp32"] = ("fp32", lambda: torch.mm(x, wf))
    return out


def run_sweep(
    limits: Limits, shapes: list[tuple[int, int, int]], threads: int = 1, repeats: int = 5
) -> list[Run]:
    runs = []
    for m, k, n in shapes:
        for impl, (kind, fn) in _impls(m, k, n, threads).items():
            if kind not in limits.peak_gops:
                continue
            elem = 1 if kind == "int8" else 4
            tile_m, tile_n = TILES[kind]
            cost = gemm_cost(m, k, n, limits, elem, elem, kind, tile_m, tile_n)
            runs.append(place(impl, (m, k, n), cost, median_seconds(fn, repeats=repeats), limits, "gemm"))
    return runs


def run_family(
    family: str, limits: Limits, quick: bool = False, threads: int = 1, repeats: int = 5
) -> list[Run]:
    """Every implementation of one family (lowbit.roofline.families) timed and placed under the roof;
    implementations whose arithmetic kind the probe did not measure are left out."""
    from lowbit.roofline.families import FAMILIES

    runs = []
    for impl, shape, cost, fn in FAMILIES[family](limits, quick, threads):
        if cost.kind not in limits.peak_gops:
            continue
        runs.append(place(impl, shape, cost, median_seconds(fn, repeats=repeats), limits, family))
    return runs


def plot(runs: list[Run], limits: Limits, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    x = np.logspace(-2, 3, 200)
    for level, bw in limits.bandwidth_gbps.items():
        ax.plot(x, x * bw, lw=1, label=f"{level} {bw:.0f} GB/s")
    for kind, peak in limits.peak_gops.items():
        ax.axhline(peak, ls="--", lw=1, color="gray")
        ax.text(x[0], peak * 1.05, f"{kind} peak {peak:.0f}", fontsize=7, color="gray")
    colors = dict(zip(FAMILY_NAMES, ("C0", "C1", "C2", "C3", "C4"), strict=True))
    for fam in dict.fromkeys(r.family for r in runs):
        sub = [r for r in runs if r.family == fam]
        ax.scatter([r.intensity for r in sub], [r.gops for r in sub], s=25, marker="o",
                   color=colors.get(fam, "k"), label=f"runs: {fam}", zorder=3)  # fmt: skip
        for r in sub:
            ax.annotate(f"{r.impl} {'x'.join(map(str, r.shape))}", (r.intensity, r.gops), fontsize=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operations per byte at the binding level")
    ax.set_ylabel("G operations / s (of each run's kind: int8 ops, flops, binMACs, lookups, int ops)")
    ax.set_title("roofline: lowbit and peers on this machine")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(runs: list[Run], limits: Limits, out_dir: Path) -> dict[str, Path]:
    """roofline.png, report.html (self-contained: the PNG inlined) and roofline.json in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "roofline.png"
    plot(runs, limits, png)
    rows = "".join(
        f"<tr><td>{r.family}</td><td>{html.escape(r.impl)}</td><td>{'x'.join(map(str, r.shape))}</td>"
        f"<td>{r.gops:.1f} {r.unit}</td><td>{r.ceiling_gops:.1f}</td><td>{r.binding}</td>"
        f"<td>{100 * r.fraction:.0f}%</td>"
        f"<td>{html.escape(r.why)}</td></tr>"
        for r in runs
    )
    img = base64.b64encode(png.read_bytes()).decode()
    limits_text = html.escape(json.dumps(asdict(limits)))
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>lowbit roofline</title></head><body>"
        "<h1>lowbit roofline</h1>"
        f"<p>Machine limits (lowbit probe): <code>{limits_text}</code></p>"
        f"<img alt='roofline' src='data:image/png;base64,{img}'>"
        "<table border='1'><tr><th>family</th><th>impl</th><th>shape</th><th>achieved</th><th>ceiling</th>"
        "<th>bound by</th>"
        f"<th>of ceiling</th><th>why</th></tr>{rows}</table></body></html>"
    )
    report = out_dir / "report.html"
    report.write_text(page)
    data = out_dir / "roofline.json"
    rows = [{**asdict(r), "unit": r.unit} for r in runs]
    data.write_text(json.dumps({"limits": asdict(limits), "runs": rows}, indent=1))
    return {"png": png, "html": report, "json": data}


def run(
    quick: bool = False, out: str = "roofline-report", as_json: bool = False, threads: int = 1,
    ops: tuple[str, ...] = ("gemm",),
) -> int:  # fmt: skip
    from lowbit.roofline.probe import limits as to_limits
    from lowbit.roofline.probe import probe

    limits = to_limits(probe(quick=quick), all_cores=threads > 1)
    repeats = 3 if quick else 7
    runs: list[Run] = []
    for family in FAMILY_NAMES:
        if family not in ops:
            continue
        if family == "gemm":
            runs += run_sweep(limits, QUICK if quick else SWEEP, threads, repeats=repeats)
        else:
            runs += run_family(family, limits, quick, threads, repeats)
    files = write_report(runs, limits, Path(out))
    if as_json:
        print(files["json"].read_text())
        return 0
    print(f"{'family':<10}{'impl':<20}{'shape':>16}{'achieved':>10}{'ceiling':>9}  {'unit':<12}{'bound':>8}"
          f"{'of roof':>8}  why")  # fmt: skip
    for r in runs:
        print(
            f"{r.family:<10}{r.impl:<20}{'x'.join(map(str, r.shape)):>16}{r.gops:>10.1f}"
            f"{r.ceiling_gops:>9.1f}  {r.unit:<12}{r.binding:>8}{100 * r.fraction:>7.0f}%  {r.why}"
        )
    print(f"wrote {files['png']}, {files['html']}, {files['json']}")
    return 0
