import json

import pytest
import torch

import lowbit
from lowbit import LowbitError
from lowbit.models.minilm import load_minilm, tokenize
from lowbit.recipes import RECIPES, Recipe


def test_recipes_serialize_and_unfinished_ones_are_refused():
    for r in RECIPES.values():
        assert Recipe.from_json(r.to_json()) == r
    with pytest.raises(LowbitError, match="not implemented yet"):
        lowbit.quantize(torch.nn.Linear(4, 4), Recipe("w2-someday", "not built yet"), calibration_data=["a"])
    with pytest.raises(LowbitError, match="recipe: expected one of"):
        lowbit.quantize(torch.nn.Linear(4, 4), "int3-magic")


def test_quantize_dispatches_on_model_and_leaves_float_untouched():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8))
    q = lowbit.quantize(model, "dynamic-int8")
    assert isinstance(q, lowbit.QuantizedModel) and q.recipe.name == "dynamic-int8"
    assert isinstance(model[0], torch.nn.Linear)  # the float model is not modified
    assert isinstance(lowbit.quantize(torch.randn(8, 8), "int", 8), lowbit.QTensor)


def test_minilm_save_load_round_trip(tmp_path):
    q = lowbit.quantize(load_minilm(), "dynamic-int8")
    path = tmp_path / "minilm-int8.safetensors"
    lowbit.save(q, path)
    back = lowbit.load(path)
    ids, mask = tokenize(["a save/load round trip gives identical outputs", "ok"])
    with torch.inference_mode():
        assert torch.equal(q.embed(ids, mask), back.embed(ids, mask))
    # Linear weights are stored as int8 codes; the embedding tables (half the model) stay float32
    float_bytes = 4 * sum(p.numel() for p in load_minilm().parameters())
    assert path.stat().st_size < 0.7 * float_bytes


def test_corrupt_and_mismatched_files(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(LowbitError, match="path"):
        lowbit.load(bad)
    q = lowbit.quantize(torch.nn.Sequential(torch.nn.Linear(8, 8)), "dynamic-int8")
    path = tmp_path / "small.safetensors"
    lowbit.save(q, path)
    with pytest.raises(LowbitError, match="model: expected the float model"):
        lowbit.load(path)
    with pytest.raises(LowbitError, match="mismatch"):
        lowbit.load(path, model=torch.nn.Sequential(torch.nn.Linear(8, 9)))
    ok = lowbit.load(path, model=torch.nn.Sequential(torch.nn.Linear(8, 8)))
    x = torch.randn(3, 8)
    assert torch.equal(ok(x), q(x))
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path))
    save_file(
        tensors, str(tmp_path / "nometa.safetensors"), metadata={"lowbit_model": json.dumps({"version": 9})}
    )
    with pytest.raises(LowbitError, match="file version"):
        lowbit.load(tmp_path / "nometa.safetensors")


def test_dynamic_recipe_says_which_layers_stay_float():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4, 4))
    with pytest.warns(UserWarning, match=r"left in float: 0 \(Conv2d\)"):
        q = lowbit.quantize(model, "dynamic-int8")
    assert type(q.module[2]).__name__ == "DynamicInt8Linear"
