"""Judgements a report states per method: convergence first, then calibration on observed targets
and on the latent (noise-free) function, and the inferred coefficients with their chain diagnostics.

Convergence gates calibration: a method whose chains have not mixed gets "not converged", and its
coverage numbers are shown only as raw numbers, never as a calibration claim. The thresholds are
those of Vehtari et al. (2021), "Rank-normalization, folding, and localization: an improved
R-hat for assessing convergence of MCMC", Bayesian Analysis 16(2): R-hat below 1.01 and bulk ESS
above 400 (100 per chain for four chains) to trust the summaries; R-hat above 1.05 or ESS below
100 means the chains disagree or carry almost no independent information.

Two calibration questions are kept apart, and each verdict says which it answers:

- *observed targets*: do the full predictive intervals (epistemic plus observation noise) cover
  noisy test observations ``y`` at their nominal rate? Asked only when the test targets are noisy
  observations; when they are the noise-free field itself (the PDE problems), the full predictive
  would be judged against targets without the noise it includes, so that question is not asked.
- *latent function*: does the method's uncertainty about the noise-free function ``f`` (the
  Gaussian ``N(mean, epistemic variance)``, the spread of its member means) cover the true ``f``?
  Asked when the problem knows ``f`` on the test inputs and the Predictive has several members.

Both use :func:`uqlab.diagnostics.calibration.verdict` (the coverage gap against two binomial
standard errors), so one rule decides every label on the page.
"""

from __future__ import annotations

import numpy as np

from uqlab._chains import ESS_FAIL, ESS_WARN, RHAT_FAIL, RHAT_WARN, cell_status
from uqlab.diagnostics.calibration import verdict
from uqlab.predictive import Predictive

__all__ = ["RHAT_WARN", "RHAT_FAIL", "ESS_WARN", "ESS_FAIL", "cell_status", "convergence", "latent_predictive",
           "targets_are_latent", "coefficients", "method_verdicts"]

def convergence(info: dict, coefficient_diagnostics: dict | None = None) -> dict | None:
    """Whether a method's chains have mixed, from its info and its coefficients' R-hat/ESS.

    Function-space diagnostics (``pred_*``: on predictions) are used when present, since the
    weight-space ones of neural networks are distorted by permutation symmetries; otherwise the
    weight-space ones; plus the R-hat and bulk ESS of every inferred coefficient.

    Returns:
        None for a method without chain diagnostics; else ``{"status": "converged" | "doubtful" |
        "not converged", "reasons": [str, ...]}``.
    """
    space = "pred_" if any(k.startswith("pred_") for k in info) else ""
    checks = {f"{space}{k}": info.get(f"{space}{k}") for k in ("rhat_max", "ess_bulk_min", "ess_tail_min")}
    for name, values in (coefficient_diagnostics or {}).items():
        checks[f"R-hat of {name}"] = values.get("rhat")
        checks[f"bulk ESS of {name}"] = values.get("ess_bulk")
    checks = {k: v for k, v in checks.items() if v is not None}
    if not checks:
        return None
    reasons, status = [], "converged"
    for key, value in checks.items():
        level = cell_status("rhat" if "R-hat" in key else "ess" if "ESS" in key else key, value)
        if level is None:
            continue
        bound = {("rhat", "fail"): f"> {RHAT_FAIL}", ("rhat", "warn"): f"> {RHAT_WARN}",
                 ("ess", "fail"): f"< {ESS_FAIL:.0f}", ("ess", "warn"): f"< {ESS_WARN:.0f}"}
        kind = "rhat" if ("rhat" in key or "R-hat" in key) else "ess"
        reasons.append(f"{key} {value:.3g} {bound[kind, level]}")
        status = "not converged" if level == "fail" else ("doubtful" if status == "converged" else status)
    return {"status": status, "reasons": reasons}


