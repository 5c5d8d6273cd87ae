"""Pyro models: SVI with Pyro's autoguides and Pyro's NUTS, returning uqlab posteriors.

``uqlab.fit(pyro_model, data_dict, "svi", guide=...)`` is :class:`~uqlab.inference.svi.SVI` for a
Pyro model: ``pyro.infer.SVI`` with ``Trace_ELBO`` and Pyro's Adam, the guide ``AutoNormal``,
``AutoMultivariateNormal``, ``AutoLowRankMultivariateNormal`` or ``AutoDelta``; ``"nuts"`` runs
``pyro.infer.MCMC(NUTS)`` chain after chain (Hoffman & Gelman, 2014). Pyro's NUTS costs about
100x NumPyro's per gradient on CPU: for real work write the model in NumPyro and use ``"nuts"``.

The draws are kept as numpy (constrained space), so :class:`PyroPosterior` has ``samples()``,
``predictive(site, **kwargs)`` (``pyro.infer.Predictive``), ``to_arviz`` and save/load exactly as
a NumPyro model's posterior (``uqlab.load(path, model=pyro_model)``). Randomness comes from the
fit's key through a forked torch RNG; the fit runs in its own Pyro parameter-store scope, so the
user's global parameter store is left as it was.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from uqlab._validate import check_positive_int
from uqlab.inference.base import Method
from uqlab.inference.driver import check_finite
from uqlab.inference.svi import SVI, check_function_model, no_observed_site
from uqlab.inference.targets import NumPyroPosterior
from uqlab.inference.transform import progress_enabled
from uqlab.predictive import Predictive

__all__ = ["PyroModel", "PyroPosterior", "PyroSVI", "PyroNUTS"]


@dataclasses.dataclass(frozen=True)
class PyroModel:
    """A Pyro model function as a fitted model; its sites are its quantities."""

    fn: Callable

    def quantities(self, params) -> dict:
        """The sampled sites (constrained), so ``posterior.quantity(site)`` works."""
        return params


def _latent_sites(fn, data) -> dict:
    """``{site: shape}`` of the model's latent sample sites; ValueError without an observed site."""
    import pyro
    import torch

    with torch.no_grad():
        trace = pyro.poutine.trace(fn).get_trace(**data)
    sites = {name: site for name, site in trace.nodes.items()
             if site["type"] == "sample" and not pyro.poutine.util.site_is_subsample(site)}
    if not any(site["is_observed"] for site in sites.values()):
        raise no_observed_site(getattr(fn, "__name__", "the model"), sites)
    return {name: tuple(site["value"].shape) for name, site in sites.items() if not site["is_observed"]}


def _numpy(samples: dict) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in samples.items()}


@dataclasses.dataclass(repr=False)
class PyroPosterior(NumPyroPosterior):
    """Draws of a Pyro model's latent sites (constrained), with a posterior predictive by site."""

    def predictive(self, site: str, *, key=0, num_samples: int | None = None, **model_kwargs) -> Predictive:
        """Posterior predictive draws of ``site`` given new model arguments (``pyro.infer.Predictive``),
        as a sample Predictive; see :meth:`NumPyroPosterior.predictive`."""
        import pyro
        import torch

        from uqlab.models.torch.model import torch_seed

        check_positive_int("num_samples", num_samples, allow_none=True)
        latent = {k: torch.as_tensor(np.asarray(v)) for k, v in self._selected(num_samples).items()}
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(torch_seed(key))
            draws = pyro.infer.Predictive(self.model.fn, posterior_samples=latent)(**model_kwargs)
        draws = {**latent, **draws}
        if site not in draws:
            raise KeyError(f"site: expected one of the model's sites {sorted(draws)}, got {site!r}")
        values = draws[site].detach().cpu().numpy().astype(np.float64)
        values = values.reshape(values.shape[0], 1, 1) if values.ndim == 1 else values
        return Predictive(values.reshape(*values.shape[:2], -1), None)


    @classmethod
    def _from_state(cls, common: dict, state: dict):
        model = common["model"]
        model = model if isinstance(model, PyroModel) else PyroModel(model)
        return super()._from_state({**common, "model": model}, state)


