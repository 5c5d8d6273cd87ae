"""Metropolis-adjusted Langevin algorithm (Roberts & Tweedie, 1996) via BlackJAX, several chains.

A Langevin proposal ``theta' = theta + eps grad log p(theta) + sqrt(2 eps) xi``, ``xi ~ N(0, I)``,
accepted with the Metropolis-Hastings probability
``min(1, p(theta') q(theta | theta') / (p(theta) q(theta' | theta)))``, so the chain targets
``p(theta | D)`` exactly (unlike SGLD); one gradient per step. The step size ``eps`` is fixed:
choose it for an acceptance rate of about 0.574 (Roberts & Rosenthal, 1998), reported in
``info["acceptance_rate"]``.

It fits every target of the Hamiltonian samplers (:mod:`uqlab.inference.targets`). Written as
the walk-through of ``docs/engine.md``: one kernel, one Method with ``target`` and ``infer``, the
driver does the rest (chains, kept draws, progress, checkpoints, checks, diagnostics).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import numpy as np

from uqlab._validate import check_positive, check_positive_int
from uqlab.inference.base import Capabilities, Method, Posterior
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.sgmcmc import step_size_schedule
from uqlab.inference.transform import Transform

__all__ = ["MALA", "mala"]


class MALAState(NamedTuple):
    """BlackJAX's chain state (position, log density and its gradient)."""

    chain: Any


class MALAInfo(NamedTuple):
    """Acceptance probability of the step's proposal."""

    acceptance_rate: Any


def mala(logdensity_fn) -> Transform:
    """The MALA kernel on ``logdensity_fn(params)``; ``batch["step_size"]`` is ``eps``."""
    import blackjax

    kernel = blackjax.mala.build_kernel()

    def init(position, key=None):
        del key
        return MALAState(blackjax.mala.init(position, logdensity_fn))

    def update(key, state, batch):
        chain, info = kernel(key, state.chain, logdensity_fn, batch["step_size"])
        return MALAState(chain), MALAInfo(info.acceptance_rate)

    return Transform(init, update)


@dataclasses.dataclass(frozen=True)
class MALA(Method):
    """MALA with a fixed step size; chains under ``vmap``.

    Args:
        step_size: ``eps`` (> 0).
        num_samples: kept draws per chain.
        num_burnin: discarded steps before the first draw.
        thinning: keep every ``thinning``-th step.
        num_chains: independent chains (R-hat needs >= 2).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file written after every chunk of steps and resumed from when it exists.
    """

    name: ClassVar[str] = "mala"
    capabilities: ClassVar[Capabilities] = Capabilities(model="sampler", resumable=True)
    step_size: float = 1e-3
    num_samples: int = 500
    num_burnin: int = 500
    thinning: int = 1
    num_chains: int = 4
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        check_positive("step_size", self.step_size)
        for name in ("num_samples", "thinning", "num_chains"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("num_burnin", self.num_burnin, minimum=0)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str

    def target(self, model, data):
        """The :class:`~uqlab.inference.targets.Target` of ``(model, data)``."""
        from uqlab.inference.targets import make_target

        return make_target(model, data, "MALA")

    def infer(self, target, session, key) -> Posterior:
        """Run ``num_chains`` chains; keep every ``thinning``-th step after burn-in."""
        import jax

        sizes, keep = step_size_schedule(self.step_size, schedule="constant", num_samples=self.num_samples,
                                         num_burnin=self.num_burnin, thinning=self.thinning, num_cycles=1,
                                         exploration_fraction=0.0)
        with target.precision():
            init_key, run_key = jax.random.split(key)
            kernel = mala(target.logdensity)
            states = jax.vmap(kernel.init)(target.init(jax.random.split(init_key, self.num_chains)))
            _, draws, infos = session.run(
                kernel, states, run_key, num_steps=len(sizes), members=self.num_chains, schedule={"step_size": sizes},
                position=lambda s: s.chain.position, keep=keep, setting="step_size",
            )
            draws = jax.device_get(jax.vmap(jax.vmap(target.constrain))(draws))
        particles = jax.tree_util.tree_map(lambda a: a.reshape(a.shape[0] * a.shape[1], *a.shape[2:]), draws)
        accept = np.asarray(infos.acceptance_rate)[keep].T  # (chains, draws)
        posterior = target.posterior(self, particles, self.num_chains, {"acceptance_rate": accept})
        posterior.info.update({"acceptance_rate": float(accept.mean()), "num_gradient_evals": len(sizes) * self.num_chains})
        return posterior
