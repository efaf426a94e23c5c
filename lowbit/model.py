"""Whole models: ``quantize_model`` applies a recipe, ``save``/``load`` keep the result in safetensors
plus a JSON header (never pickle)."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from lowbit.errors import LowbitError, expect
from lowbit.recipes import Recipe, get_recipe

FILE_VERSION = 1


class QuantizedModel(nn.Module):
    """A model whose layers lowbit replaced, with the recipe it was quantized by.

    Calls and attributes (e.g. ``embed`` of the BERT encoder) go to the wrapped module.
    """

    def __init__(self, module: nn.Module, recipe: Recipe):
        super().__init__()
        self.module = module
        self.recipe = recipe

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["module"], name)


def _convert(module: nn.Module, recipe: Recipe) -> nn.Module:
    """The quantized skeleton of a dynamic recipe, applied in place (only implemented recipes reach here)."""
    from lowbit.nn import quantize_dynamic

    if recipe.activations == "dynamic":
        return quantize_dynamic(module)
    raise LowbitError(f"recipe: no converter for {recipe.name!r}")


def calibration_inputs(calibration_data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) from a tuple of the two tensors or a list of sentences (tokenized with
    the packaged MiniLM tokenizer)."""
    if (
        isinstance(calibration_data, (list, tuple))
        and calibration_data
        and all(isinstance(t, str) for t in calibration_data)
    ):
        from lowbit.models.minilm import tokenize

        return tokenize(list(calibration_data))
    if (
        isinstance(calibration_data, (list, tuple))
        and len(calibration_data) == 2
        and all(isinstance(t, torch.Tensor) for t in calibration_data)
    ):
        ids, mask = calibration_data
        expect(
            ids.ndim == 2 and ids.shape == mask.shape, "calibration_data", "ids and mask [B, T]", ids.shape
        )
        expect(len(ids) > 0, "calibration_data", "at least one calibration sentence", 0)
        return ids, mask
    raise LowbitError(
        "calibration_data: expected a non-empty list of sentences or an (input_ids, attention_mask) "
        f"tuple of tensors, got {type(calibration_data).__name__}"
        + (" (empty)" if isinstance(calibration_data, (list, tuple)) and not calibration_data else "")
    )


def _integer_model(model: nn.Module, recipe: Recipe, calibration_data: Any) -> nn.Module:
    from lowbit.models.bert import BertEncoder
    from lowbit.models.bert_calibrate import collect_ranges
    from lowbit.nn.int_bert import IntBertEncoder, unsupported_layers
    from lowbit.nn.int_nonlinear import NONLINEAR

    if not isinstance(model, BertEncoder):
        bad = unsupported_layers(model)
        raise LowbitError(
            f"model: the static recipe {recipe.name!r} builds integer-only BERT encoders "
            "(a lowbit BertEncoder)"
            + (f"; these layers cannot be quantized by it: {', '.join(bad)}" if bad else "")
            + " (use 'dynamic-int8' for other models)"
        )
    ids, mask = calibration_inputs(calibration_data)
    ranges = collect_ranges(model, ids, mask, ptf=NONLINEAR[recipe.nonlinear].ptf_norm_input)
    r = recipe
    return IntBertEncoder.from_float(
        model, ranges, r.nonlinear, weight_bits=r.weight_bits, weight_observer=r.weight_observer,
        weight_group=r.weight_group,
    )  # fmt: skip


def quantize_model(
    model: nn.Module, recipe: str | Recipe = "dynamic-int8", calibration_data: Any = None
) -> QuantizedModel:
    """A quantized copy of ``model`` (the float model is left untouched).

    Static recipes (integer-only) need ``calibration_data``: sentences or (input_ids, attention_mask).
    """
    expect(isinstance(model, nn.Module), "model", "a torch.nn.Module", type(model).__name__)
    r = get_recipe(recipe)
    if r.activations == "static":
        if calibration_data is None:
            raise LowbitError(f"calibration_data: expected sample inputs for the static recipe {r.name!r}")
        return QuantizedModel(_integer_model(model.eval(), r, calibration_data), r)
    float_left = [
        f"{n} ({type(m).__name__})"
        for n, m in model.named_modules()
        if not list(m.children()) and any(True for _ in m.parameters(recurse=False))
        and not isinstance(m, (nn.Linear, nn.LayerNorm, nn.Embedding))
    ]  # fmt: skip
    if float_left:  # the dynamic recipe allows float layers: say which ones stay float
        warnings.warn(f"recipe {r.name!r} quantizes nn.Linear only; left in float: {', '.join(float_left)}",
                      stacklevel=2)  # fmt: skip
    return QuantizedModel(_convert(copy.deepcopy(model).eval(), r), r)


