"""Stochastic-gradient MCMC: SGLD and SGHMC via BlackJAX, several chains at once.

Both samplers follow a noisy gradient of the log posterior estimated on a minibatch ``B`` of the
``N`` training points, ``grad log p(theta) + (N / |B|) sum_{b in B} grad log p(y_b | theta)``
(:func:`uqlab.models.base.log_joint` does the rescaling), and inject Gaussian noise:

* SGLD (Welling & Teh, 2011): ``theta <- theta + eps grad + sqrt(2 eps) xi``.
* SGHMC (Chen, Fox & Guestrin, 2014, in the parameterisation of Ma, Chen & Fox, 2015): a fresh
  momentum, then ``L`` steps of ``theta <- theta + eps r``,
  ``r <- (1 - alpha eps) r + eps grad + sqrt(2 alpha eps) xi`` with friction ``alpha``.

The step size ``eps`` is constant or cyclical (Zhang et al., "Cyclical Stochastic Gradient MCMC
for Bayesian Deep Learning", ICLR 2020): over each of ``M`` cycles of ``K`` steps it follows
``eps_k = eps_0 / 2 (cos(pi (k mod K) / K) + 1)``; the first ``exploration_fraction`` of a cycle
explores (large steps, draws discarded) and draws are collected only in the rest, where the step
size is small. There is no Metropolis correction, so draws carry an ``O(eps)`` bias.

Each step's minibatch (without replacement) and step size come from the driver, which keeps the
draws the schedule selects and runs the chains under ``vmap``; the kernels are in
:mod:`uqlab.inference.kernels.sgmcmc`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

from uqlab._validate import check_choice, check_positive, check_positive_int, check_probability
from uqlab.data import check_batch_size, draw_minibatch
from uqlab.inference.base import Capabilities, Method, ParticlePosterior, check_dataset, check_model
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.kernels.sgmcmc import sghmc, sgld

__all__ = ["SGLD", "SGHMC", "step_size_schedule"]


def step_size_schedule(step_size: float, *, schedule: str, num_samples: int, num_burnin: int, thinning: int,
                       num_cycles: int, exploration_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-step step sizes and which steps' positions are kept as draws.

    Constant: ``num_burnin`` steps, then every ``thinning``-th of ``num_samples * thinning`` steps.
    Cyclical: ``num_burnin`` steps at ``step_size``, then ``num_cycles`` cosine cycles, each with
    ``ceil(num_samples / num_cycles)`` draws (every ``thinning``-th step) in its sampling stage,
    which covers the last ``1 - exploration_fraction`` of the cycle; the run stops at the last draw.

    Returns:
        ``(step_sizes, keep)``: float array and bool array, one entry per step.
    """
    burnin_sizes = np.full(num_burnin, step_size)
    if schedule == "constant":
        sizes = np.full(num_burnin + num_samples * thinning, step_size)
        keep = np.zeros(sizes.shape[0], bool)
        keep[num_burnin + thinning - 1 :: thinning] = True
        return sizes, keep
    sampling_len = math.ceil(num_samples / num_cycles) * thinning
    cycle_len = math.ceil(sampling_len / (1.0 - exploration_fraction))
    explore_len = cycle_len - sampling_len
    j = np.arange(cycle_len)
    cycle_sizes = step_size / 2 * (np.cos(np.pi * j / cycle_len) + 1)
    cycle_keep = (j >= explore_len) & ((j - explore_len + 1) % thinning == 0)
    sizes = np.concatenate([burnin_sizes, np.tile(cycle_sizes, num_cycles)])
    keep = np.concatenate([np.zeros(num_burnin, bool), np.tile(cycle_keep, num_cycles)])
    keep &= np.cumsum(keep) <= num_samples
    last = int(np.flatnonzero(keep)[-1]) + 1
    return sizes[:last], keep[:last]


