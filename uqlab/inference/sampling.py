"""Several chains of a Hamiltonian sampler through the driver: Stan warmup, then sampling.

Chains advance together in one ``lax.scan`` per phase, under ``vmap`` or (``vectorize=False``,
faster on CPU for expensive gradients) one after another within each step; each phase is one
:meth:`~uqlab.inference.driver.Session.run`, so one bar tracks all chains and both phases
checkpoint and resume.
"""

from __future__ import annotations

import numpy as np

from uqlab.inference.driver import Session
from uqlab.inference.kernels.hamiltonian import fixed_sampler, nuts_transition, tuned_state, window_adaptation

__all__ = ["run_chains", "run_nuts"]


def run_chains(logdensity_fn, initial_positions, key, *, transition, num_warmup: int, num_samples: int,
               target_acceptance: float = 0.8, thinning: int = 1, vectorize: bool | None = True,
               session: Session | None = None, progress: bool | None = None, desc: str = "NUTS"):
    """Warm up and sample several chains of a Hamiltonian ``transition``.

    Args:
        logdensity_fn: ``params -> log density`` for one chain.
        initial_positions: params pytree with a leading chain axis C.
        key: JAX key (split into warmup and sampling keys).
        transition: :func:`~uqlab.inference.kernels.hamiltonian.nuts_transition` or ``hmc_transition``.
        num_warmup, num_samples: warmup steps and kept draws per chain.
        target_acceptance: dual-averaging target.
        thinning: transitions per kept draw.
        vectorize: chains under ``vmap`` (True), one after another within each step (False), or
            by backend (None); both give the same draws up to floating-point rounding, which
            chaotic dynamics amplify: a different, equally valid chain.
        session: the fit's driver session (checkpoint, counters); None: a standalone one with
            ``progress`` and ``desc``.

    Returns:
        ``(draws, stats, tuning)``: draws pytree ``(C, num_samples, ...)`` numpy; per-draw stats
        dict of ``(C, num_samples)`` arrays plus ``warmup_gradient_evals`` ``(C,)``; tuned
        ``(step_size, inverse_mass_matrix)`` per chain.
    """
    import jax
    from blackjax.adaptation.window_adaptation import build_schedule

    session = session or Session(desc, progress=progress)
    num_chains = jax.tree_util.tree_leaves(initial_positions)[0].shape[0]
    warmup = window_adaptation(logdensity_fn, transition, target_acceptance=target_acceptance)
    sampler = fixed_sampler(logdensity_fn, transition, thinning=thinning)
    warmup_key, sample_key = jax.random.split(key)
    state = jax.jit(jax.vmap(warmup.init))(initial_positions)
    count = lambda infos: int(np.sum(infos.num_gradient_evals))  # noqa: E731
    warmup_evals = np.zeros(num_chains, np.int64)
    if num_warmup > 0:
        stages = np.asarray(build_schedule(num_warmup)).astype(np.int32)
        state, _, infos = session.run(
            warmup, state, warmup_key, num_steps=num_warmup, phase="warmup", members=num_chains,
            vectorize=vectorize, schedule={"stage": stages[:, 0], "window_end": stages[:, 1]}, gradients=count,
        )
        warmup_evals = np.asarray(infos.num_gradient_evals).sum(axis=0)
    state = jax.jit(jax.vmap(tuned_state))(state)
    state, draws, infos = session.run(
        sampler, state, sample_key, num_steps=num_samples, phase="sampling", members=num_chains,
        vectorize=vectorize, position=lambda s: s.chain.position, gradients=count, setting="target_acceptance",
    )
    stats = {name: np.swapaxes(np.asarray(value), 0, 1) for name, value in infos._asdict().items()}
    stats["warmup_gradient_evals"] = warmup_evals
    return draws, stats, (np.asarray(state.step_size), np.asarray(state.inverse_mass_matrix))


def run_nuts(logdensity_fn, initial_positions, key, *, max_tree_depth: int = 10, **settings):
    """:func:`run_chains` with the NUTS transition (``settings`` as there)."""
    return run_chains(logdensity_fn, initial_positions, key, transition=nuts_transition(max_tree_depth), **settings)
