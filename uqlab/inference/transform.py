"""The kernel contract and the chunked ``lax.scan`` loop under the driver.

A kernel follows the optax / BlackJAX contract: ``build(...) -> Transform(init, update)`` with
``init(position, key) -> state`` and ``update(key, state, batch) -> (state, info)``; kernels never
jit themselves and never print (see :mod:`uqlab.inference.kernels`). :func:`scan_with_progress`
is the loop under the driver (:mod:`uqlab.inference.driver`): it runs ``lax.scan`` over chunks of
steps (a Python loop over a jitted step is ~10x slower) and advances a tqdm bar between chunks,
which keeps working under ``vmap`` over chains or members.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Transform", "scan_with_progress", "progress_enabled", "over_leading_axis"]


class Transform(NamedTuple):
    """An iterative method: ``init(params, key) -> state``, ``update(key, state, batch) -> (state, info)``."""

    init: Callable[..., Any]
    update: Callable[..., Any]


def progress_enabled(progress: bool | None) -> bool:
    """Resolve a method's ``progress`` setting; ``UQLAB_PROGRESS=0`` silences every bar."""
    if progress is None:
        return os.environ.get("UQLAB_PROGRESS", "1") != "0"
    return bool(progress)


def over_leading_axis(fn: Callable, vectorize: bool | None) -> Callable:
    """``fn`` applied along the leading axis of all its arguments (chains, members).

    ``vectorize=True`` batches with ``vmap``; False runs the elements one after another with
    ``lax.map`` (on CPU, XLA's batched kernels made physics-informed gradients 2.4-5x slower per
    element, and a batched NUTS tree runs until its longest trajectory stops); None picks
    ``vmap`` on accelerators and ``lax.map`` on CPU. Both give the same numbers up to rounding.
    """
    import jax

    if vectorize is None:
        vectorize = jax.default_backend() != "cpu"
    if not isinstance(vectorize, bool):
        raise TypeError(f"vectorize: expected True, False or None, got {vectorize!r}")
    if vectorize:
        return jax.vmap(fn)
    return lambda *args: jax.lax.map(lambda a: fn(*a), args)


def scan_with_progress(
    step: Callable,
    carry,
    xs,
    *,
    num_steps: int,
    desc: str,
    progress: bool | None = None,
    num_chunks: int = 20,
    collect: bool = True,
    checkpoint=None,
    masked: bool = False,
):
    """Run ``carry, out = step(carry, x)`` over ``num_steps`` steps in jitted scan chunks.

    Chunks all have one length (the last is padded with discarded steps), so the scan compiles
    once. The result does not depend on the chunking: step ``i`` always sees ``xs[i]``.

    Args:
        step: ``(carry, x) -> (carry, out)``; pure, not jitted.
        carry: initial carry (a pytree of arrays).
        xs: pytree of arrays with leading axis ``num_steps`` (keys, schedules, ...).
        num_steps: number of steps (>= 0).
        desc: progress-bar label.
        progress: show a bar (None: on unless ``UQLAB_PROGRESS=0``).
        num_chunks: how many chunks to split the run into (more: smoother bar, a little slower).
        collect: stack the per-step outputs (as numpy) and return them; else return None.
        checkpoint: a :class:`~uqlab.inference.checkpoint.Checkpoint`: the run resumes from its
            state for phase ``desc`` and saves carry, step and outputs after every chunk.
        masked: ``step(carry, x, is_active)`` masks the padded steps itself: it must return its
            carry unchanged where ``is_active`` is False (``is_active`` is None when nothing is
            padded). Else the whole carry is selected per step, which copies a large carry (the
            driver's draw buffer) every step.

    Returns:
        ``(carry, outs)`` with ``outs`` a pytree of numpy arrays with leading axis ``num_steps``.
    """
    import jax
    import jax.numpy as jnp
    from tqdm.auto import tqdm

    if num_steps == 0:
        return carry, None
    chunk = _chunk_length(num_steps, num_chunks)
    padded = -(-num_steps // chunk) * chunk

    def pad(a):
        a = jnp.asarray(a)
        return jnp.concatenate([a, jnp.repeat(a[-1:], padded - num_steps, axis=0)]) if padded > num_steps else a

    xs = jax.tree_util.tree_map(pad, xs)
    # Weak-typed leaves (from Python scalars) come back strongly typed after the first chunk,
    # which would make the chunk trace and compile twice.
    carry = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=jnp.result_type(a)), carry)
    active = jnp.arange(padded) < num_steps

    def masked_step(carry, inputs):
        x, is_active = inputs
        if masked:
            new_carry, out = step(carry, x, None if padded == num_steps else is_active)
            return new_carry, (out if collect else None)
        new_carry, out = step(carry, x)
        if padded == num_steps:
            return new_carry, (out if collect else None)
        # Padded steps (at most one chunk's worth, only when num_steps has no divisor near
        # num_steps / num_chunks) run and are discarded. A lax.cond with a skip branch would cost
        # nothing at run time but needs the output shapes, i.e. a second trace of ``step``,
        # which for vmapped NUTS takes longer than a few wasted steps.
        carry = jax.tree_util.tree_map(lambda new, old: jnp.where(is_active, new, old), new_carry, carry)
        return carry, (out if collect else None)

    run_chunk = jax.jit(lambda c, inputs: jax.lax.scan(masked_step, c, inputs))
    stack = lambda parts: jax.tree_util.tree_map(lambda *p: np.concatenate(p)[:num_steps], *parts)  # noqa: E731
    first, outs = 0, []
    if checkpoint is not None:
        first_x = jax.tree_util.tree_map(lambda a: a[0], xs)
        out_shapes = jax.eval_shape(lambda c, x: step(c, x, None) if masked else step(c, x), carry, first_x)[1]
        out_tree = jax.tree_util.tree_structure(out_shapes)
        first, carry, done = checkpoint.restore(desc, carry, out_tree if collect else None)
        outs = [done] if done is not None else []
    with tqdm(total=num_steps, initial=first, desc=desc, disable=not progress_enabled(progress), leave=False) as bar:
        for start in range(first, num_steps, chunk):  # chunk starts: multiples of chunk below num_steps
            inputs = jax.tree_util.tree_map(lambda a, s=start: a[s : s + chunk], (xs, active))
            carry, out = run_chunk(carry, inputs)
            if collect:
                outs.append(jax.device_get(out))
            if checkpoint is not None:
                outs = [stack(outs)] if collect else outs
                checkpoint.save(desc, min(start + chunk, num_steps), carry, outs[0] if collect else None)
            bar.update(min(chunk, num_steps - start))
    return carry, (stack(outs) if collect else None)


def _chunk_length(num_steps: int, num_chunks: int) -> int:
    """About ``num_steps / num_chunks``; a divisor of ``num_steps`` if one is near (no padding)."""
    chunk = -(-num_steps // max(1, min(num_chunks, num_steps)))
    for candidate in range(chunk, min(2 * chunk, num_steps) + 1):
        if num_steps % candidate == 0:
            return candidate
    return chunk
