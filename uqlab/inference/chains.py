"""Chain diagnostics of a fit, via ArviZ: R-hat and ESS on parameters and on predictions.

Rank-normalised split R-hat and bulk/tail effective sample sizes (Vehtari, Gelman, Simpson,
Carpenter & Bürkner, "Rank-normalization, folding, and localization: an improved R-hat", Bayesian
Analysis 2021) over every scalar parameter and, for models that predict, over the predictive
means at up to 16 training inputs. Weight-space diagnostics of neural networks are distorted by
permutation and sign symmetries between chains; the predictions are what calibration depends on.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rhat_ess", "chain_summary"]


def rhat_ess(draws: np.ndarray) -> dict:
    """R-hat and bulk/tail ESS per column of ``draws`` ``(chains, draws, K)``; NaN R-hat -> inf, NaN ESS -> 0."""
    import arviz as az

    dataset = az.convert_to_dataset({"v": np.asarray(draws, np.float64)})
    out = {
        "rhat": az.rhat(dataset)["v"].values,
        "ess_bulk": az.ess(dataset, method="bulk")["v"].values,
        "ess_tail": az.ess(dataset, method="tail")["v"].values,
    }
    return {k: np.nan_to_num(v, nan=np.inf if k == "rhat" else 0.0) for k, v in out.items()}


def chain_summary(draws, posterior, data=None, num_points: int = 16) -> dict:
    """Worst-case diagnostics of several chains for the fit's info.

    Args:
        draws: params pytree with leading ``(chains, draws)`` axes.
        posterior: the posterior (predicts at a few training inputs, if it can).
        data: the training :class:`~uqlab.data.Dataset`, or anything else (no predictions then).
        num_points: evenly spaced training inputs for the function-space diagnostics.
    """
    import jax

    leaves = [np.asarray(a, np.float64) for a in jax.tree_util.tree_leaves(draws)]
    chains, num_draws = leaves[0].shape[:2]
    weights = rhat_ess(np.concatenate([a.reshape(chains, num_draws, int(np.prod(a.shape[2:]))) for a in leaves], axis=-1))
    out = {
        "rhat_max": float(weights["rhat"].max()),
        "ess_bulk_min": float(weights["ess_bulk"].min()),
        "ess_tail_min": float(weights["ess_tail"].min()),
    }
    x = getattr(data, "x", None)
    if x is None or getattr(posterior, "scaler", None) is None:
        return out
    index = np.linspace(0, len(x) - 1, min(num_points, len(x))).round().astype(int)
    loc = np.asarray(posterior.predict(x[index]).loc, np.float64)  # (chains * draws, points, d_out)
    pred = rhat_ess(loc.reshape(chains, loc.shape[0] // chains, -1))
    return {
        **out,
        "pred_rhat_max": float(pred["rhat"].max()),
        "pred_ess_bulk_min": float(pred["ess_bulk"].min()),
        "pred_ess_bulk_median": float(np.median(pred["ess_bulk"])),
        "pred_ess_tail_min": float(pred["ess_tail"].min()),
    }
