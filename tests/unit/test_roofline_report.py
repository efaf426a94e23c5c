"""The roofline report: runs are placed under the roofline, and the files are written and valid."""

from html.parser import HTMLParser

import matplotlib.image

from lowbit.cli import main
from lowbit.roofline import Limits
from lowbit.roofline.report import run_sweep, write_report

LIMITS = Limits(
    peak_gops={"int8": 460.0, "fp32": 115.0},
    bandwidth_gbps={"L1": 200.0, "L2": 110.0, "L3": 90.0, "DRAM": 23.0},
    cache_bytes={"L1": 32 << 10, "L2": 1 << 20, "L3": 32 << 20},
)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_sweep_and_report_files(tmp_path):
    runs = run_sweep(LIMITS, [(8, 64, 64)], repeats=1)
    assert {r.impl for r in runs} >= {"lowbit-int8", "torch-fp32"}
    for r in runs:
        assert r.gops > 0 and r.ceiling_gops > 0 and r.fraction > 0
        assert r.binding in ("compute", "L1", "L2", "L3", "DRAM") and r.why
    files = write_report(runs, LIMITS, tmp_path)
    img = matplotlib.image.imread(files["png"])
    assert img.shape[:2] == (550, 800)  # figsize 8 x 5.5 at 100 dpi
    parser = _Tags()
    parser.feed(files["html"].read_text())
    assert {"html", "img", "table"} <= set(parser.tags)
    assert parser.tags.count("tr") == len(runs) + 1
    assert '"runs"' in files["json"].read_text()


def test_unknown_op_family_is_refused(capsys):
    assert main(["roofline", "--ops", "gemm,conv"]) == 2
    assert "--ops" in capsys.readouterr().err


def test_every_family_runs_and_is_placed(tmp_path):
    from lowbit.roofline.report import FAMILY_NAMES, run_family

    full = Limits(
        peak_gops={**LIMITS.peak_gops, "binary": 1800.0, "lookup": 230.0, "int32": 115.0},
        bandwidth_gbps=LIMITS.bandwidth_gbps,
        cache_bytes=LIMITS.cache_bytes,
    )
    runs = []
    for fam in ("intops", "bitserial", "lut"):  # gemv's hot shape is the same code path as lut's, bigger
        got = run_family(fam, full, quick=True, repeats=1)
        assert got and all(r.family == fam and r.gops > 0 and r.why for r in got)
        runs += got
    kinds = {r.kind for r in runs}
    assert {"int32", "binary", "lookup", "fp32"} <= kinds
    assert any(r.impl.startswith("torch-fp32") for r in runs)  # intops peers
    assert set(FAMILY_NAMES) == {"gemm", "gemv", "intops", "bitserial", "lut"}
    files = write_report(runs, full, tmp_path)
    parser = _Tags()
    parser.feed(files["html"].read_text())
    assert parser.tags.count("tr") == len(runs) + 1
    assert '"unit"' in files["json"].read_text()


def test_why_names_the_codebook_gemvs_own_limit():
    from lowbit.roofline.report import _why

    assert _why("compute", 0.6, "lut", "lowbit-w3cb").startswith("FMA-bound")
    assert _why("compute", 0.6, "lut", "lowbit-w4-lut").startswith("lookup-bound")
    assert _why("compute", 0.6, "conv", "x").startswith("compute-bound but below peak")
