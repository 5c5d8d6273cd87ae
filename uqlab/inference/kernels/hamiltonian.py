"""Hamiltonian kernels via BlackJAX: NUTS and static HMC transitions, Stan's window adaptation,
and fixed-tuning sampling.

* :func:`nuts_transition`: the multinomial No-U-Turn sampler (Hoffman & Gelman, 2014; Betancourt,
  2017) with at most ``2^max_tree_depth`` leapfrog steps.
* :func:`hmc_transition`: HMC with ``L`` leapfrog steps (Duane et al., 1987; Neal, 2011).
* :func:`window_adaptation`: Stan's warmup (Stan Reference Manual, "HMC algorithm parameters"):
  dual averaging of the step size (Nesterov, 2009; Hoffman & Gelman, 2014) towards a target
  acceptance rate, and a diagonal mass matrix from the Welford variance of the positions over
  doubling windows, restarting dual averaging at each window end.
* :func:`fixed_sampler`: the transition with the tuned step size and mass matrix; one update makes
  ``thinning`` transitions.

Why the warmup loop is ours: ``blackjax.window_adaptation(...).run`` is one opaque scan (no
progress between chunks, no resumable state); the step-size and mass-matrix primitives it is built
from are public and composed here exactly as Stan's schedule does, so the driver can chunk,
checkpoint and vectorise warmup like any other phase.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from uqlab.inference.transform import Transform

__all__ = [
    "WarmupState", "WarmupInfo", "SamplerState", "SamplerInfo", "nuts_transition", "hmc_transition",
    "window_adaptation", "fixed_sampler", "tuned_state",
]


class WarmupState(NamedTuple):
    """Chain state plus Stan-style adaptation state."""

    chain: Any
    step_size_state: Any
    mass_state: Any
    step_size: Any
    inverse_mass_matrix: Any


class WarmupInfo(NamedTuple):
    """Per warmup step: acceptance probability and leapfrog steps (gradient evaluations)."""

    acceptance_rate: Any
    num_gradient_evals: Any


class SamplerState(NamedTuple):
    """Chain state with fixed step size and inverse (diagonal) mass matrix."""

    chain: Any
    step_size: Any
    inverse_mass_matrix: Any


class SamplerInfo(NamedTuple):
    """Per update (``thinning`` transitions): mean acceptance, divergences, gradient evaluations."""

    acceptance_rate: Any
    divergences: Any
    num_gradient_evals: Any


def nuts_transition(max_tree_depth: int):
    """One NUTS transition ``(key, state, logdensity_fn, step_size, inverse_mass_matrix) -> (state, info)``."""
    import functools

    import blackjax

    return functools.partial(blackjax.nuts.build_kernel(), max_num_doublings=max_tree_depth)


def hmc_transition(num_integration_steps: int):
    """One HMC transition with ``num_integration_steps`` leapfrog steps; same signature."""
    import functools

    import blackjax

    return functools.partial(blackjax.hmc.build_kernel(), num_integration_steps=num_integration_steps)


def window_adaptation(logdensity_fn, transition, *, target_acceptance: float, initial_step_size: float = 1.0) -> Transform:
    """Stan's windowed adaptation of a Hamiltonian ``transition`` over one chain.

    ``batch`` holds ``"stage"`` and ``"window_end"`` from BlackJAX's ``build_schedule``: stage 0
    adapts only the step size, stage 1 also accumulates the mass matrix, and at a window end the
    mass matrix is recomputed and dual averaging restarts from the averaged step size.
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

    def update(key, state, batch):
        chain, info = transition(key, state.chain, logdensity_fn, state.step_size, state.inverse_mass_matrix)
        da_state = da_update(state.step_size_state, info.acceptance_rate)
        mass = jax.lax.cond(batch["stage"] == 1, lambda m: mm_update(m, chain.position), lambda m: m, state.mass_state)

        def end_window(args):
            da_state, mass = args
            mass = mm_final(mass)
            return da_init(da_final(da_state)), mass, mass.inverse_mass_matrix

        da_state, mass, imm = jax.lax.cond(
            batch["window_end"], end_window, lambda a: (*a, state.inverse_mass_matrix), (da_state, mass)
        )
        new_state = WarmupState(chain, da_state, mass, jnp.exp(da_state.log_step_size), imm)
        return new_state, WarmupInfo(info.acceptance_rate, info.num_integration_steps)

    return Transform(init, update)


def tuned_state(state: WarmupState) -> SamplerState:
    """The sampler state after warmup: the dual-averaging average step size and the mass matrix."""
    import jax.numpy as jnp

    return SamplerState(state.chain, jnp.exp(state.step_size_state.log_step_size_avg), state.inverse_mass_matrix)


def fixed_sampler(logdensity_fn, transition, *, thinning: int = 1) -> Transform:
    """A Hamiltonian ``transition`` with fixed tuning; one ``update`` makes ``thinning`` transitions.

    ``init(position)`` starts with step size 1 and an identity mass matrix; after warmup the state
    comes from :func:`tuned_state`. The batch is unused.
    """
    import blackjax
    import jax
    import jax.numpy as jnp

    def init(position, key=None):
        del key
        dim = jax.flatten_util.ravel_pytree(position)[0].shape[0]
        dtype = jnp.result_type(float)
        return SamplerState(blackjax.nuts.init(position, logdensity_fn), jnp.ones((), dtype), jnp.ones(dim, dtype))

    def update(key, state, batch=None):
        del batch

        def one(chain, k):
            chain, info = transition(k, chain, logdensity_fn, state.step_size, state.inverse_mass_matrix)
            return chain, (info.acceptance_rate, info.is_divergent, info.num_integration_steps)

        if thinning == 1:  # no inner loop: on CPU a trip-count-1 scan around the trajectory cost ~15%
            chain, stats = one(state.chain, key)
            accept, divergent, steps = (jnp.reshape(s, (1,)) for s in stats)
        else:
            chain, (accept, divergent, steps) = jax.lax.scan(one, state.chain, jax.random.split(key, thinning))
        info = SamplerInfo(jnp.mean(accept), jnp.sum(divergent), jnp.sum(steps))
        return state._replace(chain=chain), info

    return Transform(init, update)
