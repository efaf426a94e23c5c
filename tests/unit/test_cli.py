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


def test_demo_json_rows(capsys):
    """The main job end to end on 60 sentences: every column, fp32 and ort-int8 rows, per-layer report."""
    from lowbit.demo import run

    assert run(quick=True, as_json=True, recipes=["int8-integer-only"], per_source=20) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["recipe"]: r for r in out["rows"]}
    assert set(rows) == {"fp32", "ort-int8", "int8-integer-only"}
    keys = {"recipe", "integer_only", "size_mb", "accuracy", "cosine", "latency_ms", "throughput"}
    keys |= {"speedup_fp32", "speedup_ort"}
    assert all(keys <= set(r) for r in rows.values())
    assert rows["int8-integer-only"]["integer_only"] == "yes" and rows["fp32"]["integer_only"] == "no"
    assert rows["int8-integer-only"]["size_mb"] < 0.3 * rows["fp32"]["size_mb"]
    assert rows["int8-integer-only"]["cosine"] > 0.99 and rows["fp32"]["cosine"] > 0.9999
    assert len(out["layers"]) == 13


def test_quantize_command_writes_a_loadable_model(tmp_path, capsys):
    import lowbit
    from lowbit.cli import main
    from lowbit.models.minilm import model_dir, tokenize

    args = ["quantize", "--recipe", "int8-integer-only", "--out", str(tmp_path)]
    assert main([*args, "--model", str(model_dir()), "--calibration", "16"]) == 0
    q = lowbit.load(tmp_path / "model.safetensors")
    assert q.recipe.name == "int8-integer-only"
    assert json.loads((tmp_path / "recipe.json").read_text())["name"] == "int8-integer-only"
    ids, mask = tokenize(["a quantized model folder"])
    assert q.embed(ids, mask).shape == (1, 384)
    assert main([*args, "--model", str(tmp_path)]) == 2  # not a BERT folder: a clear error, exit code 2