class _PyroFit:
    """Shared plumbing: check the model, seed torch, scope the parameter store."""

    def _run(self, model, data, key, body):
        import pyro
        import torch

        from uqlab.models.torch.model import torch_seed

        fn = check_function_model(model, data, self.name)
        latent = _latent_sites(fn, data)
        with torch.random.fork_rng(), pyro.get_param_store().scope():
            torch.manual_seed(torch_seed(key))
            start = time.perf_counter()
            particles, num_chains, info = body(fn, latent)
        info = {"fit_seconds": time.perf_counter() - start, **info}
        return PyroPosterior(self, PyroModel(fn), None, info, particles=particles, num_chains=num_chains)


@dataclasses.dataclass(frozen=True)
class PyroSVI(_PyroFit, SVI):
    """:class:`~uqlab.inference.svi.SVI` for a Pyro model (same settings; Pyro's autoguides)."""

    name: ClassVar[str] = "pyro_svi"

    def fit(self, model, data, *, key=0) -> PyroPosterior:
        """Maximise the ELBO with ``pyro.infer.SVI``; keep ``num_draws`` draws of the guide."""
        return self._run(model, data, key, lambda fn, latent: self._fit(fn, data, latent))

    def _fit(self, fn, data, latent):
        import pyro
        import torch
        from tqdm.auto import tqdm

        guide = self._guide(fn, pyro.infer.autoguide)
        optim = {"optimizer": torch.optim.Adam, "optim_args": {"lr": self.learning_rate}}
        optimizer = (pyro.optim.CosineAnnealingLR({**optim, "T_max": self.num_steps, "eta_min": 0.01 * self.learning_rate})
                     if self.schedule == "cosine" else pyro.optim.Adam(optim["optim_args"]))
        svi = pyro.infer.SVI(fn, guide, optimizer, pyro.infer.Trace_ELBO(num_particles=self.num_particles))
        losses = np.empty(self.num_steps)
        for step in tqdm(range(self.num_steps), desc="PyroSVI", leave=False, disable=not progress_enabled(self.progress)):
            losses[step] = svi.step(**data)
            if self.schedule == "cosine":
                optimizer.step()
        check_finite("PyroSVI", losses[-max(1, self.num_steps // 10):], "the ELBO loss", "learning_rate")
        with torch.no_grad():
            draws = [guide(**data) for _ in range(self.num_draws)]
        particles = {name: np.stack([d[name].detach().cpu().numpy() for d in draws]) for name in latent}
        return particles, 1, {"elbo": -losses, "final_elbo": float(-losses[-max(1, self.num_steps // 10):].mean())}


@dataclasses.dataclass(frozen=True)
class PyroNUTS(_PyroFit, Method):
    """NUTS through ``pyro.infer.MCMC`` for a Pyro model (a cross-check; NumPyro's is ~100x faster).

    Args:
        num_warmup: adaptation steps per chain (step size and diagonal mass matrix).
        num_samples: draws per chain.
        num_chains: chains, run one after another.
        max_tree_depth: NUTS's maximum tree depth.
        target_accept: dual-averaging target acceptance rate.
        progress: Pyro's progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "pyro_nuts"
    num_warmup: int = 500
    num_samples: int = 500
    num_chains: int = 2
    max_tree_depth: int = 10
    target_accept: float = 0.8
    progress: bool | None = None

    def __post_init__(self):
        check_positive_int("num_warmup", self.num_warmup, minimum=0)
        check_positive_int("num_samples", self.num_samples)
        check_positive_int("num_chains", self.num_chains)
        check_positive_int("max_tree_depth", self.max_tree_depth)
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept: expected a value in (0, 1), got {self.target_accept!r}")

    def fit(self, model, data, *, key=0) -> PyroPosterior:
        """Run the chains; draws flattened chain-major, with R-hat and ESS in info."""
        return self._run(model, data, key, lambda fn, latent: self._fit(fn, data, latent))

    def _fit(self, fn, data, latent):
        import pyro

        from uqlab._chains import summarize_chains

        chains = []
        for _ in range(self.num_chains):
            kernel = pyro.infer.NUTS(fn, max_tree_depth=self.max_tree_depth, target_accept_prob=self.target_accept)
            mcmc = pyro.infer.MCMC(kernel, num_samples=self.num_samples, warmup_steps=self.num_warmup,
                                   disable_progbar=not progress_enabled(self.progress))
            mcmc.run(**data)
            chains.append(_numpy(mcmc.get_samples()))
        draws = {name: np.stack([c[name] for c in chains]) for name in latent}
        particles = {k: v.reshape(-1, *v.shape[2:]) for k, v in draws.items()}
        return particles, self.num_chains, summarize_chains(draws, None, None)
