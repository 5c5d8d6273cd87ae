"""Where is a surrogate wrong: coverage and interval width by input region.

A pooled coverage hides where a method fails: on the default 1-D problem a method can cover well
inside the training range and badly beyond it. The test inputs are split into regions, and each
method's central-interval coverage (with its binomial standard error) and mean width are reported
per region.

Regions come from the problem when it defines them (``truth["regions"]``: name -> list of
``[low, high]`` intervals of a 1-D input, e.g. toy1d's training range, gap and extrapolation);
otherwise from the distance of each test input to its nearest training input (inputs scaled by
the training standard deviation per dimension), in four equal-count bins.

Which targets are scored follows :mod:`uqlab.diagnostics.verdicts`: noisy observations are
covered by the full predictive; a noise-free field (the PDE problems) by the latent band
``N(mean, epistemic variance)``.
"""

from __future__ import annotations

import numpy as np

from uqlab.diagnostics.verdicts import latent_predictive, targets_are_latent

__all__ = ["region_labels", "region_coverage"]

NUM_DISTANCE_BINS = 4


def _distances(x_test: np.ndarray, x_train: np.ndarray, block: int = 2048) -> np.ndarray:
    """Distance of each test input to the nearest training input, per-dimension standardised."""
    scale = x_train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    a, b = x_test / scale, x_train / scale
    out = np.empty(len(a))
    for start in range(0, len(a), block):
        d2 = ((a[start:start + block, None, :] - b[None]) ** 2).sum(-1)
        out[start:start + block] = np.sqrt(d2.min(axis=1))
    return out


def region_labels(comparison) -> tuple[list[str], np.ndarray, str, str]:
    """``(names, index, how, axis)``: region names, each test point's region index (-1: none), how
    the regions were defined (for captions) and what they are (an axis label)."""
    data = comparison.data
    x_test = np.asarray(data.x_test, dtype=float)
    regions = comparison.truth.get("regions")
    if regions and x_test.shape[1] == 1:
        index = np.full(len(x_test), -1)
        for i, intervals in enumerate(regions.values()):
            for low, high in intervals:
                low = -np.inf if low is None else low
                high = np.inf if high is None else high
                index[(index < 0) & (x_test[:, 0] >= low) & (x_test[:, 0] <= high)] = i
        return list(regions), index, "regions the problem defines", "input region"
    distance = _distances(x_test, np.asarray(data.x, dtype=float))
    edges = np.unique(np.quantile(distance, np.linspace(0, 1, NUM_DISTANCE_BINS + 1)))
    index = np.clip(np.searchsorted(edges, distance, side="right") - 1, 0, len(edges) - 2)
    names = [f"{lo:.2g} to {hi:.2g}" for lo, hi in zip(edges[:-1], edges[1:])]
    how = ("distance of each test input to its nearest training input (inputs divided by the training "
           "standard deviation), in equal-count bins")
    return names, index, how, "distance to the nearest training input (scaled)"


def region_coverage(comparison, level: float = 0.9) -> dict:
    """Per region and method: number of points, coverage at ``level`` with its standard error, and
    mean interval width.

    Returns:
        ``{"level", "targets", "how", "axis", "regions": {region: {"n": int, "methods": {method:
        {"coverage", "se", "width"}}}}}``; ``targets`` is "observed targets" or "noise-free
        function (latent band)". Methods without a latent band are left out in the latter case.
    """
    names, index, how, axis = region_labels(comparison)
    y = np.asarray(comparison.data.y_test, dtype=float)
    latent = targets_are_latent(comparison)
    per_method = {}
    for method, pred in comparison.predictives.items():
        scored = latent_predictive(pred) if latent else pred
        if scored is None:
            continue
        lower, upper = scored.interval(level)
        per_method[method] = (((lower <= y) & (y <= upper)).mean(axis=1), (upper - lower).mean(axis=1))
    out = {}
    for i, name in enumerate(names):
        mask = index == i
        n = int(mask.sum())
        if n == 0:
            continue
        methods = {}
        for method, (inside, width) in per_method.items():
            p = float(inside[mask].mean())
            methods[method] = {"coverage": p, "se": float(np.sqrt(p * (1 - p) / n)), "width": float(width[mask].mean())}
        out[name] = {"n": n, "methods": methods}
    return {"level": level, "targets": "noise-free function (latent band)" if latent else "observed targets",
            "how": how, "axis": axis, "regions": out}