def _architecture(module: nn.Module) -> dict:
    from lowbit.models.bert import BertEncoder
    from lowbit.nn.int_bert import IntBertEncoder

    if isinstance(module, (BertEncoder, IntBertEncoder)):
        return {"kind": "bert", "config": module.cfg.__dict__}
    return {"kind": type(module).__name__}


def save(qmodel: QuantizedModel, path: str | Path) -> None:
    """Write a QuantizedModel: its tensors as safetensors, its recipe and architecture as JSON."""
    expect(isinstance(qmodel, QuantizedModel), "qmodel", "a lowbit QuantizedModel", type(qmodel).__name__)
    state = {k: v.contiguous() for k, v in qmodel.module.state_dict().items()}
    meta = {"version": FILE_VERSION, "recipe": json.loads(qmodel.recipe.to_json()),
            "architecture": _architecture(qmodel.module)}  # fmt: skip
    save_file(state, str(path), metadata={"lowbit_model": json.dumps(meta)})


def load(path: str | Path, model: nn.Module | None = None) -> QuantizedModel:
    """Read a file written by ``save``. BERT encoders are rebuilt from the file; other architectures need
    their float ``model`` (the skeleton the recipe is applied to before the tensors are loaded)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise LowbitError(f"path: expected a readable safetensors file, got {path} ({e})") from e
    expect(model is None or isinstance(model, nn.Module), "model", "a torch.nn.Module or None", type(model))
    try:
        meta = json.loads(header["lowbit_model"])
        expect(
            isinstance(meta, dict), "path", "a lowbit_model header holding a JSON object", type(meta).__name__
        )
        expect(meta.get("version") == FILE_VERSION, "file version", str(FILE_VERSION), meta.get("version"))
        recipe = get_recipe(Recipe.from_json(json.dumps(meta["recipe"])))
        arch = meta["architecture"]
        expect(isinstance(arch, dict), "path", "an 'architecture' object in the lowbit_model header")
    except LowbitError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise LowbitError(f"path: expected a lowbit model file, got {path} ({e!r})") from e
    if model is None:
        if arch.get("kind") != "bert":
            raise LowbitError(
                f"model: expected the float model of architecture {arch.get('kind')!r} to load into"
            )
        from lowbit.models.bert import BertConfig, BertEncoder

        try:
            model = BertEncoder(BertConfig(**arch["config"]))
        except LowbitError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise LowbitError(f"path: expected a valid BERT config in the file's architecture ({e!r})") from e
    if recipe.activations == "static":
        from lowbit.nn.int_bert import IntBertEncoder

        cfg = getattr(model, "cfg", None)
        expect(
            cfg is not None, "model", "a BERT encoder (integer-only files hold BERT encoders)", type(model)
        )
        qmodel = QuantizedModel(IntBertEncoder(cfg, recipe.nonlinear, recipe.weight_group), recipe)
    else:
        qmodel = QuantizedModel(_convert(copy.deepcopy(model).eval(), recipe), recipe)
    expected = qmodel.module.state_dict()
    for key, t in state.items():  # load_state_dict would cast silently (int64 codes wrapping into int8)
        want = expected.get(key)
        if want is not None and t.dtype != want.dtype:
            raise LowbitError(
                f"path: expected tensors matching the {recipe.name!r} model, got a mismatch "
                f"(tensor {key!r} is {t.dtype}, expected {want.dtype})"
            )
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise LowbitError(f"path: expected finite values in tensor {key!r} (NaN or Inf would spread)")
    try:
        qmodel.module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise LowbitError(
            f"path: expected tensors matching the {recipe.name!r} model, got a mismatch ({e})"
        ) from e
    for m in qmodel.modules():
        if hasattr(m, "repack"):
            m.repack()
    return qmodel
