import numpy as np
import pytest
import torch

from lowbit import LowbitError
from lowbit.nn import DynamicInt8Linear, quantize_dynamic


def test_dynamic_linear_is_the_integer_matmul():
    """Output = float32(sum (a - zp) * w_code) * s_x * s_w + bias, with a/zp from the call's min/max."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(70, 33)
    mod = DynamicInt8Linear.from_float(lin, threads=2)
    x = torch.randn(2, 5, 70) * 3
    y = mod(x)
    x2 = x.reshape(-1, 70)
    lo, hi = min(float(x2.min()), 0.0), max(float(x2.max()), 0.0)
    s_x = (hi - lo) / 255
    zp = int(round(-lo / s_x))
    a = np.clip(np.rint(x2.numpy() / np.float32(s_x)) + zp, 0, 255).astype(np.int64)  # float32 division
    acc = (a - zp) @ mod.weight_codes.numpy().astype(np.int64).T
    want = (
        acc.astype(np.float32) * (mod.weight_scale * s_x).numpy().astype(np.float32)
        + lin.bias.detach().numpy()
    )
    assert y.shape == (2, 5, 33)
    np.testing.assert_array_equal(y.reshape(-1, 33).numpy(), want)
    assert int(mod.weight_codes.min()) >= -127  # narrow range
    # and it is a good approximation of the float layer
    ref = lin(x).detach()
    assert float((y - ref).abs().max()) < 0.05 * float(ref.abs().max())


def test_quantize_dynamic_replaces_every_linear():
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Linear(16, 4))
    )
    quantize_dynamic(model)
    kinds = [type(m).__name__ for m in model.modules()]
    assert "Linear" not in kinds and kinds.count("DynamicInt8Linear") == 2
    assert model(torch.randn(3, 8)).shape == (3, 4)


def test_minilm_keeps_its_embeddings():
    from lowbit.models.minilm import load_minilm, tokenize

    ids, mask = tokenize(["The food was great!", "Terrible service, would not come back.", "ok"])
    with torch.inference_mode():
        ref = load_minilm().embed(ids, mask)
        got = quantize_dynamic(load_minilm()).embed(ids, mask)
    cos = (ref * got).sum(1)  # measured 0.992, 0.989, 0.965 (per-tensor activation ranges are coarse)
    assert float(cos.mean()) > 0.97 and float(cos.min()) > 0.95


def test_bad_input():
    with pytest.raises(LowbitError, match="linear"):
        DynamicInt8Linear.from_float(torch.nn.Conv1d(2, 2, 1))
