import json

import pytest
import torch
from safetensors.torch import save_file

import lowbit
from lowbit.formats.io import load_qtensors, save_qtensors


def test_round_trip_every_format(tmp_path):
    x = torch.randn(8, 32, generator=torch.Generator().manual_seed(0))
    tensors = {}
    for name, fmt in lowbit.FORMATS.items():
        bits = max(b for b in fmt.bits if b <= 4)
        data = x.softmax(-1) if name == "log2" else x
        tensors[name] = lowbit.quantize(data, name, bits, lowbit.per_channel(0))
    path = tmp_path / "q.safetensors"
    save_qtensors(path, tensors)
    back = load_qtensors(path)
    assert set(back) == set(tensors)
    for name, q in tensors.items():
        r = back[name]
        assert torch.equal(r.codes, q.codes) and r.format == q.format and r.bits == q.bits
        assert r.granularity == q.granularity and r.options == q.options
        assert torch.equal(r.dequantize(), q.dequantize())


def test_corrupt_and_foreign_files(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(lowbit.LowbitError, match="path"):
        load_qtensors(bad)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign))
    with pytest.raises(lowbit.LowbitError, match="lowbit file"):
        load_qtensors(foreign)
    q = lowbit.quantize(torch.randn(4, 8), "int", 4)
    save_qtensors(tmp_path / "ok.safetensors", {"w": q})
    # truncate the packed codes: the loader must notice, not read garbage
    meta = {
        "lowbit": json.dumps(
            {
                "version": 1,
                "tensors": {
                    "w": {
                        "format": "int",
                        "bits": 4,
                        "granularity": lowbit.per_tensor().to_json(),
                        "options": {},
                        "shape": [4, 8],
                        "params": ["scale", "zero_point"],
                    }
                },
            }
        )
    }
    arrays = {
        "w.codes": torch.zeros(3, dtype=torch.uint8),
        "w.param.scale": q.params["scale"],
        "w.param.zero_point": q.params["zero_point"],
    }
    save_file(arrays, str(tmp_path / "short.safetensors"), metadata=meta)
    with pytest.raises(lowbit.LowbitError, match="w.codes"):
        load_qtensors(tmp_path / "short.safetensors")
    # an option the format does not take would be ignored silently when the codes are read
    info = json.loads(meta["lowbit"])
    info["tensors"]["w"]["options"] = {"signd": False}
    arrays["w.codes"] = torch.from_numpy(q.packed())
    save_file(arrays, str(tmp_path / "opts.safetensors"), metadata={"lowbit": json.dumps(info)})
    with pytest.raises(lowbit.LowbitError, match=r"w\.options.*signd"):
        load_qtensors(tmp_path / "opts.safetensors")
    info["tensors"]["w"]["options"] = {"signed": True}  # a known option loads
    save_file(arrays, str(tmp_path / "opts.safetensors"), metadata={"lowbit": json.dumps(info)})
    assert torch.equal(load_qtensors(tmp_path / "opts.safetensors")["w"].codes, q.codes)


def test_unknown_quantize_options_are_refused():
    x = torch.randn(4, 8)
    with pytest.raises(lowbit.LowbitError, match=r"options.*'int'.*signd"):
        lowbit.quantize(x, "int", 4, signd=False)
    with pytest.raises(lowbit.LowbitError, match=r"options.*'nf'.*no options.*sample_weight"):
        lowbit.quantize(x, "nf", 4, sample_weight=torch.ones(4, 8))  # nf's fit has no weights to use
    assert lowbit.quantize(x, "int", 4, signed=False).code_range == (0, 15)


def test_bad_arguments(tmp_path):
    with pytest.raises(lowbit.LowbitError, match="tensors"):
        save_qtensors(tmp_path / "x.safetensors", {})
    with pytest.raises(lowbit.LowbitError, match="name"):
        save_qtensors(tmp_path / "x.safetensors", {"a.b": lowbit.quantize(torch.randn(4), "int", 8)})
