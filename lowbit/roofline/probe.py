"""`lowbit probe`: measure this machine's limits — the ceilings of the roofline — and cache them.

Per core and for all cores: the clock (a chain of dependent adds), peak fp32 FMA, peak int8 dot product
(vpdpbusd), the AND+popcount rate in binary multiply-adds (and the same with each count accumulated, what
a popcount GEMM must also do), byte-shuffle lookups (vpshufb), int32 vector adds (vpaddd: the integer-op
ceiling of elementwise kernels), and read bandwidth for page-aligned working sets sized to sit in L1,
L2, L3 and DRAM (cache sizes read from the OS). Every figure is the median of several timed runs of a
C++ loop (csrc/probe_avx512.cpp, csrc/probe_avx2.cpp). The result is cached as JSON in the user's cache
folder, keyed by CPU model and flags; ``refresh=True`` measures again.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import warnings
from pathlib import Path

from lowbit.errors import LowbitError
from lowbit.roofline.model import Limits

# (probe loop, result key, operations per loop iteration)
COMPUTE = [
    ("fp32_avx512", "fp32_gflops", 24 * 32),
    ("fp32_avx2", "fp32_gflops", 24 * 16),
    ("int8_vnni512", "int8_gops", 24 * 128),
    ("popcount_avx512", "popcount_binmac_gops", 24 * 512),
    ("popcount_acc_avx512", "popcount_add_binmac_gops", 24 * 512),
    ("lookup_avx512", "lookup_gops", 24 * 64),
    ("int32_avx512", "int32_gops", 24 * 16),
]
# bumped when the probe measures something new or differently, so that older cached results are measured
# again (v3: page-aligned read buffers, where the L1 figure had read at half rate; the AND+popcount+add rate)
PROBE_VERSION = 3


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def cache_sizes() -> dict[str, int]:
    """Data/unified cache capacity per level of cpu0, in bytes, from sysfs (L1 = the data cache)."""
    sizes: dict[str, int] = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(base.glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = int((index / "level").read_text())
            text = (index / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        if kind == "Instruction":
            continue
        mult = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1], 1)
        sizes[f"L{level}"] = int(text.rstrip("KMG")) * mult
    return sizes


def _timed(run, work_per_unit: float, target_s: float, repeats: int) -> float:
    """Median rate (work/s) of run(units) with units chosen so one sample lasts ~target_s."""
    units = 1000
    while True:
        sec = run(units)
        if sec >= target_s / 4 or units > 1 << 36:
            break
        units *= 4
    units = max(1, int(units * target_s / max(sec, 1e-9)))
    return statistics.median(units * work_per_unit / run(units) for _ in range(repeats))


def measure(quick: bool = False, threads: int = 1) -> dict:
    from lowbit import _C

    if not hasattr(_C, "probe_compute_seconds"):
        raise LowbitError("probe: this build of lowbit has no probe loops (x86 only so far)")
    target, repeats = (0.01, 3) if quick else (0.04, 5)
    features = set(_C.cpu_features())
    res: dict = {"threads": threads}
    # per-core clock: each thread runs its own chain, so the work per unit does not scale with threads
    res["clock_ghz"] = (
        _timed(lambda n: _C.probe_compute_seconds("clock", n, threads), 16, target, repeats) / 1e9
    )
    for loop, key, ops in COMPUTE:
        if key in res:
            continue  # the widest variant the CPU has came first
        try:
            rate = _timed(
                lambda n, loop=loop: _C.probe_compute_seconds(loop, n, threads),
                ops * threads,
                target,
                repeats,
            )
        except LowbitError:  # the CPU lacks this loop: leave the figure out
            continue
        res[key] = rate / 1e9
    caches = cache_sizes()
    working = {
        "L1": caches.get("L1", 32 << 10) // 2,
        "L2": caches.get("L2", 1 << 20) // 2,
        "L3": max(caches.get("L2", 1 << 20) * 4, caches.get("L3", 32 << 20) // (4 * threads)),
        "DRAM": max(256 << 20, 8 * caches.get("L3", 32 << 20)) // (4 if quick else 1),
    }
    res["bw_gbps"] = {}
    for level, size in working.items():
        size -= size % 256
        rate = _timed(
            lambda p, size=size: _C.probe_read_seconds(size, p, threads), size * threads, target, repeats
        )
        res["bw_gbps"][level] = rate / 1e9
    res["working_set_bytes"] = working
    res["features"] = sorted(features)
    return res


def _cache_path(key: str) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lowbit"
    return root / f"probe-{key}.json"


def probe(quick: bool = False, refresh: bool = False) -> dict:
    """The machine's limits per core and for all cores (cached; ``refresh`` re-measures)."""
    from lowbit import _C

    cpu = cpu_model()
    key = hashlib.sha256((cpu + " ".join(_C.cpu_features()) + f" v{PROBE_VERSION}").encode()).hexdigest()[:16]
    path = _cache_path(key)
    if path.exists() and not refresh:
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            pass  # a damaged cache is measured again
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.75 * cores:
        msg = f"probe: the machine looks busy (load {load:.1f} on {cores} cores): limits will read low"
        warnings.warn(msg, stacklevel=2)
    one = measure(quick, 1)
    result = {"cpu": cpu, "cache_bytes": cache_sizes(), **one,
              "all_cores": measure(quick, cores) if cores > 1 else one, "quick": quick}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return result


def limits(result: dict, all_cores: bool = False) -> Limits:
    """The roofline's Limits from a probe result."""
    r = result["all_cores"] if all_cores else result
    peaks = {
        "fp32": r.get("fp32_gflops"),
        "int8": r.get("int8_gops"),
        "binary": r.get("popcount_binmac_gops"),
        "lookup": r.get("lookup_gops"),
        "int32": r.get("int32_gops"),
    }
    return Limits({k: v for k, v in peaks.items() if v}, dict(r["bw_gbps"]), dict(result["cache_bytes"]))