@dataclasses.dataclass(frozen=True)
class _SGMCMC(Method):
    """Shared settings and fit of SGLD and SGHMC (see the module docstring for the maths).

    Args:
        step_size: (peak) step size ``eps`` (> 0).
        batch_size: minibatch size B, 1 <= B <= N; None uses min(N, 32).
        num_samples: kept draws per chain.
        num_burnin: discarded steps before the first draw.
        thinning: keep every ``thinning``-th step.
        num_chains: independent chains, run under ``vmap``.
        schedule: "constant" or "cyclical".
        num_cycles: cosine cycles M (cyclical only; >= 1).
        exploration_fraction: share of each cycle spent exploring, in [0, 1) (cyclical only).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file written after every chunk of steps and resumed from when it exists
            (same key, model, data and settings: the resumed draws equal an uninterrupted run's bit
            for bit; see :mod:`uqlab.inference.checkpoint`); removed when the fit completes.
    """

    name: ClassVar[str] = "sgmcmc"
    capabilities: ClassVar[Capabilities] = Capabilities(minibatch=True, resumable=True)
    step_size: float = 1e-4
    batch_size: int | None = None
    num_samples: int = 500
    num_burnin: int = 1000
    thinning: int = 10
    num_chains: int = 4
    schedule: str = "constant"
    num_cycles: int = 4
    exploration_fraction: float = 0.5
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        check_positive("step_size", self.step_size)
        check_positive_int("batch_size", self.batch_size, allow_none=True)
        check_positive_int("num_samples", self.num_samples)
        check_positive_int("num_burnin", self.num_burnin, minimum=0)
        check_positive_int("thinning", self.thinning)
        check_positive_int("num_chains", self.num_chains)
        check_choice("schedule", self.schedule, ("constant", "cyclical"))
        if self.schedule == "cyclical":
            check_positive_int("num_cycles", self.num_cycles)
        check_probability("exploration_fraction", self.exploration_fraction)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str

    def kernel(self, logdensity_fn):  # pragma: no cover - interface
        """The SG-MCMC kernel on ``logdensity_fn(params, minibatch)``."""
        raise NotImplementedError

    def _gradients_per_step(self) -> int:
        return 1

    def target(self, model, data):
        """The uqlab model and dataset (checked)."""
        check_model(model, type(self).__name__)
        return model, check_dataset(data)

    def infer(self, target, session, key) -> ParticlePosterior:
        """Run ``num_chains`` chains and return the kept draws as a :class:`ParticlePosterior`."""
        import jax

        from uqlab._convert import to_jax
        from uqlab.models.base import log_joint

        model, data = target
        n = data.num_points
        batch_size = min(n, 32) if self.batch_size is None else self.batch_size
        check_batch_size(batch_size, n)
        x, y = to_jax(data.standardized())
        kernel = self.kernel(lambda params, batch: log_joint(model, params, batch, n))
        sizes, keep = step_size_schedule(
            self.step_size, schedule=self.schedule, num_samples=self.num_samples, num_burnin=self.num_burnin,
            thinning=self.thinning, num_cycles=self.num_cycles, exploration_fraction=self.exploration_fraction,
        )
        init_key, run_key = jax.random.split(key)
        c = self.num_chains
        states = jax.jit(jax.vmap(lambda k: kernel.init(model.init(k))))(jax.random.split(init_key, c))
        _, draws, _ = session.run(
            kernel, states, run_key, num_steps=sizes.shape[0], members=c,
            draw_batch=lambda k: draw_minibatch(k, x, y, batch_size),
            schedule={"step_size": sizes.astype(np.dtype(jax.numpy.result_type(float)))},
            position=lambda s: s.position, keep=keep, gradients=self._gradients_per_step(), setting="step_size",
        )
        particles = jax.tree_util.tree_map(lambda a: a.reshape(a.shape[0] * a.shape[1], *a.shape[2:]), draws)
        num_steps = sizes.shape[0]
        info = {
            "num_gradient_evals": num_steps * c * self._gradients_per_step(),
            "num_steps": num_steps,
            "steps_per_second": num_steps / session.phase_seconds[session.label],
            "batch_size": batch_size,
            "step_sizes": sizes,
            "kept_steps": np.flatnonzero(keep),
        }
        return ParticlePosterior(self, model, data.scaler, info, particles=particles, num_chains=c)


@dataclasses.dataclass(frozen=True)
class SGLD(_SGMCMC):
    """Stochastic gradient Langevin dynamics (Welling & Teh, 2011); settings as in :class:`_SGMCMC`."""

    name: ClassVar[str] = "sgld"

    def kernel(self, logdensity_fn):
        return sgld(logdensity_fn)


@dataclasses.dataclass(frozen=True)
class SGHMC(_SGMCMC):
    """Stochastic gradient HMC (Chen et al., 2014); settings of :class:`_SGMCMC` plus:

    Args:
        friction: friction ``alpha`` (> 0); larger damps the momentum faster.
        num_integration_steps: steps L per momentum refresh.
    """

    name: ClassVar[str] = "sghmc"
    friction: float = 0.1
    num_integration_steps: int = 10

    def __post_init__(self):
        super().__post_init__()
        check_positive("friction", self.friction)
        check_positive_int("num_integration_steps", self.num_integration_steps)

    def kernel(self, logdensity_fn):
        return sghmc(logdensity_fn, friction=self.friction, num_integration_steps=self.num_integration_steps)

    def _gradients_per_step(self) -> int:
        return self.num_integration_steps
