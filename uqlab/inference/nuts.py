"""No-U-Turn Sampler (Hoffman & Gelman, 2014) and static HMC via BlackJAX, several chains at once.

The posterior ``p(theta | D) ∝ p(theta) prod_n p(y_n | x_n, theta)`` is sampled with BlackJAX's
multinomial NUTS kernel after Stan's windowed adaptation of the step size (dual averaging,
Nesterov 2009) and a diagonal mass matrix (Welford variance over doubling windows). Chains advance
together in one ``lax.scan``, under ``vmap`` or (``vectorize=False``, faster on CPU for
expensive gradients) one after another within each step; warmup and sampling both go through
:func:`scan_with_progress`, so one bar tracks all chains.

Why the warmup loop is ours: ``blackjax.window_adaptation(...).run`` is one opaque scan (no
progress between chunks, no resumable state) and its ``base()`` init/update/final is deprecated;
the step-size and mass-matrix primitives it is built from are public, and :func:`warmup_kernel`
composes them exactly as Stan's schedule does.

Where chains start matters for expensive, sharply peaked posteriors (physics-informed networks
with thousands of precise observations): from prior draws the warmup spends its whole budget
finding the typical set and adapts a step size for the wrong region. ``init="map"`` first runs
``init_steps`` Adam steps (Kingma & Ba, 2015; cosine-decayed step) on ``-log p(theta | D)`` from each chain's prior
draw (:func:`optimize_starts`), so warmup starts near a mode; different chains still start from
different optima, which keeps R-hat meaningful across modes.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar, NamedTuple

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_choice, check_positive, check_positive_int, check_probability
from uqlab.inference.base import Method, ParticlePosterior, warn_if, warn_numerics
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.transform import Transform, over_leading_axis, scan_with_progress

__all__ = [
    "NUTS", "HamiltonianMethod", "INITS", "nuts_transition", "hmc_transition", "warmup_kernel", "sample_kernel",
    "run_chains", "run_nuts", "optimize_starts",
]

INITS = ("prior", "map")
"""Chain initialisations: draws from the model's ``init`` (``"prior"``), or those optimised
towards a posterior mode with Adam (``"map"``)."""


class WarmupState(NamedTuple):
    """Chain state plus Stan-style adaptation state."""

    chain: object
    step_size_state: object
    mass_state: object
    step_size: object
    inverse_mass_matrix: object


def nuts_transition(max_tree_depth: int):
    """One NUTS transition ``(key, state, logdensity_fn, step_size, inverse_mass_matrix) -> (state, info)``."""
    import functools

    import blackjax

    return functools.partial(blackjax.nuts.build_kernel(), max_num_doublings=max_tree_depth)


def hmc_transition(num_integration_steps: int):
    """One HMC transition with a fixed number of leapfrog steps (Neal, 2011), same signature."""
    import functools

    import blackjax

    return functools.partial(blackjax.hmc.build_kernel(), num_integration_steps=num_integration_steps)


def warmup_kernel(logdensity_fn, transition, *, target_acceptance: float, initial_step_size: float = 1.0):
    """Stan's windowed adaptation of any Hamiltonian ``transition`` as a :class:`Transform` over one chain.

    ``update``'s batch is ``(stage, is_window_end)`` from BlackJAX's ``build_schedule``:
    stage 0 adapts only the step size, stage 1 also accumulates the mass matrix, and at a window
    end the mass matrix is recomputed and dual averaging restarts from the averaged step size.
    """
    import blackjax
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.mass_matrix import mass_matrix_adaptation
    from blackjax.adaptation.step_size import dual_averaging_adaptation

    mm_init, mm_update, mm_final = mass_matrix_adaptation(is_diagonal_matrix=True)
    da_init, da_update, da_final = dual_averaging_adaptation(target_acceptance)

    def init(position, key=None):
        del key
        dim = jax.flatten_util.ravel_pytree(position)[0].shape[0]
        mass = mm_init(dim)
        return WarmupState(
            blackjax.nuts.init(position, logdensity_fn),
            da_init(initial_step_size),
            mass,
            jnp.asarray(initial_step_size, dtype=jnp.result_type(float)),
            mass.inverse_mass_matrix,
        )

    def update(key, state, stage_and_end):
        stage, window_end = stage_and_end
        chain, info = transition(key, state.chain, logdensity_fn, state.step_size, state.inverse_mass_matrix)
        da_state = da_update(state.step_size_state, info.acceptance_rate)
        mass = jax.lax.cond(stage == 1, lambda m: mm_update(m, chain.position), lambda m: m, state.mass_state)

        def end_window(args):
            da_state, mass = args
            mass = mm_final(mass)
            return da_init(da_final(da_state)), mass, mass.inverse_mass_matrix

        da_state, mass, imm = jax.lax.cond(
            window_end, end_window, lambda a: (*a, state.inverse_mass_matrix), (da_state, mass)
        )
        new_state = WarmupState(chain, da_state, mass, jnp.exp(da_state.log_step_size), imm)
        return new_state, info

    return Transform(init, update)


def tuned_parameters(state: WarmupState):
    """Final step size (the dual-averaging average) and inverse mass matrix after warmup."""
    import jax.numpy as jnp

    return jnp.exp(state.step_size_state.log_step_size_avg), state.inverse_mass_matrix


def sample_kernel(logdensity_fn, transition, *, thinning: int):
    """A Hamiltonian ``transition`` with fixed tuning as a :class:`Transform`; one ``update`` makes
    ``thinning`` transitions.

    The state is ``(chain_state, step_size, inverse_mass_matrix)``; ``update``'s batch is unused.
    """
    import jax
    import jax.numpy as jnp

    def init(position, key=None):  # pragma: no cover - states come from warmup
        raise NotImplementedError("sample_kernel starts from a warmed-up state")

    def update(key, state, batch=None):
        del batch
        chain, step_size, imm = state

        def one(chain, k):
            chain, info = transition(k, chain, logdensity_fn, step_size, imm)
            return chain, (info.acceptance_rate, info.is_divergent, info.num_integration_steps)

        if thinning == 1:  # no inner loop: on CPU a trip-count-1 scan around the trajectory cost ~15%
            chain, stats = one(chain, key)
            accept, divergent, steps = (jnp.reshape(s, (1,)) for s in stats)
        else:
            chain, (accept, divergent, steps) = jax.lax.scan(one, chain, jax.random.split(key, thinning))
        info = {
            "acceptance_rate": jnp.mean(accept),
            "divergences": jnp.sum(divergent),
            "num_gradient_evals": jnp.sum(steps),
        }
        return (chain, step_size, imm), info

    return Transform(init, update)


def run_chains(
    logdensity_fn,
    initial_positions,
    key,
    *,
    transition,
    num_warmup: int,
    num_samples: int,
    target_acceptance: float = 0.8,
    thinning: int = 1,
    progress: bool | None = None,
    desc: str = "NUTS",
    checkpoint=None,
    vectorize: bool | None = True,
):
    """Warm up and sample several chains of a Hamiltonian ``transition``, in one ``lax.scan``.

    Args:
        logdensity_fn: ``params -> log density`` for one chain.
        initial_positions: params pytree with a leading chain axis C.
        key: JAX key.
        transition: :func:`nuts_transition` or :func:`hmc_transition`.
        num_warmup, num_samples: warmup steps and kept draws per chain.
        target_acceptance: dual-averaging target.
        thinning: transitions per kept draw.
        progress, desc: progress bar (``desc`` also names the checkpoint phases).
        checkpoint: a :class:`~uqlab.inference.checkpoint.Checkpoint` to save to / resume from.
        vectorize: advance the chains together under ``vmap`` (True) or one after another inside
            each step (False; None: by backend), see :func:`over_leading_axis` and
            ``benchmarks/pde_comparison.py throughput``. The two give the same draws up to
            floating-point rounding, which chaotic dynamics amplify: a different, equally valid
            chain.

    Returns:
        ``(draws, stats, tuning)``: draws pytree ``(C, num_samples, ...)`` numpy; per-draw stats
        dict of ``(C, num_samples)`` arrays plus ``warmup_gradient_evals`` ``(C,)``; tuned
        ``(step_size, inverse_mass_matrix)`` per chain.
    """
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.window_adaptation import build_schedule

    num_chains = jax.tree_util.tree_leaves(initial_positions)[0].shape[0]
    warmup = warmup_kernel(logdensity_fn, transition, target_acceptance=target_acceptance)
    sampler = sample_kernel(logdensity_fn, transition, thinning=thinning)
    warmup_key, sample_key = jax.random.split(key)

    state = jax.vmap(warmup.init)(initial_positions)
    if num_warmup > 0:
        schedule = np.asarray(build_schedule(num_warmup))
        keys = jax.random.split(warmup_key, num_warmup * num_chains).reshape(num_warmup, num_chains, -1)

        def warmup_step(state, inputs):
            keys, stage = inputs
            update = lambda k, c: warmup.update(k, c, (stage[0], stage[1]))  # noqa: E731
            state, info = over_leading_axis(update, vectorize)(keys, state)
            return state, jnp.broadcast_to(info.num_integration_steps, (num_chains,))

        stages = jnp.asarray(schedule.astype(np.int32))
        state, warmup_steps = scan_with_progress(
            warmup_step, state, (keys, stages), num_steps=num_warmup, desc=f"{desc} warmup",
            progress=progress, checkpoint=checkpoint,
        )
        step_size, imm = jax.vmap(tuned_parameters)(state)
        warmup_evals = warmup_steps.sum(axis=0)
    else:
        step_size, imm = state.step_size, state.inverse_mass_matrix
        warmup_evals = np.zeros(num_chains, np.int64)

    def sample_step(carry, keys):
        carry, info = over_leading_axis(sampler.update, vectorize)(keys, carry)
        return carry, (carry[0].position, info)

    keys = jax.random.split(sample_key, num_samples * num_chains).reshape(num_samples, num_chains, -1)
    _, (positions, stats) = scan_with_progress(
        sample_step, (state.chain, step_size, imm), keys, num_steps=num_samples, desc=f"{desc} sampling",
        progress=progress, checkpoint=checkpoint,
    )
    to_chain_major = lambda a: np.swapaxes(a, 0, 1)  # noqa: E731
    draws = jax.tree_util.tree_map(to_chain_major, positions)
    stats = {k: to_chain_major(v) for k, v in stats.items()}
    stats["warmup_gradient_evals"] = warmup_evals
    return draws, stats, (np.asarray(step_size), np.asarray(imm))


def run_nuts(logdensity_fn, initial_positions, key, *, max_tree_depth: int = 10, **settings):
    """:func:`run_chains` with the NUTS transition (``settings`` as there)."""
    return run_chains(logdensity_fn, initial_positions, key, transition=nuts_transition(max_tree_depth), **settings)


def optimize_starts(logdensity_fn, initial_positions, key=None, *, num_steps: int, learning_rate: float,
                    progress: bool | None = None, desc: str = "MAP init", vectorize: bool | None = True,
                    objective=None, lbfgs_steps: int = 0):
    """Move each chain's start towards a mode: Adam on ``-objective``, then L-BFGS on ``-logdensity_fn``.

    Chains advance together in one scan (see ``vectorize``).

    Args:
        logdensity_fn: ``params -> log density`` for one chain.
        initial_positions: params pytree with a leading chain axis C.
        key: JAX key of ``objective``'s per-step keys (unused without ``objective``).
        num_steps: Adam steps (0: none).
        learning_rate: initial Adam step size, cosine-decayed to 1% of it over ``num_steps``.
        progress, desc: progress bar.
        vectorize: as for :func:`run_chains`.
        objective: ``(params, key) -> log density`` to climb with Adam instead of
            ``logdensity_fn``, with a fresh key per step and chain: a model's stochastic
            training objective (e.g. a physics-informed model resampling its collocation points,
            which keeps the optimum from fitting the PDE only at the fixed points).
        lbfgs_steps: L-BFGS steps on ``-logdensity_fn`` itself after Adam (0: none; see
            :func:`~uqlab.inference._optimize.minimize_lbfgs`). Adam stalls at its noise floor
            far below the mode of a sharply peaked posterior, where NUTS chains then stay.

    Returns:
        ``(positions, log_densities, gradient_evals)``: optimised positions (leading axis C),
        the final log density of each chain as numpy ``(C,)`` (always ``logdensity_fn``'s), and
        the gradient evaluations spent over all chains.

    Raises:
        FloatingPointError: if the optimisation produced non-finite values.
    """
    import jax

    from uqlab._convert import as_key
    from uqlab.inference._optimize import adam, descend, minimize_lbfgs

    positions, losses, evals = initial_positions, [], 0
    num_chains = jax.tree_util.tree_leaves(positions)[0].shape[0]
    if num_steps > 0:
        if objective is None:
            objective = lambda params, step_key: logdensity_fn(params)  # noqa: E731
        positions, adam_losses = descend(
            lambda p, k: -objective(p, k), positions, as_key(0 if key is None else key),
            adam(learning_rate, num_steps, "cosine"), num_steps=num_steps, desc=desc, progress=progress,
            vectorize=vectorize,
        )
        losses, evals = [adam_losses[-1]], num_steps * num_chains
    if lbfgs_steps > 0:
        positions, lbfgs_losses, lbfgs_evals = minimize_lbfgs(
            lambda p: -logdensity_fn(p), positions, num_steps=lbfgs_steps, desc=f"{desc} (L-BFGS)",
            progress=progress, vectorize=vectorize,
        )
        losses, evals = [lbfgs_losses[-1]], evals + lbfgs_evals
    final = np.asarray(jax.vmap(logdensity_fn)(positions))
    warn_numerics(desc, np.concatenate([*losses, final]), "the negative log density")
    return positions, final, evals


@dataclasses.dataclass(frozen=True)
class HamiltonianMethod(Method):
    """Shared settings and ``fit`` of NUTS and HMC: window adaptation, chains in one scan.

    ``fit(model, data, *, key)`` accepts a uqlab model with a :class:`~uqlab.data.Dataset`, a
    NumPyro model function with ``data`` a dict of its keyword arguments, or a
    :class:`~uqlab.inference.targets.LogDensity` with ``data=None`` (see
    :mod:`uqlab.inference.targets`). ``checkpoint`` names a file that is written after every
    chunk of steps and resumed from when it exists (same key, model, data and settings: the
    resumed draws equal an uninterrupted run's bit for bit); it is removed when the fit completes.

    ``init="map"`` starts each chain from its prior draw optimised for ``init_steps`` Adam steps,
    then ``init_lbfgs_steps`` L-BFGS steps (see :func:`optimize_starts`); the optimised log
    densities are in ``info["init_log_density"]``.
    """

    num_warmup: int = 500
    num_samples: int = 500
    num_chains: int = 4
    target_acceptance: float = 0.8
    thinning: int = 1
    progress: bool | None = None
    checkpoint: str | None = None
    init: str = "prior"
    init_steps: int = 1000
    init_learning_rate: float = 1e-2
    init_lbfgs_steps: int = 0
    vectorize: bool | None = True

    def __post_init__(self):
        check_positive_int("num_warmup", self.num_warmup, minimum=0)
        check_positive_int("num_samples", self.num_samples)
        check_positive_int("num_chains", self.num_chains)
        check_probability("target_acceptance", self.target_acceptance)
        if self.target_acceptance == 0:
            raise ValueError("target_acceptance: expected a value in (0, 1), got 0")
        check_positive_int("thinning", self.thinning)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str
        check_choice("init", self.init, INITS)
        check_positive_int("init_steps", self.init_steps, minimum=0)
        check_positive("init_learning_rate", self.init_learning_rate)
        check_positive_int("init_lbfgs_steps", self.init_lbfgs_steps, minimum=0)
        if self.vectorize is not None and not isinstance(self.vectorize, bool):
            raise ValueError(f"vectorize: expected True, False or None, got {self.vectorize!r}")

    def transition(self):  # pragma: no cover - interface
        """The Hamiltonian transition kernel (see :func:`nuts_transition`)."""
        raise NotImplementedError

    def fit(self, model, data=None, *, key=0) -> ParticlePosterior:
        """Sample the posterior of ``model`` given ``data``."""
        import jax

        from uqlab.inference.checkpoint import Checkpoint, run_fingerprint
        from uqlab.inference.targets import make_target

        label = type(self).__name__
        target = make_target(model, data, label)
        checkpoint = None if self.checkpoint is None else Checkpoint(self.checkpoint, run_fingerprint(self, model, data, key))
        init_key, run_key = jax.random.split(as_key(key))
        start = time.perf_counter()
        positions = target.init(jax.random.split(init_key, self.num_chains))
        init_info = {}
        if self.init == "map":
            positions, final, evals = optimize_starts(
                target.logdensity, positions, jax.random.fold_in(init_key, 1), num_steps=self.init_steps,
                learning_rate=self.init_learning_rate, progress=self.progress, desc=f"{label} MAP init",
                vectorize=self.vectorize, objective=target.training_logdensity, lbfgs_steps=self.init_lbfgs_steps,
            )
            init_info = {
                "init_log_density": final.tolist(), "init_seconds": time.perf_counter() - start,
                "init_gradient_evals": evals,
            }
        draws, stats, (step_size, _) = run_chains(
            target.logdensity, positions, run_key, transition=self.transition(), num_warmup=self.num_warmup,
            num_samples=self.num_samples, target_acceptance=self.target_acceptance, thinning=self.thinning,
            progress=self.progress, desc=label, checkpoint=checkpoint, vectorize=self.vectorize,
        )
        draws = jax.device_get(jax.vmap(jax.vmap(target.constrain))(draws))
        seconds = time.perf_counter() - start
        particles = jax.tree_util.tree_map(lambda a: a.reshape(-1, *a.shape[2:]), draws)
        sample_stats = {
            "acceptance_rate": stats["acceptance_rate"],
            "diverging": stats["divergences"] > 0,
            "n_steps": stats["num_gradient_evals"],
        }
        posterior = target.posterior(self, particles, self.num_chains, sample_stats)
        posterior.info.update({
            "fit_seconds": seconds,
            "step_size": step_size.tolist(),
            "acceptance_rate": float(stats["acceptance_rate"].mean()),
            "divergences": int(stats["divergences"].sum()),
            "num_gradient_evals": int(stats["num_gradient_evals"].sum()),
            "warmup_gradient_evals": int(stats["warmup_gradient_evals"].sum()),
            **init_info,
            **target.diagnostics(draws, posterior),
        })
        if checkpoint is not None:
            checkpoint.finish()
        info = posterior.info
        warn_if(info["divergences"] > 0, f"{label}: {info['divergences']} divergent transitions; the posterior may be biased")
        # Weight-space R-hat of a neural network is inflated by permutation symmetries between
        # chains; for uqlab models the predictions are what must have mixed.
        rhat = info.get("pred_rhat_max", info["rhat_max"])
        warn_if(
            self.num_chains > 1 and rhat > 1.01,
            f"{label}: max R-hat {rhat:.3f} > 1.01; chains have not mixed (run longer or reparameterise)",
        )
        return posterior


@dataclasses.dataclass(frozen=True)
class NUTS(HamiltonianMethod):
    """NUTS with window adaptation; chains advance together in one scan (see :func:`run_chains`).

    Args:
        num_warmup: adaptation steps per chain (discarded).
        num_samples: kept draws per chain.
        num_chains: independent chains (R-hat needs >= 2).
        target_acceptance: step-size adaptation target.
        thinning: keep every ``thinning``-th transition.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: checkpoint file to write and resume from (see :class:`HamiltonianMethod`).
        init: ``"prior"`` (chains start at the model's ``init`` draws) or ``"map"`` (those draws
            optimised with Adam first; see :func:`optimize_starts`).
        init_steps: Adam steps per chain for ``init="map"``.
        init_learning_rate: Adam step size for ``init="map"``.
        init_lbfgs_steps: L-BFGS steps per chain after Adam for ``init="map"`` (on the sampled
            log density itself; 0: none).
        vectorize: chains under ``vmap`` (True), one after another within each step (False;
            faster on CPU for expensive gradients such as physics-informed models), or None
            (by backend); see :func:`run_chains`.
        max_tree_depth: maximum trajectory doublings (2^depth leapfrog steps).
    """

    name: ClassVar[str] = "nuts"
    max_tree_depth: int = 10

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("max_tree_depth", self.max_tree_depth)

    def transition(self):
        return nuts_transition(self.max_tree_depth)
