"""OCTAV: MSE-optimal clipping by a Newton-Raphson fixed point (Sakr et al., ICML 2022, arXiv 2206.06501).

Model of a B-bit clipped uniform quantizer with clip s: inside [-s, s] the rounding noise is uniform,
step 2s / 2^B, variance (4^-B / 3) s^2; outside, the error is |x| - s. The expected squared error is

    J(s) = (4^-B / 3) s^2 P(0 < |X| <= s) + E[(|X| - s)^2 1{|X| > s}]

and the recursion (the paper's eq. 6, a Newton step on J' with J'' ~ 2 (c P_in + P_out), whose fixed points
are exactly the stationary points of J) is

    s <- E[|X| 1{|X| > s}] / ((4^-B / 3) P(0 < |X| <= s) + P(|X| > s)).

For a grid that covers one sign only (unsigned data, [0, s] with 2^B levels) the step halves and the
constant is 4^-B / 12. Exact zeros are left out of the noise term (``0 < |X|``) because zero is a code:
it matters for sparse tensors (ReLU outputs), not for weights.

Checked against (a) google-ai-edge/ai-edge-quantizer's octav.py (``_guess_clipping_with_octav``): the same
update written as sum(|x| 1{|x| >= s}) / ((1 - c) n_out + c n) with c = 4^-B / 3 (12 for their asymmetric
case), a fixed iteration budget and an early stop when the guess stops changing; and (b) tpu-mlir's
documented OCTAV pseudocode: the same update with the 1{0 < |x| <= s} indicator, at most 20 iterations and
a convergence threshold. The paper's own text was not reachable from here; the formulas above are those of
lowbit's METHODS.md, which both implementations agree with. MAD is in ``mad.py``.

Start: s0 = E|X| (what the recursion gives from s = 0 or from s = max|X|, in one or two steps fewer).
``octav_clip`` is the training-loop entry point: no autograd, any device/dtype, a few reductions per
iteration.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lowbit.calibrate.base import Observer, check_bits, one_sided, signed_range
from lowbit.calibrate.samples import DEFAULT_MAX_ELEMENTS, SampleObserverMixin
from lowbit.errors import expect

MAX_ITER = 20
TOL = 1e-4


def noise_coef(bits: int, signed: bool = True) -> float:
    """Rounding-noise variance per s^2: 4^-B/3 for a grid on [-s, s], 4^-B/12 for one on [0, s]."""
    return 4.0 ** (-bits) / (3.0 if signed else 12.0)


def grid_noise_coef(bits: int, signed: bool = True, narrow: bool = False) -> float:
    """Rounding-noise variance per s^2 of lowbit's int grid fitted to [-s, s] (signed=True: symmetric) or
    to [0, s] (signed=False: the codes of an asymmetric grid on one-sided data): step^2 / 12 / s^2.

    The paper's 4^-B assumes 2^B steps across the clip range; the int grid has 2(2^(B-1) - 1) steps across
    [-s, s] (its lowest code stays unused) and 2^B - 1 across [0, s]. At 2 bits that halves the step count
    and the paper's clip is then ~1.7x too wide for lowbit's grid; at 8 bits the two agree within 1%.
    """
    if signed:
        steps = (1 << (bits - 1)) - 1
    else:
        steps = (1 << bits) - 1 - int(narrow)
    return 1.0 / (12.0 * max(steps, 1) ** 2)


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _objective_at(a: torch.Tensor, s: torch.Tensor, coef, dims: tuple[int, ...]) -> torch.Tensor:
    inside = (a > 0) & (a <= s)
    return (coef * s**2 * inside + torch.where(a > s, (a - s) ** 2, 0.0)).mean(dim=dims, keepdim=True)


def _fixed_point(
    a: torch.Tensor, coef: torch.Tensor | float, dims: tuple[int, ...], tol: float | None, max_iter: int
) -> tuple[torch.Tensor, int]:
    n = 1
    for d in dims:
        n *= a.shape[d]
    p_nonzero = (a > 0).sum(dim=dims, keepdim=True).to(a.dtype) / n
    s = prev = a.mean(dim=dims, keepdim=True)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        out = a > s
        p_out = out.sum(dim=dims, keepdim=True).to(a.dtype) / n
        e_out = torch.where(out, a, 0.0).sum(dim=dims, keepdim=True) / n
        denom = coef * (p_nonzero - p_out) + p_out
        new = e_out / denom.clamp(min=torch.finfo(a.dtype).tiny)
        if tol is None:
            prev, s = s, new
            continue
        # On a finite sample the update is a step function of s: where a data point sits between two
        # clips, it can jump over the diagonal and alternate between them forever (a 2-cycle, ~1e-3 apart
        # on 384-value channels). That is convergence too, to the data point between them.
        settled = (new - s).abs() <= tol * new
        cycling = (new - prev).abs() <= tol * new
        prev, s = s, new
        if bool((settled | cycling).all()):
            if bool(cycling.any()):
                better = _objective_at(a, prev, coef, dims) < _objective_at(a, s, coef, dims)
                s = torch.where(cycling & ~settled & better, prev, s)
            break
    return s, iterations


@torch.no_grad()
def octav_clip(
    x: torch.Tensor,
    bits: int,
    *,
    signed: bool = True,
    dim: int | Sequence[int] | None = None,
    tol: float | None = TOL,
    max_iter: int = MAX_ITER,
    noise: float | None = None,
) -> tuple[torch.Tensor, int]:
    """OCTAV's MSE-optimal magnitude clip ``s`` of ``x`` and the number of iterations it took.

    ``dim``: the dims that share one clip; ``s`` keeps them as size-1 dims, so it broadcasts against ``x``
    (default: all dims, one clip per tensor, returned 0-d). ``signed``: the grid covers [-s, s] (True)
    or [0, s] (False).
    Stops when every clip moved by at most ``tol`` (relative) or after ``max_iter`` steps; ``tol=None``
    always runs ``max_iter`` steps and never synchronises with the device. ``s`` has x's dtype; half
    precision inputs are reduced in float32. ``noise``: the rounding-noise variance per s^2, default the
    paper's ``noise_coef(bits, signed)``; ``grid_noise_coef`` gives the one of lowbit's int grid.

    Example:
        >>> s, n = octav_clip(torch.randn(4096, generator=torch.Generator().manual_seed(0)), bits=4)
        >>> 2.3 < float(s) < 2.9 and n <= 20
        True
    """
    bits = check_bits(bits)
    expect(isinstance(max_iter, int) and max_iter >= 1, "max_iter", "a positive int", max_iter)
    dims = tuple(range(x.ndim)) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    a = x.detach().abs().to(_work_dtype(x))
    if a.ndim == 0:
        a, dims = a.reshape(1), (0,)
    coef = noise_coef(bits, signed) if noise is None else float(noise)
    s, iterations = _fixed_point(a, coef, dims, tol, max_iter)
    return (s.reshape(()) if dim is None else s).to(x.dtype), iterations


def octav_objective(
    x: torch.Tensor, s: torch.Tensor, bits: int, signed: bool = True, noise: float | None = None
) -> torch.Tensor:
    """J(s) per block: blocks ``x`` [B, L], clips ``s`` [B] (or [B, K] for K clips per block)."""
    coef = noise_coef(bits, signed) if noise is None else float(noise)
    a = x.abs().to(torch.float64)[:, None, :]
    s2 = s.to(torch.float64).reshape(s.shape[0], -1)[:, :, None]
    inside = (a > 0) & (a <= s2)
    rounding = coef * s2.squeeze(2) ** 2 * inside.to(torch.float64).mean(dim=2)
    clip = torch.where(a > s2, (a - s2) ** 2, 0.0).mean(dim=2)
    return (rounding + clip).reshape(s.shape)


def _objective_sorted(
    sorted_a: torch.Tensor,
    s1: torch.Tensor,
    s2: torch.Tensor,
    n_zero: torch.Tensor,
    s: torch.Tensor,
    coef: float,
) -> torch.Tensor:
    """J at clips ``s`` [B, K] from |x| sorted per block and its prefix sums (O(log L) per clip)."""
    n = sorted_a.shape[1]
    k = torch.searchsorted(sorted_a, s.contiguous(), right=True)  # count of |x| <= s
    tail1 = s1[:, -1:] - torch.where(k > 0, s1.gather(1, (k - 1).clamp(min=0)), 0.0)
    tail2 = s2[:, -1:] - torch.where(k > 0, s2.gather(1, (k - 1).clamp(min=0)), 0.0)
    n_in = k.to(torch.float64) - n_zero[:, None]
    return (coef * s**2 * n_in + tail2 - 2 * s * tail1 + s**2 * (n - k)) / n


def octav_brute_force(
    x: torch.Tensor,
    bits: int,
    signed: bool = True,
    n_grid: int = 2048,
    refine: int = 2,
    noise: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-block (s, J(s)) minimising J over a dense grid on (0, max|x|], refined ``refine`` times.

    J is continuous and piecewise quadratic, so a dense grid plus refinement around the best point finds
    its global minimum to many digits; used to test the recursion.
    """
    a = x.abs().to(torch.float64)
    sorted_a = a.sort(dim=1).values
    s1, s2 = sorted_a.cumsum(1), (sorted_a**2).cumsum(1)
    n_zero = (a == 0).sum(dim=1).to(torch.float64)
    coef = noise_coef(bits, signed) if noise is None else float(noise)
    lo = torch.zeros_like(sorted_a[:, 0])
    hi = sorted_a[:, -1]
    for _ in range(refine + 1):
        t = torch.linspace(0, 1, n_grid + 1, dtype=torch.float64, device=a.device)[1:]
        grid = lo[:, None] + (hi - lo)[:, None] * t[None, :]
        j = _objective_sorted(sorted_a, s1, s2, n_zero, grid, coef)
        best = j.argmin(dim=1)
        step = (hi - lo) / n_grid
        s_best = grid.gather(1, best[:, None]).squeeze(1)
        lo, hi = (s_best - step).clamp(min=0), s_best + step
    return s_best, j.gather(1, best[:, None]).squeeze(1)


