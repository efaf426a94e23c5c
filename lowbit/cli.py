"""The `lowbit` command. Each subcommand is one row of COMMANDS: (help, add_arguments, run)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import lowbit


def _formats_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the registry as JSON")


def _formats_run(args: argparse.Namespace) -> int:
    import json

    rows = [
        {"name": f.name, "bits": list(f.bits), "kind": f.kind, "description": f.description}
        for f in lowbit.FORMATS.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'name':<10} {'bits':<18} {'kind':<12} description")
    for r in rows:
        print(f"{r['name']:<10} {_bit_list(r['bits']):<18} {r['kind']:<12} {r['description']}")
    return 0


def _bit_list(bits: list[int]) -> str:
    """[1,2,3,4,8] -> '1-4,8'."""
    runs: list[list[int]] = []
    for b in bits:
        if runs and b == runs[-1][-1] + 1:
            runs[-1].append(b)
        else:
            runs.append([b])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _info_args(p: argparse.ArgumentParser) -> None:
    pass


def _info_run(args: argparse.Namespace) -> int:
    from lowbit import _C

    print(f"lowbit {lowbit.__version__}")
    print(
        f"kernel variants: {', '.join(_C.available_isas())} "
        f"(default: {_C.default_isa()}; LOWBIT_ISA overrides)"
    )
    print(f"cpu features: {' '.join(_C.cpu_features())}")
    return 0


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="300 sentences, fewer repeats (under 3 minutes)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    p.add_argument("--recipes", default=None, help="comma-separated recipe names (default: every one)")


def _demo_run(args: argparse.Namespace) -> int:
    from lowbit.demo import run

    recipes = [r for r in args.recipes.split(",") if r] if args.recipes else None
    return run(quick=args.quick, as_json=args.json, recipes=recipes)


def _probe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="shorter samples (under 20 s)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--refresh", action="store_true", help="measure again instead of using the cached result")


def _probe_run(args: argparse.Namespace) -> int:
    import json

    from lowbit.roofline.probe import probe

    r = probe(quick=args.quick, refresh=args.refresh)
    if args.json:
        print(json.dumps(r))
        return 0
    print(f"{r['cpu']} — caches: " + ", ".join(f"{k} {v >> 10} KiB" for k, v in r["cache_bytes"].items()))
    print(f"{'limit':<28}{'1 core':>12}{'all cores':>12}")
    a = r["all_cores"]
    rows = [
        ("clock_ghz", "clock GHz"),
        ("fp32_gflops", "fp32 FMA GFLOP/s"),
        ("int8_gops", "int8 dot GOP/s"),
        ("popcount_binmac_gops", "AND+popcount G binMAC/s"),
        ("popcount_add_binmac_gops", "AND+popcount+add G binMAC/s"),
        ("lookup_gops", "byte lookups G/s"),
        ("int32_gops", "int32 lane ops G/s"),
    ]
    for key, label in rows:
        if key in r:
            print(f"{label:<28}{r[key]:>12.1f}{a.get(key, float('nan')):>12.1f}")
    for level, gbps in r["bw_gbps"].items():
        print(f"{'read ' + level + ' GB/s':<28}{gbps:>12.1f}{a['bw_gbps'][level]:>12.1f}")
    return 0


def _roofline_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ops", default="gemm", help="comma-separated operator families: gemm, gemv, intops, bitserial, lut"
    )
    p.add_argument("--quick", action="store_true", help="a smaller sweep")
    p.add_argument(
        "--out", default="roofline-report", help="folder for roofline.png, report.html, roofline.json"
    )
    p.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    p.add_argument("--threads", type=int, default=1, help="threads for every implementation")


def _roofline_run(args: argparse.Namespace) -> int:
    from lowbit.roofline.report import FAMILY_NAMES, run

    ops = {o.strip() for o in args.ops.split(",") if o.strip()}
    if not ops or ops - set(FAMILY_NAMES):
        raise lowbit.LowbitError(f"--ops: expected families among {list(FAMILY_NAMES)}, got {sorted(ops)}")
    return run(quick=args.quick, out=args.out, as_json=args.json, threads=args.threads, ops=tuple(ops))


def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", default="int8-integer-only", help="any implemented recipe (lowbit.RECIPES)")
    p.add_argument("--tokens", type=int, default=128, help="tokens per sequence")
    p.add_argument("--batch", type=int, default=1, help="sequences")
    p.add_argument("--repeats", type=int, default=7, help="forward passes timed (medians)")
    p.add_argument("--threads", type=int, default=1, help="threads for lowbit's kernels and torch")
    p.add_argument("--top", type=int, default=25, help="rows of the table")
    p.add_argument("--json", action="store_true", help="print every row as JSON")


def _profile_run(args: argparse.Namespace) -> int:
    from lowbit.recipes import get_recipe
    from lowbit.roofline.profile import run

    r = get_recipe(args.recipe)
    if not r.implemented:
        raise lowbit.LowbitError(f"--recipe: {r.name!r} is not implemented")
    for name in ("tokens", "batch", "repeats", "threads", "top"):
        if getattr(args, name) < 1:
            raise lowbit.LowbitError(f"--{name}: expected a positive int, got {getattr(args, name)}")
    if args.tokens > 512:
        raise lowbit.LowbitError(f"--tokens: expected at most 512 (MiniLM's positions), got {args.tokens}")
    return run(args.recipe, args.tokens, args.batch, args.json, args.repeats, args.threads, args.top)


def _bench_args(p: argparse.ArgumentParser) -> None:
    benches = ["requant", "gemm", "intops", "bitserial", "lowbit", "minilm"]
    p.add_argument("what", choices=benches, help="which benchmark")
    p.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    p.add_argument(
        "--threads",
        default=None,
        help="threads for lowbit and every peer: gemm one count (default 1), minilm a list (default 1,2)",
    )


def _thread_list(text: str) -> list[int]:
    try:
        threads = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        threads = []
    if not threads or min(threads) < 1:
        raise lowbit.LowbitError(f"--threads: expected positive counts like 1 or 1,2, got {text!r}")
    return threads


def _bench_run(args: argparse.Namespace) -> int:
    from lowbit.bench import BENCHES

    kw = {}
    if args.what == "gemm":
        threads = _thread_list(args.threads or "1")
        if len(threads) != 1:
            raise lowbit.LowbitError(f"--threads: expected one count for gemm, got {args.threads!r}")
        kw["threads"] = threads[0]
    elif args.what == "minilm":
        kw["threads"] = _thread_list(args.threads or "1,2")
    return BENCHES[args.what](quick=args.quick, as_json=args.json, **kw)


def _quantize_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--recipe", required=True, help="a recipe name (lowbit formats lists formats; see README)")
    p.add_argument("--out", required=True, help="output folder: model.safetensors (lowbit) and recipe.json")
    p.add_argument("--model", default=None, help="a BERT-style folder (config.json, model.safetensors, "
                   "tokenizer.json); default: the packaged MiniLM")  # fmt: skip
    p.add_argument("--calibration", type=int, default=64, help="UCI sentences for static recipes")


def _quantize_run(args: argparse.Namespace) -> int:
    import json
    import time
    from pathlib import Path

    from lowbit.data.sentiment import load_sentences
    from lowbit.models.minilm import load_minilm, tokenize

    recipe = lowbit.recipes.get_recipe(args.recipe)
    t0 = time.perf_counter()
    model = load_minilm(args.model)
    calib = None
    if recipe.activations == "static":
        texts = load_sentences()[0]
        calib = tokenize(texts[:: max(1, len(texts) // args.calibration)][: args.calibration], args.model)
    q = lowbit.quantize(model, recipe, calibration_data=calib)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lowbit.save(q, out / "model.safetensors")
    (out / "recipe.json").write_text(json.dumps(json.loads(recipe.to_json()), indent=2) + "\n")
    size = (out / "model.safetensors").stat().st_size / 1e6
    print(f"{recipe.name}: {out / 'model.safetensors'} ({size:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    return 0


Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: dict[str, Command] = {
    "formats": ("list the number formats (the registry)", _formats_args, _formats_run),
    "info": ("kernel variants and CPU features of this machine", _info_args, _info_run),
    "demo": ("the main job: quantize the packaged MiniLM and report what it kept", _demo_args, _demo_run),
    "quantize": (
        "quantize the packaged MiniLM or a BERT folder with a recipe, save it",
        _quantize_args,
        _quantize_run,
    ),
    "bench": ("benchmarks of lowbit's kernels against peers", _bench_args, _bench_run),
    "probe": ("measure this machine's limits (peaks and bandwidths; cached)", _probe_args, _probe_run),
    "roofline": (
        "place lowbit's and the peers' operators under this machine's roofline",
        _roofline_args,
        _roofline_run,
    ),
    "profile": (
        "time every kernel of a quantized MiniLM under the roofline: which layer is slow, and why",
        _profile_args,
        _profile_run,
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lowbit", description=lowbit.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"lowbit {lowbit.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except lowbit.LowbitError as e:
        print(f"lowbit: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
