"""What a quantized encoder kept, measured on labelled data: a logistic-regression probe per model under
the same stratified k-fold split, the per-fold differences against a reference model (far less noisy than
the accuracies themselves: fold-to-fold spread is ~±0.012 on the UCI sentences, the paired differences a
fraction of that), and the mean cosine between two models' sentence embeddings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lowbit.errors import LowbitError


def _as_2d(name: str, x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().float().numpy()
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise LowbitError(f"embeddings[{name!r}]: expected a 2-D float array, got {type(x).__name__}") from e
    if a.ndim != 2 or a.shape[0] == 0:
        raise LowbitError(f"embeddings[{name!r}]: expected a non-empty 2-D array [n, dim], got {a.shape}")
    if not np.isfinite(a).all():
        raise LowbitError(f"embeddings[{name!r}]: expected finite values, got NaN or inf")
    return a


def probe_accuracy(
    embeddings: Mapping[str, np.ndarray | torch.Tensor],
    labels: Any,
    reference: str | None = "fp32",
    folds: int = 5,
    seed: int = 0,
    C: float = 10.0,
) -> dict[str, dict[str, Any]]:
    """Cross-validated logistic-regression probe accuracy of each model's embeddings.

    One StratifiedKFold split (shuffled with ``seed``) is shared by all models; each model's probe is
    trained and tested on its own embeddings. Returns, per model name::

        {"accuracy": mean over folds, "folds": [accuracy per fold],
         "delta": mean of (accuracy - reference's accuracy) over the same folds,
         "delta_std": sample std of those per-fold differences, "delta_folds": [...]}

    The delta fields are present when ``reference`` is given (it must be one of the models; its own
    deltas are 0).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    if not isinstance(embeddings, Mapping) or not embeddings:
        raise LowbitError("embeddings: expected a non-empty dict of model name -> [n, dim] array")
    if reference is not None and reference not in embeddings:
        raise LowbitError(f"reference: expected one of {sorted(embeddings)}, got {reference!r}")
    y = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels).ravel()
    if not isinstance(folds, int) or folds < 2:
        raise LowbitError(f"folds: expected an int >= 2, got {folds!r}")
    xs = {name: _as_2d(name, x) for name, x in embeddings.items()}
    for name, x in xs.items():
        if x.shape[0] != len(y):
            raise LowbitError(
                f"embeddings[{name!r}]: expected {len(y)} rows (one per label), got {x.shape[0]}"
            )
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or counts.min() < folds:
        raise LowbitError(
            f"labels: expected at least 2 classes with >= {folds} examples each, got counts "
            f"{dict(zip(classes.tolist(), counts.tolist(), strict=True))}"
        )
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    per_fold: dict[str, np.ndarray] = {}
    for name, x in xs.items():
        accs = []
        for train, test in splits:
            clf = LogisticRegression(C=C, max_iter=5000).fit(x[train], y[train])
            accs.append(float(clf.score(x[test], y[test])))
        per_fold[name] = np.array(accs)
    out: dict[str, dict[str, Any]] = {}
    for name, accs in per_fold.items():
        row: dict[str, Any] = {"accuracy": float(accs.mean()), "folds": accs.tolist()}
        if reference is not None:
            d = accs - per_fold[reference]
            row.update(delta=float(d.mean()), delta_std=float(d.std(ddof=1)), delta_folds=d.tolist())
        out[name] = row
    return out


def mean_cosine(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Mean over rows of the cosine similarity between a[i] and b[i] (rows need not be normalised)."""
    x, y = _as_2d("a", a), _as_2d("b", b)
    if x.shape != y.shape:
        raise LowbitError(f"b: expected the shape of a {x.shape}, got {y.shape}")
    nx, ny = np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1)
    if (nx == 0).any() or (ny == 0).any():
        raise LowbitError("a, b: expected non-zero rows (the cosine of a zero vector is undefined)")
    return float(((x * y).sum(1) / (nx * ny)).mean())


def embed_all(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, batch: int = 64
) -> torch.Tensor:
    """``model.embed`` over all rows in batches of ``batch``; each batch is cut after its last column
    with a real token (all-padding trailing columns change a float model's output by nothing but
    rounding; they cost time, and in dynamically quantized models they would widen activation ranges)."""
    if len(input_ids) != len(attention_mask) or len(input_ids) == 0:
        raise LowbitError(
            f"input_ids: expected a non-empty batch matching attention_mask, got {len(input_ids)} and "
            f"{len(attention_mask)} rows"
        )
    out = []
    with torch.inference_mode():
        for i in range(0, len(input_ids), batch):
            m = attention_mask[i : i + batch]
            used = torch.as_tensor(m).bool().any(0).nonzero()
            t = int(used.max()) + 1 if len(used) else 1
            out.append(torch.as_tensor(model.embed(input_ids[i : i + batch, :t], m[:, :t])).float())
    return torch.cat(out)