class OCTAV(SampleObserverMixin, Observer):
    """OCTAV clip per block on the observed values; the range is (-s, s), or one side only for one-sided
    blocks on an asymmetric grid (whose codes then all go to [0, s]).

    ``noise="grid"`` (default) models the rounding noise of the int grid that will actually be used
    (``grid_noise_coef``); ``noise="paper"`` uses the paper's 4^-B/3 and 4^-B/12. ``iterations`` is set by
    compute.
    """

    name = "octav"

    def __init__(
        self,
        tol: float = TOL,
        max_iter: int = MAX_ITER,
        noise: str = "grid",
        max_elements: int = DEFAULT_MAX_ELEMENTS,
        seed: int = 0,
    ) -> None:
        expect(isinstance(max_iter, int) and max_iter >= 1, "max_iter", "a positive int", max_iter)
        expect(noise in ("grid", "paper"), "noise", "'grid' or 'paper'", repr(noise))
        self.tol, self.max_iter, self.noise = float(tol), max_iter, noise
        self.max_elements, self.seed = max_elements, seed
        self.iterations = 0
        super().__init__()

    def _compute(self, bits, signed, symmetric, narrow):
        a = self.store.values().abs()
        half = one_sided(self.lo, self.hi) & (not symmetric)
        if self.noise == "paper":
            c_both, c_half = noise_coef(bits, True), noise_coef(bits, False)
        else:
            # The asymmetric grid on one-sided data spans [0, s] with all codes, whatever ``signed`` says.
            c_both, c_half = grid_noise_coef(bits, True), grid_noise_coef(bits, False, narrow)
        coef = torch.where(half, c_half, c_both).to(a.dtype)[:, None]
        s, self.iterations = _fixed_point(a, coef, (1,), self.tol, self.max_iter)
        return signed_range(s[:, 0], self.lo, self.hi, symmetric)
