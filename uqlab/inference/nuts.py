"""No-U-Turn Sampler (Hoffman & Gelman, 2014) via BlackJAX, several chains at once.

The posterior ``p(theta | D) ∝ p(theta) prod_n p(y_n | x_n, theta)`` is sampled with BlackJAX's
multinomial NUTS kernel after Stan's windowed adaptation of the step size (dual averaging,
Nesterov 2009) and a diagonal mass matrix (Welford variance over doubling windows). Chains run
together under ``vmap``; warmup and sampling both go through :func:`scan_with_progress`, so one
bar tracks all chains.

Why the warmup loop is ours: ``blackjax.window_adaptation(...).run`` is one opaque scan (no
progress between chunks, no resumable state) and its ``base()`` init/update/final is deprecated;
the step-size and mass-matrix primitives it is built from are public, and :func:`warmup_kernel`
composes them exactly as Stan's schedule does.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar, NamedTuple

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_positive_int, check_probability
from uqlab.inference.base import Method, ParticlePosterior, check_dataset, check_model, warn_if
from uqlab.inference.transform import Transform, scan_with_progress

__all__ = ["NUTS", "warmup_kernel", "sample_kernel", "run_nuts"]


class WarmupState(NamedTuple):
    """Chain state plus Stan-style adaptation state."""

    chain: object
    step_size_state: object
    mass_state: object
    step_size: object
    inverse_mass_matrix: object


def warmup_kernel(logdensity_fn, *, max_tree_depth: int, target_acceptance: float, initial_step_size: float = 1.0):
    """Stan's windowed adaptation as a :class:`Transform` over one chain.

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
    kernel = blackjax.nuts.build_kernel()

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
        chain, info = kernel(
            key, state.chain, logdensity_fn, state.step_size, state.inverse_mass_matrix, max_num_doublings=max_tree_depth
        )
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


def sample_kernel(logdensity_fn, *, max_tree_depth: int, thinning: int):
    """NUTS with fixed tuning as a :class:`Transform`; one ``update`` makes ``thinning`` transitions.

    The state is ``(chain_state, step_size, inverse_mass_matrix)``; ``update``'s batch is unused.
    """
    import blackjax
    import jax
    import jax.numpy as jnp

    kernel = blackjax.nuts.build_kernel()

    def init(position, key=None):  # pragma: no cover - states come from warmup
        raise NotImplementedError("sample_kernel starts from a warmed-up state")

    def update(key, state, batch=None):
        del batch
        chain, step_size, imm = state

        def one(chain, k):
            chain, info = kernel(k, chain, logdensity_fn, step_size, imm, max_num_doublings=max_tree_depth)
            return chain, (info.acceptance_rate, info.is_divergent, info.num_integration_steps)

        chain, (accept, divergent, steps) = jax.lax.scan(one, chain, jax.random.split(key, thinning))
        info = {
            "acceptance_rate": jnp.mean(accept),
            "divergences": jnp.sum(divergent),
            "num_gradient_evals": jnp.sum(steps),
        }
        return (chain, step_size, imm), info

    return Transform(init, update)


def run_nuts(
    logdensity_fn,
    initial_positions,
    key,
    *,
    num_warmup: int,
    num_samples: int,
    max_tree_depth: int = 10,
    target_acceptance: float = 0.8,
    thinning: int = 1,
    progress: bool | None = None,
    desc: str = "NUTS",
):
    """Warm up and sample several NUTS chains under ``vmap``.

    Args:
        logdensity_fn: ``params -> log density`` for one chain.
        initial_positions: params pytree with a leading chain axis C.
        key: JAX key.
        num_warmup, num_samples: warmup steps and kept draws per chain.
        max_tree_depth: maximum number of trajectory doublings.
        target_acceptance: dual-averaging target.
        thinning: transitions per kept draw.
        progress, desc: progress bar.

    Returns:
        ``(draws, stats, tuning)``: draws pytree ``(C, num_samples, ...)`` numpy; per-draw stats
        dict of ``(C, num_samples)`` arrays; tuned ``(step_size, inverse_mass_matrix)`` per chain.
    """
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.window_adaptation import build_schedule

    num_chains = jax.tree_util.tree_leaves(initial_positions)[0].shape[0]
    warmup = warmup_kernel(logdensity_fn, max_tree_depth=max_tree_depth, target_acceptance=target_acceptance)
    sampler = sample_kernel(logdensity_fn, max_tree_depth=max_tree_depth, thinning=thinning)
    warmup_key, sample_key = jax.random.split(key)

    state = jax.vmap(warmup.init)(initial_positions)
    if num_warmup > 0:
        schedule = np.asarray(build_schedule(num_warmup))
        keys = jax.random.split(warmup_key, num_warmup * num_chains).reshape(num_warmup, num_chains, -1)

        def warmup_step(state, inputs):
            keys, stage = inputs
            state, _ = jax.vmap(warmup.update, in_axes=(0, 0, None))(keys, state, (stage[0], stage[1]))
            return state, None

        stages = jnp.asarray(schedule.astype(np.int32))
        state, _ = scan_with_progress(
            warmup_step, state, (keys, stages), num_steps=num_warmup, desc=f"{desc} warmup",
            progress=progress, collect=False,
        )
        step_size, imm = jax.vmap(tuned_parameters)(state)
    else:
        step_size, imm = state.step_size, state.inverse_mass_matrix

    def sample_step(carry, keys):
        carry, info = jax.vmap(sampler.update)(keys, carry)
        return carry, (carry[0].position, info)

    keys = jax.random.split(sample_key, num_samples * num_chains).reshape(num_samples, num_chains, -1)
    _, (positions, stats) = scan_with_progress(
        sample_step, (state.chain, step_size, imm), keys, num_steps=num_samples, desc=f"{desc} sampling",
        progress=progress,
    )
    to_chain_major = lambda a: np.swapaxes(a, 0, 1)  # noqa: E731
    draws = jax.tree_util.tree_map(to_chain_major, positions)
    stats = {k: to_chain_major(v) for k, v in stats.items()}
    return draws, stats, (np.asarray(step_size), np.asarray(imm))


