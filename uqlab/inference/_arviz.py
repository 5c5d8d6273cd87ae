"""Export of posterior draws to ArviZ ``InferenceData`` (Kumar et al., 2019, JOSS 4(33):1143)."""

from __future__ import annotations

import numpy as np

from uqlab.inference.serialization import leaf_names

__all__ = ["to_inference_data", "predictive_draws"]


def to_inference_data(posterior, draws, sample_stats: dict | None, x):
    """Build ``arviz.InferenceData`` from ``(chain, draw, ...)`` arrays.

    Args:
        posterior: the Posterior (used to predict at ``x``; ``num_chains`` splits its members).
        draws: params pytree with leading ``(chain, draw)`` axes, or None: then ``posterior``
            holds the members' predictive mean ``f`` at ``x`` instead.
        sample_stats: ``{name: (chain, draw)}`` sampler statistics, or None.
        x: inputs ``(N, d_in)`` (original units) for the ``posterior_predictive`` group ``y``
            (each member's predictive mean), or None.
    """
    import arviz as az

    groups = {}
    num_chains = getattr(posterior, "num_chains", 1)
    if x is not None:
        loc = posterior.predict(x).loc
        groups["posterior_predictive"] = {"y": loc.reshape(num_chains, -1, *loc.shape[1:])}
    if draws is None:
        groups["posterior"] = {"f": groups["posterior_predictive"]["y"]}
    else:
        groups["posterior"] = leaf_names(draws)[1]
    if sample_stats:
        groups["sample_stats"] = {k: np.asarray(v) for k, v in sample_stats.items()}
    return az.from_dict(**groups)


def predictive_draws(posterior, x, num_samples: int, seed: int):
    """``arviz.InferenceData`` of ``num_samples`` draws of ``y`` from ``posterior.predict(x)`` (one chain)."""
    import arviz as az

    draws = posterior.predict(x).sample(num_samples, seed)[None]  # (1, num_samples, N, D)
    return az.from_dict(posterior={"y": draws}, posterior_predictive={"y": draws})
