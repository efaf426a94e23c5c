"""Named quantization recipes: dataclasses that say how a model is quantized, and serialize to JSON.

A recipe is data, not code: ``lowbit.quantize(model, "dynamic-int8")`` looks the name up here and the
module converters (lowbit.nn) read its fields. Recipes whose modules are not built yet are listed with
``implemented=False`` so that asking for them gives a clear error instead of a silent fallback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Literal

from lowbit.errors import LowbitError

Activations = Literal["dynamic", "static"]
Nonlinear = Literal["float", "ibert", "shift", "lut", "fq"]


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    weight_format: str = "int"
    weight_bits: int = 8
    weight_group: int | None = None  # None: one scale per output feature
    weight_observer: str = "minmax"
    activations: Activations = "dynamic"
    activation_bits: int = 8
    nonlinear: Nonlinear = "float"
    implemented: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Recipe:
        try:
            fields = json.loads(text)
            return Recipe(**fields)
        except (TypeError, json.JSONDecodeError) as e:
            raise LowbitError(
                f"recipe: expected a JSON object of Recipe fields, got {text[:80]!r} ({e})"
            ) from e


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            "dynamic-int8",
            "int8 per-channel weights, uint8 activations quantized per call, float nonlinears (what "
            "torch/ORT dynamic quantization do); matmuls in lowbit's int8 GEMM",
            implemented=True,
        ),
        Recipe("int8-integer-only", "I-BERT style W8A8 with integer softmax, GELU and LayerNorm; LayerNorm "
               "and GELU outputs with power-of-two channel factors; all in lowbit's C++ kernels",
               activations="static", nonlinear="ibert", implemented=True),
        Recipe("int8-shift", "int8-integer-only with I-ViT Shiftmax / ShiftGELU", activations="static",
               nonlinear="shift", implemented=True),
        Recipe("int8-lut", "int8-integer-only with the LUT softmax (exp + reciprocal tables) and NN-LUT GELU",
               activations="static", nonlinear="lut", implemented=True),
        Recipe("w8a8-fq", "FQ-ViT: LayerNorm inputs as 8-bit PTF codes, 4-bit Log-Int-Softmax with "
               "shift-only P.V (one C++ pass per head), I-BERT GELU", activations="static", nonlinear="fq",
               implemented=True),
        Recipe("w4a8-octav", "int8-integer-only with 4-bit weights, one OCTAV-clipped scale per group of 64 "
               "(stored 4-bit; re-expanded to per-row int8 codes for the int8 GEMM)", weight_bits=4,
               weight_group=64, weight_observer="octav", activations="static", nonlinear="ibert",
               implemented=True),
    ]
}  # fmt: skip


def get_recipe(recipe: str | Recipe) -> Recipe:
    """A Recipe from its name (or itself); refuses recipes whose modules do not exist yet."""
    if isinstance(recipe, Recipe):
        r = recipe
    elif isinstance(recipe, str) and recipe in RECIPES:
        r = RECIPES[recipe]
    else:
        raise LowbitError(f"recipe: expected one of {sorted(RECIPES)} or a Recipe, got {recipe!r}")
    if not r.implemented:
        ready = sorted(n for n, x in RECIPES.items() if x.implemented)
        raise LowbitError(f"recipe: {r.name!r} is not implemented yet (implemented: {ready})")
    return r


__all__ = ["RECIPES", "Recipe", "get_recipe", "replace"]