@dataclasses.dataclass(frozen=True)
class NUTS(Method):
    """NUTS with window adaptation; chains run in parallel under ``vmap``.

    Args:
        num_warmup: adaptation steps per chain (discarded).
        num_samples: kept draws per chain.
        num_chains: independent chains (R-hat needs >= 2).
        max_tree_depth: maximum trajectory doublings (2^depth leapfrog steps).
        target_acceptance: step-size adaptation target.
        thinning: keep every ``thinning``-th transition.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "nuts"
    num_warmup: int = 500
    num_samples: int = 500
    num_chains: int = 4
    max_tree_depth: int = 10
    target_acceptance: float = 0.8
    thinning: int = 1
    progress: bool | None = None

    def __post_init__(self):
        check_positive_int("num_warmup", self.num_warmup, minimum=0)
        check_positive_int("num_samples", self.num_samples)
        check_positive_int("num_chains", self.num_chains)
        check_positive_int("max_tree_depth", self.max_tree_depth)
        check_probability("target_acceptance", self.target_acceptance)
        if self.target_acceptance == 0:
            raise ValueError("target_acceptance: expected a value in (0, 1), got 0")
        check_positive_int("thinning", self.thinning)

    def fit(self, model, data, *, key=0) -> ParticlePosterior:
        """Sample the model's posterior given ``data``."""
        import jax

        from uqlab._convert import to_jax
        from uqlab.diagnostics.sampler import summarize_chains
        from uqlab.models.base import log_joint

        check_model(model, "NUTS")
        data = check_dataset(data)
        x, y = to_jax(data.standardized())
        batch = {"x": x, "y": y}
        logdensity = lambda params: log_joint(model, params, batch, data.num_points)  # noqa: E731
        init_key, run_key = jax.random.split(as_key(key))
        positions = jax.vmap(model.init)(jax.random.split(init_key, self.num_chains))

        start = time.perf_counter()
        draws, stats, (step_size, _) = run_nuts(
            logdensity, positions, run_key, num_warmup=self.num_warmup, num_samples=self.num_samples,
            max_tree_depth=self.max_tree_depth, target_acceptance=self.target_acceptance,
            thinning=self.thinning, progress=self.progress,
        )
        seconds = time.perf_counter() - start
        particles = jax.tree_util.tree_map(lambda a: a.reshape(-1, *a.shape[2:]), draws)
        posterior = ParticlePosterior(self, model, data.scaler, {}, particles=particles, num_chains=self.num_chains)
        info = {
            "fit_seconds": seconds,
            "step_size": step_size.tolist(),
            "acceptance_rate": float(stats["acceptance_rate"].mean()),
            "divergences": int(stats["divergences"].sum()),
            "num_gradient_evals": int(stats["num_gradient_evals"].sum()),
            **summarize_chains(draws, posterior, data.x),
        }
        posterior.info.update(info)
        warn_if(info["divergences"] > 0, f"NUTS: {info['divergences']} divergent transitions; the posterior may be biased")
        # Weight-space R-hat of a neural network is inflated by permutation symmetries between
        # chains; the predictions are what must have mixed.
        warn_if(
            self.num_chains > 1 and info["pred_rhat_max"] > 1.01,
            f"NUTS: max R-hat of the predictions {info['pred_rhat_max']:.3f} > 1.01; chains have not mixed "
            "(run longer or reparameterise)",
        )
        return posterior
