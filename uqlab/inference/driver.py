"""The one driver: every iterative phase of every method runs through :meth:`Session.run`.

A kernel (:class:`~uqlab.inference.transform.Transform`) advances one chain or one member by one
step, ``update(key, state, batch) -> (state, info)``. The driver supplies the key and the batch
and owns everything that would otherwise be repeated per method:

* members: ``K`` chains / ensemble members / restarts advance together under ``vmap`` or one
  after another with ``lax.map`` (:func:`~uqlab.inference.transform.over_leading_axis`);
* keys: step ``t`` of member ``k`` gets ``split(key, T * K)[t * K + k]``; with a ``draw_batch``
  that key is split once more into ``(batch key, kernel key)``;
* batches: ``batch = {"data": draw_batch(batch_key), **schedule[t]}``: minibatch rows (or task
  batches) and schedule values such as the step size, so kernels never close over the data;
* the chunked ``lax.scan`` with a progress bar and checkpoint/resume
  (:func:`~uqlab.inference.transform.scan_with_progress`, :mod:`uqlab.inference.checkpoint`);
* kept draws (every step, or the steps a ``keep`` mask selects: thinning, burn-in, cycles);
* numerical checks: non-finite draws or losses, and a loss that grows by orders of magnitude
  (an optimiser that diverged), raise ``FloatingPointError`` naming the setting to change;
* timing per phase and gradient counting.

A :class:`Session` lives for one ``Method.fit`` (see the fit template in
:mod:`uqlab.inference.base`): it holds the run's checkpoint (fingerprinted by method, model,
data and key), and :meth:`Session.finish` turns the run into the typed
:class:`~uqlab.info.FitInfo` with chain diagnostics and warnings.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from uqlab.inference.checkpoint import Checkpoint, run_fingerprint
from uqlab.inference.transform import over_leading_axis, scan_with_progress

__all__ = ["Result", "Session", "check_finite", "leaves_of", "BLOW_UP_FACTOR"]

BLOW_UP_FACTOR = 100.0
"""A loss whose final mean exceeds ``initial + BLOW_UP_FACTOR * (|initial| + 1)`` has diverged."""


class Result(NamedTuple):
    """What one driver phase returns.

    Attributes:
        state: the final kernel state (leading member axis ``K`` when run with members).
        draws: the kept ``position(state)`` values, numpy ``(K, S, ...)`` (``(S, ...)`` without
            members), or None.
        infos: the kernels' per-step infos, numpy with leading ``(T, K)`` (``(T,)``) axes.
    """

    state: Any
    draws: Any
    infos: Any


def check_finite(label: str, values, what: str, setting: str) -> None:
    """Raise ``FloatingPointError`` if ``values`` hold NaN/inf (never hide numerical trouble)."""
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if bad.any():
        raise FloatingPointError(
            f"{label}: {what} became non-finite ({int(bad.sum())} entries); "
            f"try a smaller {setting}, or check the data scale"
        )


def _check_loss(label: str, losses: np.ndarray, setting: str) -> None:
    """Non-finite final losses, or a final loss orders of magnitude above the initial one, raise.

    The baseline is the loss of the first step (not a window's mean: a divergence within the first
    10% of steps would already sit in such a window and hide itself).
    """
    window = max(1, losses.shape[0] // 10)
    check_finite(label, losses[-window:], "the loss", setting)
    first, last = losses[0], np.mean(losses[-window:], axis=0)
    grew = last > first + BLOW_UP_FACTOR * (np.abs(first) + 1.0)
    if np.any(grew):
        raise FloatingPointError(
            f"{label}: the loss grew from {float(np.max(first[grew] if np.ndim(first) else first)):.4g} to "
            f"{float(np.max(last[grew] if np.ndim(last) else last)):.4g}: the optimiser diverged; "
            f"try a smaller {setting}"
        )


def leaves_of(tree) -> np.ndarray:
    import jax

    return np.concatenate([np.ravel(a) for a in jax.tree_util.tree_leaves(jax.device_get(tree))] or [np.zeros(0)])


class Session:
    """The run context of one fit: checkpoint, progress, timing, gradient counts, warnings.

    Args:
        label: the method's name (progress bars, messages, checkpoint phases).
        progress: progress bars (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a :class:`~uqlab.inference.checkpoint.Checkpoint`, or None.
        data: the training data (function-space chain diagnostics in :meth:`finish`).
    """

    def __init__(self, label: str, *, progress: bool | None = None, checkpoint: Checkpoint | None = None, data=None):
        self.label = label
        self.progress = progress
        self.checkpoint = checkpoint
        self.data = data
        self.start = time.perf_counter()
        self.phase_seconds: dict[str, float] = {}
        self.gradient_evals = 0
        self.warnings: list[str] = []

    @classmethod
    def for_fit(cls, method, model, data, key) -> Session:
        """The session of ``method.fit(model, data, key=key)``: its ``progress`` and ``checkpoint``
        settings (the checkpoint fingerprinted by method, model, data and key)."""
        path = getattr(method, "checkpoint", None)
        checkpoint = None if path is None else Checkpoint(path, run_fingerprint(method, model, data, key))
        return cls(type(method).__name__, progress=getattr(method, "progress", None), checkpoint=checkpoint, data=data)

    def warn(self, message: str) -> None:
        """Emit a ``RuntimeWarning`` and record it in the fit's info."""
        self.warnings.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)

    def run(
        self,
        kernel,
        state,
        key,
        *,
        num_steps: int,
        phase: str = "",
        members: int | None = None,
        vectorize: bool | None = True,
        draw_batch: Callable | None = None,
        schedule: dict | None = None,
        position: Callable | None = None,
        keep=None,
        gradients: int | Callable = 1,
        loss: Callable | None = None,
        setting: str = "learning_rate",
    ) -> Result:
        """Run ``num_steps`` kernel updates from ``state``; see the module docstring.

        Args:
            kernel: a :class:`~uqlab.inference.transform.Transform`.
            state: initial kernel state(s) (leading axis ``members`` if given).
            key: JAX key of the phase.
            num_steps: T.
            phase: name of the phase (progress bar and checkpoint), after the method's name.
            members: K states advanced together, or None for a single state.
            vectorize: ``vmap`` (True), ``lax.map`` (False), or by backend (None).
            draw_batch: ``batch_key -> data`` (a minibatch, a batch of tasks), or None.
            schedule: ``{name: (T,) array}`` of per-step values shared by all members.
            position: ``state -> pytree`` to keep as draws, or None (no draws).
            keep: bool ``(T,)``: which steps' positions to keep (None: every step).
            gradients: gradient evaluations per step and member, or ``infos -> total``.
            loss: ``infos -> (T[, K]) losses`` to check for non-finite values and blow-up.
            setting: the method setting the numerical-trouble messages advise to lower.
        """
        import jax
        import jax.numpy as jnp

        desc = f"{self.label} {phase}".strip()
        schedule = {k: jnp.asarray(v) for k, v in (schedule or {}).items()}
        if members is None:
            keys = jax.random.split(key, num_steps)
        else:
            keys = jax.random.split(key, num_steps * members).reshape(num_steps, members, -1)

        def advance(step_key, one_state, values):
            batch = dict(values)
            if draw_batch is not None:
                batch_key, step_key = jax.random.split(step_key)
                batch["data"] = draw_batch(batch_key)
            return kernel.update(step_key, one_state, batch)

        def advance_all(step_keys, states, values, active):
            if members is None:
                new, info = advance(step_keys, states, values)
            else:
                new, info = over_leading_axis(lambda k, s: advance(k, s, values), vectorize)(step_keys, states)
            if active is not None:  # a padded step of the last chunk: the states stay
                new = jax.tree_util.tree_map(lambda n, o: jnp.where(active, n, o), new, states)
            return new, info

        if keep is None:
            def step(states, inputs, active):
                step_keys, values = inputs
                states, info = advance_all(step_keys, states, values, active)
                return states, (info if position is None else (position(states), info))

            carry, xs = state, (keys, schedule)
        else:
            axis = 0 if members is None else 1

            def step(carry, inputs, active):
                states, buffer, count = carry
                step_keys, values, is_kept = inputs
                states, info = advance_all(step_keys, states, values, active)
                is_kept = is_kept if active is None else is_kept & active

                def write(buffer):
                    def put(b, p):
                        return b.at[count].set(p) if axis == 0 else b.at[:, count].set(p)

                    return jax.tree_util.tree_map(put, buffer, position(states))

                buffer = jax.lax.cond(is_kept, write, lambda b: b, buffer)
                return (states, buffer, count + is_kept.astype(jnp.int32)), info

            num_kept = int(np.sum(keep))
            lead = () if members is None else (members,)
            buffer = jax.tree_util.tree_map(
                lambda a: jnp.zeros((*lead, num_kept, *a.shape[len(lead):]), a.dtype), position(state)
            )
            carry, xs = (state, buffer, jnp.zeros((), jnp.int32)), (keys, schedule, jnp.asarray(keep))

        begin = time.perf_counter()
        carry, outs = scan_with_progress(
            step, carry, xs, num_steps=num_steps, desc=desc, progress=self.progress, checkpoint=self.checkpoint,
            masked=True,
        )
        if keep is None:
            state, draws = carry, None
            infos = outs
            if position is not None:
                draws, infos = outs
                if members is not None:
                    draws = jax.tree_util.tree_map(lambda a: np.swapaxes(a, 0, 1), draws)
        else:
            (state, draws, _), infos = carry, outs
            draws = jax.device_get(draws)
        state = jax.block_until_ready(state)
        self.phase_seconds[desc] = time.perf_counter() - begin
        self.gradient_evals += int(gradients(infos) if callable(gradients) else num_steps * (members or 1) * gradients)
        if loss is not None:
            _check_loss(self.label, np.asarray(loss(infos)), setting)
        if draws is not None:
            check_finite(self.label, leaves_of(draws), "the draws", setting)
        return Result(state, draws, infos)

    def finish(self, posterior):
        """Complete the fit: the typed info (seconds, gradients, chain diagnostics, warnings),
        warnings on divergences and R-hat, and removal of the checkpoint."""
        from uqlab._chains import summarize_chains
        from uqlab.data import Dataset

        if isinstance(self.data, Dataset) and posterior.x_fit is None:
            posterior.x_fit = self.data.x
        info = posterior.info
        info.fit_seconds = time.perf_counter() - self.start
        info.total_gradient_evals = self.gradient_evals
        info.phase_seconds = dict(self.phase_seconds)
        draws = posterior.chain_draws()
        if draws is not None:
            info.num_chains = int(jax_leaf_shape(draws)[0])
            if info.num_chains > 1:
                predicts = isinstance(self.data, Dataset) and posterior.scaler is not None
                for name, value in summarize_chains(draws, posterior, self.data.x if predicts else None).items():
                    info[name] = value
        if info.divergences:
            self.warn(f"{self.label}: {info.divergences} divergent transitions; the posterior may be biased")
        # Weight-space R-hat of a neural network is inflated by permutation symmetries between
        # chains; where there are predictions, they are what must have mixed.
        rhat = info.pred_rhat_max if info.pred_rhat_max is not None else info.rhat_max
        if rhat is not None and rhat > 1.01:
            self.warn(f"{self.label}: max R-hat {rhat:.3f} > 1.01; chains have not mixed (run longer or reparameterise)")
        info.warnings = list(self.warnings)
        if self.checkpoint is not None:
            self.checkpoint.finish()
        return posterior


def jax_leaf_shape(tree) -> tuple:
    """Shape of the first leaf of a pytree."""
    import jax

    return np.shape(jax.tree_util.tree_leaves(tree)[0])
