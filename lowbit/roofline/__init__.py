"""Machine limits and the roofline model (the cache-boundness analysis of the seed paper)."""

from lowbit.roofline.model import LEVELS, Bound, Cost, Limits, ceiling, gemm_cost

__all__ = ["LEVELS", "Bound", "Cost", "Limits", "ceiling", "gemm_cost"]
