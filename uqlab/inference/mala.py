"""Metropolis-adjusted Langevin algorithm (Roberts & Tweedie, 1996) via BlackJAX, several chains.

A Langevin proposal ``theta' = theta + eps grad log p(theta) + sqrt(2 eps) xi``, ``xi ~ N(0, I)``,
accepted with the Metropolis-Hastings probability
``min(1, p(theta') q(theta | theta') / (p(theta) q(theta' | theta)))``, so the chain targets
``p(theta | D)`` exactly (unlike SGLD); one gradient per step. During burn-in each chain tunes
``eps`` by dual averaging (Nesterov, 2009; Hoffman & Gelman, 2014, sec. 3.2.1; BlackJAX's
``dual_averaging_adaptation``) towards an acceptance rate of 0.574, optimal for MALA (Roberts &
Rosenthal, 1998), then samples with the averaged ``eps``; ``target_acceptance=None`` keeps ``eps``.

It fits every target of the Hamiltonian samplers (:mod:`uqlab.inference.targets`). Written as
the walk-through of ``docs/engine.md``: one kernel, one Method with ``target`` and ``infer``, the
driver does the rest (chains, kept draws, progress, checkpoints, checks, diagnostics).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import numpy as np

from uqlab._validate import check_level, check_positive, check_positive_int
from uqlab.inference.base import Capabilities, Method, Posterior
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.transform import Transform

__all__ = ["MALA", "mala"]


class MALAState(NamedTuple):
    """BlackJAX's chain state, the step size of the next proposal and the dual-averaging state."""

    chain: Any
    step_size: Any
    adaptation: Any


class MALAInfo(NamedTuple):
    """Acceptance probability of the step's proposal."""

    acceptance_rate: Any


def mala(logdensity_fn, *, step_size: float, target_acceptance: float = 0.574) -> Transform:
    """The MALA kernel on ``logdensity_fn(params)``, starting at ``step_size``.

    ``batch["stage"]``: 0 samples with the state's step size; 1 adapts it by dual averaging
    towards ``target_acceptance``; 2 adapts, then switches to the averaged step size (last
    burn-in step).
    """
    import blackjax
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    kernel = blackjax.mala.build_kernel()
    da_init, da_update, _ = dual_averaging_adaptation(target_acceptance)

    def init(position, key=None):
        del key
        eps = jnp.asarray(step_size, jnp.result_type(float))
        return MALAState(blackjax.mala.init(position, logdensity_fn), eps, da_init(eps))

    def update(key, state, batch):
        chain, info = kernel(key, state.chain, logdensity_fn, state.step_size)
        stage = batch["stage"]
        da = jax.lax.cond(stage > 0, lambda d: da_update(d, info.acceptance_rate), lambda d: d, state.adaptation)
        eps = jnp.select([stage == 1, stage == 2], [jnp.exp(da.log_step_size), jnp.exp(da.log_step_size_avg)],
                         state.step_size)
        return MALAState(chain, eps, da), MALAInfo(info.acceptance_rate)

    return Transform(init, update)


@dataclasses.dataclass(frozen=True)
class MALA(Method):
    """MALA with step-size adaptation in burn-in; chains under ``vmap``.

    Args:
        step_size: ``eps`` (> 0): the initial step size of the adaptation, or the step size.
        target_acceptance: acceptance rate the burn-in adapts ``eps`` to, in (0, 1); None: no
            adaptation, sample with ``step_size``.
        num_samples: kept draws per chain.
        num_burnin: discarded (adaptation) steps before the first draw.
        thinning: keep every ``thinning``-th step.
        num_chains: independent chains (R-hat needs >= 2).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file written after every chunk of steps and resumed from when it exists.
    """

    name: ClassVar[str] = "mala"
    capabilities: ClassVar[Capabilities] = Capabilities(model="sampler", resumable=True)
    step_size: float = 1e-3
    target_acceptance: float | None = 0.574
    num_samples: int = 500
    num_burnin: int = 500
    thinning: int = 1
    num_chains: int = 4
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        check_positive("step_size", self.step_size)
        if self.target_acceptance is not None:
            check_level("target_acceptance", self.target_acceptance)
        for name in ("num_samples", "thinning", "num_chains"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("num_burnin", self.num_burnin, minimum=0)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str

    def target(self, model, data):
        """The :class:`~uqlab.inference.targets.Target` of ``(model, data)``."""
        from uqlab.inference.targets import make_target

        return make_target(model, data, "MALA")

    def infer(self, target, session, key) -> Posterior:
        """Run ``num_chains`` chains; adapt in burn-in, then keep every ``thinning``-th step."""
        import jax

        num_steps = self.num_burnin + self.num_samples * self.thinning
        keep = (np.arange(num_steps) >= self.num_burnin) & ((np.arange(num_steps) - self.num_burnin + 1) % self.thinning == 0)
        stage = np.zeros(num_steps, np.int32)
        if self.target_acceptance is not None and self.num_burnin > 0:
            stage[: self.num_burnin] = 1
            stage[self.num_burnin - 1] = 2
        with target.precision():
            init_key, run_key = jax.random.split(key)
            kernel = mala(target.logdensity, step_size=self.step_size, target_acceptance=self.target_acceptance or 0.5)
            states = jax.jit(jax.vmap(kernel.init))(target.init(jax.random.split(init_key, self.num_chains)))
            state, draws, infos = session.run(
                kernel, states, run_key, num_steps=num_steps, members=self.num_chains, schedule={"stage": stage},
                position=lambda s: s.chain.position, keep=keep, setting="step_size",
            )
            draws = jax.device_get(jax.jit(jax.vmap(jax.vmap(target.constrain)))(draws))
        particles = jax.tree_util.tree_map(lambda a: a.reshape(a.shape[0] * a.shape[1], *a.shape[2:]), draws)
        accept = np.asarray(infos.acceptance_rate)[keep].T  # (chains, draws)
        posterior = target.posterior(self, particles, self.num_chains, {"acceptance_rate": accept})
        posterior.info.update({"acceptance_rate": float(accept.mean()), "num_gradient_evals": num_steps * self.num_chains,
                               "step_size": np.asarray(state.step_size).tolist()})
        return posterior
