"""Stochastic variational inference for NumPyro models with NumPyro's autoguides (Ranganath et al., 2014;
Kucukelbir et al., "Automatic Differentiation Variational Inference", JMLR 2017).

``uqlab.fit(numpyro_model, data_dict, "svi", guide=...)`` maximises the ELBO
``E_q[log p(z, D) - log q(z)]`` of an automatic guide over the model's latent sites (in the
unconstrained space): ``"normal"`` (``AutoNormal``, mean field), ``"mvn"``
(``AutoMultivariateNormal``, full-rank Cholesky), ``"lowrank"`` (``AutoLowRankMultivariateNormal``,
``D + W W^T`` of rank ``rank``) or ``"delta"`` (``AutoDelta``, a MAP point). The optimisation is
NumPyro's ``SVI.update`` with optax Adam (cosine-decayed by default) inside :func:`~uqlab.inference.transform.scan_with_progress`;
``num_draws`` draws of q (constrained) become a :class:`~uqlab.inference.targets.NumPyroPosterior`,
so ``samples()``, ``predictive(site, **kwargs)``, ``to_arviz`` and save/load work as after NUTS.
A Pyro model routes to :class:`~uqlab.inference.torch.pyro.PyroSVI` with the same settings.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.inference.base import Method
from uqlab.inference.driver import check_finite
from uqlab.inference.kernels.optimizers import SCHEDULES

__all__ = ["SVI", "GUIDES", "check_function_model"]

GUIDES = ("normal", "mvn", "lowrank", "delta")
"""Automatic guides: mean-field, full-rank and low-rank Gaussians, and a point mass (MAP)."""


def check_function_model(model, data, label: str):
    """The model function and its data dict, or a TypeError naming the argument."""
    fn = getattr(model, "fn", model)
    if not callable(fn) or hasattr(fn, "log_likelihood"):
        raise TypeError(f"model: {label} fits a model function (NumPyro or Pyro), got {type(model).__name__}")
    if not isinstance(data, dict):
        raise TypeError(f"data: {label} takes the model's keyword arguments as a dict, got {type(data).__name__}")
    return fn


def no_observed_site(model_name: str, sites) -> ValueError:
    """The error for a model without an observed site (nothing to condition on)."""
    return ValueError(f"model: {model_name} has no observed site (a sample statement with obs=...) for the data "
                      f"given; its sites are {sorted(sites)}")


@dataclasses.dataclass(frozen=True)
class SVI(Method):
    """SVI with an automatic guide for a NumPyro (or, routed, Pyro) model function.

    Args:
        guide: "normal", "mvn", "lowrank" or "delta" (see the module docstring).
        num_steps: optimisation steps.
        learning_rate: Adam learning rate (the peak one under a schedule).
        schedule: "cosine" decay of the step to 1 % (settles the final iterate at the optimum
            rather than at Adam's noise floor around it) or "constant".
        num_particles: Monte Carlo samples per ELBO estimate.
        num_draws: draws of q kept as the posterior's members.
        rank: rank of the "lowrank" guide (None: NumPyro's default, about sqrt of the dimension).
        init_scale: initial scale of the Gaussian guides.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "svi"
    guide: str = "normal"
    num_steps: int = 2000
    learning_rate: float = 1e-2
    schedule: str = "cosine"
    num_particles: int = 1
    num_draws: int = 1000
    rank: int | None = None
    init_scale: float = 0.1
    progress: bool | None = None

    def __post_init__(self):
        check_choice("guide", self.guide, GUIDES)
        check_positive_int("num_steps", self.num_steps)
        check_positive("learning_rate", self.learning_rate)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_positive_int("num_particles", self.num_particles)
        check_positive_int("num_draws", self.num_draws)
        check_positive_int("rank", self.rank, allow_none=True)
        check_positive("init_scale", self.init_scale)

    def _guide(self, fn, autoguide):
        """The automatic guide of ``fn`` from ``autoguide``: ``numpyro.infer.autoguide`` or
        ``pyro.infer.autoguide`` (the two libraries name and parameterise these guides alike)."""
        if self.guide == "delta":
            return autoguide.AutoDelta(fn)
        cls = {"normal": autoguide.AutoNormal, "mvn": autoguide.AutoMultivariateNormal,
               "lowrank": autoguide.AutoLowRankMultivariateNormal}[self.guide]
        extra = {"rank": self.rank} if self.guide == "lowrank" and self.rank is not None else {}
        return cls(fn, init_scale=self.init_scale, **extra)

    def fit(self, model, data, *, key=0):
        """Maximise the ELBO; return ``num_draws`` draws of the guide as a NumPyroPosterior."""
        import jax
        from numpyro import handlers
        from numpyro.infer import SVI as NumPyroSVI
        from numpyro.infer import Trace_ELBO, autoguide

        from uqlab.inference.kernels.optimizers import adam
        from uqlab.inference.targets import NumPyroModel, NumPyroPosterior
        from uqlab.inference.transform import scan_with_progress

        fn = check_function_model(model, data, "svi")
        trace = handlers.trace(handlers.seed(fn, 0)).get_trace(**data)
        if not any(site["type"] == "sample" and site.get("is_observed") for site in trace.values()):
            raise no_observed_site(getattr(fn, "__name__", "the model"), trace)
        init_key, draw_key = jax.random.split(as_key(key))
        start = time.perf_counter()
        guide = self._guide(fn, autoguide)
        svi = NumPyroSVI(fn, guide, adam(self.learning_rate, self.num_steps, self.schedule), Trace_ELBO(num_particles=self.num_particles))
        state = svi.init(init_key, **data)
        step = lambda state, _: svi.update(state, **data)  # noqa: E731
        state, losses = scan_with_progress(step, state, np.zeros(self.num_steps), num_steps=self.num_steps, desc="SVI",
                                           progress=self.progress)
        check_finite("SVI", losses[-max(1, self.num_steps // 10):], "the ELBO loss", "learning_rate")
        params = svi.get_params(state)
        draws = guide.sample_posterior(draw_key, params, sample_shape=(self.num_draws,))
        latent = {name for name, site in trace.items() if site["type"] == "sample" and not site.get("is_observed")}
        draws = {k: np.asarray(v) for k, v in jax.device_get(draws).items() if k in latent}
        info = {"fit_seconds": time.perf_counter() - start, "elbo": -np.asarray(losses),
                "final_elbo": float(-np.mean(losses[-max(1, self.num_steps // 10):]))}
        return NumPyroPosterior(self, NumPyroModel(fn), None, info, particles=draws, num_chains=1)
