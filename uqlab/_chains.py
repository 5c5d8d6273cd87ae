"""Sampler diagnostics via ArviZ: R-hat and ESS in weight space and in function space.

Weight-space diagnostics of neural networks are distorted by permutation and sign symmetries
(chains may sit in equivalent modes), so the ESS and R-hat of the *predictions* at a few inputs
are reported as well; those are what the calibration metrics depend on.

Inference computes these for ``posterior.info``; users reach them as
:mod:`uqlab.diagnostics.sampler`. They sit here, below both layers, so that inference need not
import diagnostics.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RHAT_WARN", "RHAT_FAIL", "ESS_WARN", "ESS_FAIL", "cell_status", "chain_diagnostics", "function_space_diagnostics", "inference_data_diagnostics", "summarize_chains"]


RHAT_WARN, RHAT_FAIL = 1.01, 1.05
"""R-hat above RHAT_WARN: mixing doubtful; above RHAT_FAIL: chains have not mixed (Vehtari et al., 2021)."""
ESS_WARN, ESS_FAIL = 400.0, 100.0
"""Bulk/tail ESS below ESS_WARN: summaries noisy; below ESS_FAIL: too few independent draws."""


def cell_status(key: str, value) -> str | None:
    """``"fail"``, ``"warn"`` or None for one sampler diagnostic (``rhat*``, ``ess*``, ``divergences``)."""
    if value is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    name = key.removeprefix("pred_")
    if name.startswith("rhat"):
        if not math.isfinite(value) or value > RHAT_FAIL:
            return "fail"
        return "warn" if value > RHAT_WARN else None
    if name.startswith("ess"):
        if not math.isfinite(value) or value < ESS_FAIL:
            return "fail"
        return "warn" if value < ESS_WARN else None
    if name == "divergences":
        return "warn" if value > 0 else None
    return None


def chain_diagnostics(draws: np.ndarray) -> dict:
    """Rank-normalised split R-hat and bulk/tail ESS (Vehtari et al., 2021) per column.

    Args:
        draws: array ``(chains, draws, K)``.

    Returns:
        dict of ``(K,)`` arrays: ``rhat``, ``ess_bulk``, ``ess_tail``.
    """
    import arviz as az

    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim != 3:
        raise ValueError(f"draws: expected shape (chains, draws, K), got {draws.shape}")
    dataset = az.convert_to_dataset({"v": draws})
    out = {
        "rhat": az.rhat(dataset)["v"].values,
        "ess_bulk": az.ess(dataset, method="bulk")["v"].values,
        "ess_tail": az.ess(dataset, method="tail")["v"].values,
    }
    return {k: np.nan_to_num(v, nan=np.inf if k == "rhat" else 0.0) for k, v in out.items()}


def summarize_chains(draws, posterior, x_train: np.ndarray | None, num_points: int = 16) -> dict:
    """Worst-case weight-space and function-space diagnostics for ``posterior.info``.

    Args:
        draws: params pytree with leading ``(chains, draws)`` axes.
        posterior: the posterior (used to predict at a few training inputs per draw).
        x_train: training inputs (original units), or None for weight-space diagnostics only.
        num_points: how many evenly spaced training inputs to use for function-space ESS.
    """
    import jax

    leaves = [np.asarray(a, np.float64) for a in jax.tree_util.tree_leaves(draws)]
    chains, num_draws = leaves[0].shape[:2]
    flat = np.concatenate([a.reshape(chains, num_draws, int(np.prod(a.shape[2:]))) for a in leaves], axis=-1)
    weights = chain_diagnostics(flat)
    out = {
        "rhat_max": float(weights["rhat"].max()),
        "ess_bulk_min": float(weights["ess_bulk"].min()),
        "ess_tail_min": float(weights["ess_tail"].min()),
    }
    if x_train is None:
        return out
    index = np.linspace(0, len(x_train) - 1, min(num_points, len(x_train))).round().astype(int)
    loc = posterior.predict(x_train[index]).loc  # (chains * draws, points, d_out)
    return {**out, **function_space_diagnostics(loc, chains)}


def function_space_diagnostics(loc: np.ndarray, num_chains: int) -> dict:
    """R-hat and bulk/tail ESS of the predictions themselves (function space).

    Args:
        loc: member means of a Predictive from MCMC, shape ``(chains * draws, N, D)``, chain-major
            (``Predictive.loc`` of an MCMC posterior).
        num_chains: number of chains the members came from.

    Returns:
        ``{"pred_rhat_max", "pred_ess_bulk_min", "pred_ess_bulk_median", "pred_ess_tail_min"}``.
    """
    loc = np.asarray(loc, dtype=np.float64)
    if loc.ndim != 3 or loc.shape[0] % num_chains:
        raise ValueError(f"loc: expected shape (chains * draws, N, D) with {num_chains} chains, got {loc.shape}")
    out = chain_diagnostics(loc.reshape(num_chains, loc.shape[0] // num_chains, -1))
    return {
        "pred_rhat_max": float(out["rhat"].max()),
        "pred_ess_bulk_min": float(out["ess_bulk"].min()),
        "pred_ess_bulk_median": float(np.median(out["ess_bulk"])),
        "pred_ess_tail_min": float(out["ess_tail"].min()),
    }


def inference_data_diagnostics(idata) -> dict:
    """Worst-case R-hat and ESS over all posterior variables, divergences and acceptance, via ArviZ.

    Args:
        idata: an ``arviz.InferenceData`` (e.g. ``posterior.to_arviz()``); ``sample_stats`` entries
            ``diverging`` and ``acceptance_rate`` are read when present.
    """
    import arviz as az

    summary = az.summary(idata, kind="diagnostics")
    out = {
        "rhat_max": float(summary["r_hat"].max()),
        "ess_bulk_min": float(summary["ess_bulk"].min()),
        "ess_tail_min": float(summary["ess_tail"].min()),
    }
    stats = getattr(idata, "sample_stats", None)
    if stats is not None and "diverging" in stats:
        out["divergences"] = int(stats["diverging"].values.sum())
    if stats is not None and "acceptance_rate" in stats:
        out["acceptance_rate"] = float(stats["acceptance_rate"].values.mean())
    return out
