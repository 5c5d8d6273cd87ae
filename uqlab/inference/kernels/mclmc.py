"""Microcanonical Langevin Monte Carlo kernels via BlackJAX (Robnik, De Luca, Silverstein & Seljak, 2023;
Robnik & Seljak, 2024).

MCLMC moves the position ``x`` with a unit-norm velocity ``u`` along isokinetic dynamics
``dx/dt = M^{-1/2} u``, ``du/dt = (I - u u^T) M^{1/2} grad log p(x) / (d - 1)`` (McLachlan's
two-stage integrator, two gradients per step), with a partial velocity refresh of decoherence
length ``L`` after every step. It is *unadjusted* (no Metropolis test): the stationary law differs
from ``p`` by a bias controlled by the energy error per dimension, which the tuning keeps at
``desired_energy_var`` (``Var[dE] / d``; 5e-4 gives biases in second moments far below the
Monte Carlo error of a few thousand effective draws, Robnik et al. 2023, Sec. 4).

* :func:`mclmc`: one MCLMC step with the tuned ``(L, step_size, inverse_mass_matrix)`` held in the
  state.
* :func:`mclmc_tuning`: BlackJAX's ``mclmc_find_L_and_step_size`` (the step size from the energy
  error, a diagonal preconditioner from the running variance of ``x``, then ``L`` from the
  autocorrelation time of the draws); its three stages are one opaque BlackJAX function, so the
  whole tuning is *one* update of this kernel (one driver step per chain).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from uqlab.inference.transform import Transform

__all__ = ["MCLMCState", "MCLMCInfo", "TuningInfo", "mclmc", "mclmc_tuning", "position"]

GRADIENTS_PER_STEP = 2
"""Gradient evaluations per step of McLachlan's isokinetic integrator (BlackJAX's default)."""


class MCLMCState(NamedTuple):
    """BlackJAX's integrator state, whose position is the offset from ``origin`` (the chain's
    start), and the tuning ``(L, step_size, inverse_mass_matrix)``."""

    chain: Any
    origin: Any
    L: Any
    step_size: Any
    inverse_mass_matrix: Any


class MCLMCInfo(NamedTuple):
    """Log density after the step and the step's energy error."""

    logdensity: Any
    energy_change: Any


class TuningInfo(NamedTuple):
    """Integrator steps the tuning used (the initial step-size search included)."""

    num_integrator_steps: Any


def position(state: MCLMCState):
    """The chain's position: ``origin + offset``."""
    import jax

    return jax.tree_util.tree_map(lambda o, y: o + y, state.origin, state.chain.position)


def _shifted(logdensity_fn, origin):
    import jax

    return lambda offset: logdensity_fn(jax.tree_util.tree_map(lambda o, y: o + y, origin, offset))


def mclmc(logdensity_fn, *, desired_energy_var: float = 5e-4) -> Transform:
    """The MCLMC kernel on ``logdensity_fn(params)``.

    The chain moves the offset ``y = x - origin`` from its start (``position(state)`` is ``x``):
    the tuning's running variance ``E[y^2] - E[y]^2`` would cancel catastrophically in float32
    on ``x`` itself when the posterior is much narrower than ``|x|`` (physics-informed networks).
    ``init(position, key)`` draws the initial velocity and starts from BlackJAX's untuned values
    (``L = sqrt(d)``, ``step_size = sqrt(d) / 4``, identity preconditioner); :func:`mclmc_tuning`
    replaces them.
    """
    import blackjax
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    kernel = blackjax.mcmc.mclmc.build_kernel(desired_energy_var=desired_energy_var)

    def init(position, key=None):
        key = jax.random.PRNGKey(0) if key is None else key
        offset = jax.tree_util.tree_map(jnp.zeros_like, position)
        chain = blackjax.mcmc.mclmc.init(position=offset, logdensity_fn=_shifted(logdensity_fn, position), rng_key=key)
        dim = ravel_pytree(position)[0].size
        root = jnp.sqrt(jnp.asarray(dim, chain.logdensity.dtype))
        return MCLMCState(chain, position, root, root / 4, jnp.ones(dim, chain.logdensity.dtype))

    def update(key, state, batch):
        del batch
        chain, info = kernel(key, state.chain, _shifted(logdensity_fn, state.origin), state.inverse_mass_matrix,
                             state.L, state.step_size)
        return state._replace(chain=chain), MCLMCInfo(info.logdensity, info.energy_change)

    return Transform(init, update)


def _initial_step_size(kernel, state, logdensity_fn, key, desired_energy_var, max_halvings: int = 40):
    """Halve ``state.step_size`` until one step's squared energy error per dimension is finite
    and at most ``desired_energy_var`` (at most ``max_halvings`` times; one step per try).

    BlackJAX's starting step ``sqrt(d) / 4`` suits a posterior of unit scale; on a narrow one its
    first steps leave the typical set by orders of magnitude before the tuning can react.
    """
    import jax
    import jax.numpy as jnp

    dim = state.inverse_mass_matrix.shape[0]

    def too_large(carry):
        eps, tries = carry
        _, info = kernel(key, state.chain, logdensity_fn, state.inverse_mass_matrix, state.L, eps)
        error = jnp.square(info.energy_change) / dim
        return (~jnp.isfinite(error) | (error > desired_energy_var)) & (tries < max_halvings)

    eps, tries = jax.lax.while_loop(too_large, lambda c: (c[0] / 2, c[1] + 1), (state.step_size, jnp.zeros((), jnp.int32)))
    return eps, tries + 1


def mclmc_tuning(logdensity_fn, num_steps: int, *, desired_energy_var: float = 5e-4,
                 diagonal_preconditioning: bool = True) -> Transform:
    """BlackJAX's MCLMC tuning for a run of ``num_steps`` steps, as one update.

    A halving search first makes the initial step size safe (:func:`_initial_step_size`); the
    tuning then spends about a third of ``num_steps`` (10% finding the step size, 10% (+3%) the
    preconditioner, 10% ``L``); the state is :func:`mclmc`'s, tuned.
    """
    import blackjax
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.mclmc_adaptation import MCLMCAdaptationState

    kernel = blackjax.mcmc.mclmc.build_kernel(desired_energy_var=desired_energy_var)
    base = mclmc(logdensity_fn, desired_energy_var=desired_energy_var)

    def update(key, state, batch):
        del batch
        search_key, tune_key = jax.random.split(key)
        shifted = _shifted(logdensity_fn, state.origin)
        step_size, tries = _initial_step_size(kernel, state, shifted, search_key, desired_energy_var)
        chain, params, steps = blackjax.mclmc_find_L_and_step_size(
            mclmc_kernel=kernel, num_steps=num_steps, state=state.chain, rng_key=tune_key, logdensity_fn=shifted,
            desired_energy_var=desired_energy_var, diagonal_preconditioning=diagonal_preconditioning,
            params=MCLMCAdaptationState(state.L, step_size, state.inverse_mass_matrix),
        )
        dtype = chain.logdensity.dtype
        tuned = MCLMCState(chain, state.origin, jnp.asarray(params.L, dtype), jnp.asarray(params.step_size, dtype),
                           jnp.broadcast_to(jnp.asarray(params.inverse_mass_matrix, dtype), state.inverse_mass_matrix.shape))
        return tuned, TuningInfo(jnp.asarray(steps, jnp.int32) + tries)

    return Transform(base.init, update)
