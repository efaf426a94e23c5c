import json
import subprocess
import sys

import lowbit
from lowbit.cli import main


def test_version_via_console_script():
    out = subprocess.run(
        [sys.executable, "-m", "lowbit.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"lowbit {lowbit.__version__}"


def test_formats_lists_the_registry(capsys):
    assert main(["formats", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} == set(lowbit.FORMATS) and len(rows) >= 9
    assert main(["formats"]) == 0
    table = capsys.readouterr().out
    for name in lowbit.FORMATS:
        assert f"\n{name} " in table


def test_info_names_the_kernel_variants(capsys):
    assert main(["info"]) == 0
    assert "scalar" in capsys.readouterr().out
