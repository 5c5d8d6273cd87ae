"""Where chains start: each chain's initial draw optimised towards a posterior mode.

For expensive, sharply peaked posteriors (physics-informed networks with thousands of precise
observations), chains started from prior draws spend the whole warmup finding the typical set and
adapt a step size for the wrong region. :func:`optimize_starts` first runs Adam (Kingma & Ba,
2015; cosine-decayed step) on ``-log p(theta | D)`` from each chain's draw, optionally finished
with L-BFGS, so warmup starts near a mode; different chains still start from different optima,
which keeps R-hat meaningful across modes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.inference.base import Method
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.driver import Session, check_finite
from uqlab.inference.kernels.optimizers import adam, descent, lbfgs

__all__ = ["INITS", "ChainSampler", "optimize_starts"]

INITS = ("prior", "map")
"""Chain initialisations: draws from the model's ``init`` (``"prior"``), or those optimised
towards a posterior mode with Adam (``"map"``)."""


@dataclasses.dataclass(frozen=True)
class ChainSampler(Method):
    """Settings and starting points shared by the full-batch samplers of several chains (NUTS,
    HMC, MCLMC): kept draws, chains, checkpoint, and where the chains start.

    ``init="map"`` starts each chain from its prior draw optimised for ``init_steps`` Adam steps,
    then ``init_lbfgs_steps`` L-BFGS steps (see :func:`optimize_starts`); the optimised log
    densities are in ``info["init_log_density"]``. ``checkpoint`` names a file that is written
    after every chunk of steps and resumed from when it exists (same key, model, data and
    settings: the resumed draws equal an uninterrupted run's bit for bit).
    """

    num_samples: int = 500
    num_chains: int = 4
    thinning: int = 1
    progress: bool | None = None
    checkpoint: str | None = None
    init: str = "prior"
    init_steps: int = 1000
    init_learning_rate: float = 1e-2
    init_lbfgs_steps: int = 0
    vectorize: bool | None = True

    def __post_init__(self):
        check_positive_int("num_samples", self.num_samples)
        check_positive_int("num_chains", self.num_chains)
        check_positive_int("thinning", self.thinning)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str
        check_choice("init", self.init, INITS)
        check_positive_int("init_steps", self.init_steps, minimum=0)
        check_positive("init_learning_rate", self.init_learning_rate)
        check_positive_int("init_lbfgs_steps", self.init_lbfgs_steps, minimum=0)
        if self.vectorize is not None and not isinstance(self.vectorize, bool):
            raise ValueError(f"vectorize: expected True, False or None, got {self.vectorize!r}")

    def target(self, model, data):
        """The :class:`~uqlab.inference.targets.Target` of ``(model, data)``."""
        from uqlab.inference.targets import make_target

        return make_target(model, data, type(self).__name__)

    def starts(self, target, key, session: Session):
        """``(positions, init_info)``: one start per chain (leading axis ``num_chains``), drawn
        from ``target.init`` and, with ``init="map"``, optimised; ``init_info`` goes to the
        posterior's info."""
        import jax

        positions = target.init(jax.random.split(key, self.num_chains))
        if self.init != "map":
            return positions, {}
        positions, final, evals = optimize_starts(
            target.logdensity, positions, jax.random.fold_in(key, 1), num_steps=self.init_steps,
            learning_rate=self.init_learning_rate, vectorize=self.vectorize,
            objective=target.training_logdensity, lbfgs_steps=self.init_lbfgs_steps, session=session,
        )
        return positions, {"init_log_density": final.tolist(), "init_gradient_evals": evals,
                           "init_seconds": sum(v for k, v in session.phase_seconds.items() if "MAP init" in k)}


def optimize_starts(logdensity_fn, initial_positions, key=None, *, num_steps: int, learning_rate: float,
                    progress: bool | None = None, desc: str = "MAP init", vectorize: bool | None = True,
                    objective=None, lbfgs_steps: int = 0, session: Session | None = None):
    """Move each chain's start towards a mode: Adam on ``-objective``, then L-BFGS on ``-logdensity_fn``.

    Args:
        logdensity_fn: ``params -> log density`` for one chain.
        initial_positions: params pytree with a leading chain axis C.
        key: JAX key of ``objective``'s per-step keys (unused without ``objective``).
        num_steps: Adam steps (0: none).
        learning_rate: initial Adam step size, cosine-decayed to 1% of it over ``num_steps``.
        progress, desc: progress bar of a standalone run (without ``session``).
        vectorize: chains under ``vmap`` (True), ``lax.map`` (False) or by backend (None).
        objective: ``(params, key) -> log density`` to climb with Adam instead of
            ``logdensity_fn``, with a fresh key per step and chain: a model's stochastic training
            objective (e.g. a physics-informed model resampling its collocation points).
        lbfgs_steps: L-BFGS steps on ``-logdensity_fn`` itself after Adam (0: none). Adam stalls
            at its noise floor far below the mode of a sharply peaked posterior.
        session: the fit's driver session.

    Returns:
        ``(positions, log_densities, gradient_evals)``: optimised positions (leading axis C),
        the final log density of each chain as numpy ``(C,)`` (always ``logdensity_fn``'s), and
        the gradient evaluations spent over all chains.

    Raises:
        FloatingPointError: if the optimisation produced non-finite values or diverged.
    """
    import jax

    session = session or Session(desc, progress=progress)
    before = session.gradient_evals
    positions = initial_positions
    num_chains = jax.tree_util.tree_leaves(positions)[0].shape[0]
    if num_steps > 0:
        if objective is None:
            objective = lambda params, step_key: logdensity_fn(params)  # noqa: E731
        kernel = descent(lambda p, batch, k: -objective(p, k), adam(learning_rate, num_steps, "cosine"))
        state, _, _ = session.run(
            kernel, jax.jit(jax.vmap(kernel.init))(positions), as_key(0 if key is None else key), num_steps=num_steps,
            phase="MAP init", members=num_chains, vectorize=vectorize, loss=lambda infos: infos.loss,
            setting="init_learning_rate",
        )
        positions = state.params
    if lbfgs_steps > 0:
        kernel = lbfgs(lambda p: -logdensity_fn(p))
        state, _, infos = session.run(
            kernel, jax.jit(jax.vmap(kernel.init))(positions), jax.random.PRNGKey(0), num_steps=lbfgs_steps,
            phase="MAP init (L-BFGS)", members=num_chains, vectorize=vectorize, loss=lambda infos: infos.loss,
            gradients=lambda infos: int(np.sum(infos.num_linesearch_steps)) + num_chains,  # + each first evaluation
            setting="init_lbfgs_steps",
        )
        positions = state.params
    final = np.asarray(jax.jit(jax.vmap(logdensity_fn))(positions))
    check_finite(session.label, final, "the log density at the optimised starts", "init_learning_rate")
    return positions, final, session.gradient_evals - before