def latent_predictive(pred: Predictive) -> Predictive | None:
    """``N(mean, epistemic variance)`` per point: the method's uncertainty about the noise-free
    function; None when the Predictive has one member (no epistemic/aleatoric split)."""
    if pred.num_members < 2:
        return None
    sd = np.sqrt(np.maximum(pred.epistemic_var, np.finfo(float).tiny))
    return Predictive(pred.mean[None], sd[None])


def targets_are_latent(comparison) -> bool:
    """True when the test targets are the noise-free function itself (``y_test == truth["f_test"]``)."""
    data, f = comparison.data, comparison.truth.get("f_test")
    if data is None or data.y_test is None or f is None:
        return False
    f = np.asarray(f, dtype=float)
    return f.size == data.y_test.size and bool(np.allclose(f.reshape(data.y_test.shape), data.y_test))


def _latent_targets(comparison):
    f = comparison.truth.get("f_test")
    if f is None or comparison.data is None or comparison.data.y_test is None:
        return None
    f = np.asarray(f, dtype=float)
    return f.reshape(comparison.data.y_test.shape) if f.size == comparison.data.y_test.size else None


def coefficients(comparison, level: float = 0.95) -> dict:
    """Per method and inferred quantity: ``{mean, lower, upper, level, truth, rhat, ess_bulk}``.

    ``lower``/``upper`` bound the central ``level`` interval of the draws; ``truth`` is the
    problem's true value (None when unknown); ``rhat``/``ess_bulk`` are computed from the draws
    split into the method's chains (``info["num_chains"]`` >= 2), else None. A point estimate
    (one draw) has ``lower == upper``.
    """
    from uqlab.diagnostics.sampler import chain_diagnostics

    out = {}
    for method, quantities in comparison.quantities.items():
        chains = comparison.infos.get(method, {}).get("num_chains")
        rows = {}
        for name, pred in quantities.items():
            draws = np.asarray(pred.loc, dtype=float).reshape(pred.loc.shape[0], -1)[:, 0]
            lower, upper = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
            truth = comparison.truth.get(name)
            row = {"mean": float(draws.mean()), "lower": float(lower), "upper": float(upper), "level": level,
                   "truth": float(truth) if np.isscalar(truth) else None, "rhat": None, "ess_bulk": None}
            if isinstance(chains, int) and chains >= 2 and len(draws) % chains == 0 and len(draws) >= 4 * chains:
                diag = chain_diagnostics(draws.reshape(chains, -1, 1))
                row["rhat"], row["ess_bulk"] = float(diag["rhat"][0]), float(diag["ess_bulk"][0])
            rows[name] = row
        if rows:
            out[method] = rows
    return out


def _reword(result: dict, what: str) -> dict:
    return {**result, "text": result["text"].replace("of targets", f"of {what}", 1)}


def method_verdicts(comparison, level: float = 0.9, coefficient_table: dict | None = None) -> dict:
    """Per method: ``{"convergence", "observed", "latent", "judged"}``.

    ``observed`` / ``latent``: :func:`~uqlab.diagnostics.calibration.verdict` dicts (or None when
    that question is not asked, see the module docstring). ``judged`` is False when the chains
    have not converged: the calibration dicts then hold raw numbers, not claims.
    """
    data = comparison.data
    y = None if data is None else data.y_test
    latent_y = _latent_targets(comparison)
    observed_asked = y is not None and not targets_are_latent(comparison)
    coefficient_table = coefficients(comparison) if coefficient_table is None else coefficient_table
    out = {}
    for method, pred in comparison.predictives.items():
        conv = convergence(comparison.infos.get(method, {}), coefficient_table.get(method))
        observed = _reword(verdict(pred, y, level), "observed targets") if observed_asked else None
        latent_pred = latent_predictive(pred)
        latent = None
        if latent_y is not None and latent_pred is not None:
            latent = _reword(verdict(latent_pred, latent_y, level), "the true noise-free function")
        out[method] = {"convergence": conv, "observed": observed, "latent": latent,
                       "judged": conv is None or conv["status"] != "not converged"}
    return out
