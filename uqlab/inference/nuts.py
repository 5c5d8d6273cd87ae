"""No-U-Turn Sampler (Hoffman & Gelman, 2014) via BlackJAX, and what NUTS and HMC share.

The posterior ``p(theta | D) ∝ p(theta) prod_n p(y_n | x_n, theta)`` (or any target of
:mod:`uqlab.inference.targets`: a NumPyro model, a log density, a GP's hyperparameters) is sampled
with BlackJAX's multinomial NUTS kernel after Stan's windowed adaptation of the step size and a
diagonal mass matrix. The pieces live apart: the kernels in
:mod:`uqlab.inference.kernels.hamiltonian`, the chains through the driver in
:mod:`uqlab.inference.sampling`, the optimised starts (``init="map"``) in
:mod:`uqlab.inference.starts`; this module holds the settings and the fit.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from uqlab._validate import check_positive_int, check_probability
from uqlab.inference.base import Capabilities, Posterior
from uqlab.inference.kernels.hamiltonian import nuts_transition
from uqlab.inference.sampling import run_chains
from uqlab.inference.starts import INITS, ChainSampler, optimize_starts

__all__ = ["NUTS", "HamiltonianMethod", "INITS", "optimize_starts"]


@dataclasses.dataclass(frozen=True)
class HamiltonianMethod(ChainSampler):
    """Shared settings and ``fit`` of NUTS and HMC: window adaptation, chains in one scan.

    ``fit(model, data, *, key)`` accepts a uqlab model with a :class:`~uqlab.data.Dataset`, a
    NumPyro model function with ``data`` a dict of its keyword arguments, a
    :class:`~uqlab.inference.targets.LogDensity` with ``data=None``, or a
    :class:`~uqlab.models.gp.GP` with a Dataset (its hyperparameters; see
    :mod:`uqlab.inference.targets`). Starts, chains and checkpoints: see
    :class:`~uqlab.inference.starts.ChainSampler` (the checkpoint is removed when the fit completes).
    """

    capabilities: ClassVar[Capabilities] = Capabilities(model="sampler", resumable=True)
    num_warmup: int = 500
    target_acceptance: float = 0.8

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("num_warmup", self.num_warmup, minimum=0)
        check_probability("target_acceptance", self.target_acceptance)
        if self.target_acceptance == 0:
            raise ValueError("target_acceptance: expected a value in (0, 1), got 0")

    def transition(self):  # pragma: no cover - interface
        """The Hamiltonian transition kernel (see :mod:`uqlab.inference.kernels.hamiltonian`)."""
        raise NotImplementedError

    def infer(self, target, session, key) -> Posterior:
        """Optimised starts (``init="map"``), then warmup and sampling of ``num_chains`` chains."""
        import jax

        with target.precision():
            init_key, run_key = jax.random.split(key)
            positions, init_info = self.starts(target, init_key, session)
            draws, stats, (step_size, _) = run_chains(
                target.logdensity, positions, run_key, transition=self.transition(), num_warmup=self.num_warmup,
                num_samples=self.num_samples, target_acceptance=self.target_acceptance, thinning=self.thinning,
                vectorize=self.vectorize, session=session,
            )
            draws = jax.device_get(jax.jit(jax.vmap(jax.vmap(target.constrain)))(draws))
        particles = jax.tree_util.tree_map(lambda a: a.reshape(a.shape[0] * a.shape[1], *a.shape[2:]), draws)
        sample_stats = {
            "acceptance_rate": stats["acceptance_rate"],
            "diverging": stats["divergences"] > 0,
            "n_steps": stats["num_gradient_evals"],
        }
        posterior = target.posterior(self, particles, self.num_chains, sample_stats)
        posterior.info.update({
            "step_size": step_size.tolist(),
            "acceptance_rate": float(stats["acceptance_rate"].mean()),
            "divergences": int(stats["divergences"].sum()),
            "num_gradient_evals": int(stats["num_gradient_evals"].sum()),
            "warmup_gradient_evals": int(stats["warmup_gradient_evals"].sum()),
            **init_info,
        })
        return posterior


@dataclasses.dataclass(frozen=True)
class NUTS(HamiltonianMethod):
    """NUTS with window adaptation; chains advance together in one scan.

    Args:
        num_warmup: adaptation steps per chain (discarded).
        num_samples: kept draws per chain.
        num_chains: independent chains (R-hat needs >= 2).
        target_acceptance: step-size adaptation target.
        thinning: keep every ``thinning``-th transition.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: checkpoint file to write and resume from (see :class:`HamiltonianMethod`).
        init: ``"prior"`` (chains start at the model's ``init`` draws) or ``"map"`` (those draws
            optimised with Adam first; see :func:`~uqlab.inference.starts.optimize_starts`).
        init_steps: Adam steps per chain for ``init="map"``.
        init_learning_rate: Adam step size for ``init="map"``.
        init_lbfgs_steps: L-BFGS steps per chain after Adam for ``init="map"`` (on the sampled
            log density itself; 0: none).
        vectorize: chains under ``vmap`` (True), one after another within each step (False;
            faster on CPU for expensive gradients such as physics-informed models), or None
            (by backend); see :func:`~uqlab.inference.sampling.run_chains`.
        max_tree_depth: maximum trajectory doublings (2^depth leapfrog steps).
    """

    name: ClassVar[str] = "nuts"
    max_tree_depth: int = 10

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("max_tree_depth", self.max_tree_depth)

    def transition(self):
        return nuts_transition(self.max_tree_depth)
