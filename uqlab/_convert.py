"""The seam between frameworks: data into ``fit`` (numpy -> jax) and keys (int seed -> JAX key)."""

from __future__ import annotations

import numpy as np

__all__ = ["as_key", "to_jax"]


def as_key(key):
    """A JAX PRNG key (raw ``uint32[2]``) from an int seed or an existing key; the one place keys are checked.

    Accepts an int seed in ``[-2**63, 2**63)`` (what ``jax.random.PRNGKey`` takes; negative seeds
    wrap as in JAX), a raw key (``uint32`` array of shape ``(2,)``, e.g. ``jax.random.PRNGKey(0)``)
    or a typed key of shape ``()`` (``jax.random.key(0)``).

    Raises:
        TypeError: None, a string, a float, a bool or another non-key object (naming ``key``).
        ValueError: an int seed out of range, or an array of the wrong shape or dtype.
    """
    if isinstance(key, (bool, np.bool_)) or key is None or isinstance(key, (str, bytes, float, complex)):
        raise TypeError(
            f"key: expected an int seed or a jax PRNG key (jax.random.PRNGKey(seed)), got {key!r} "
            f"({type(key).__name__})"
        )
    import jax

    if isinstance(key, (int, np.integer)):
        if not -(2**63) <= int(key) < 2**63:
            raise ValueError(f"key: expected an int seed in [-2**63, 2**63) (a 64-bit integer), got {int(key)}")
        return jax.random.PRNGKey(int(key))
    if not hasattr(key, "dtype") or not hasattr(key, "shape"):
        raise TypeError(f"key: expected an int seed or a jax PRNG key, got {type(key).__name__} {key!r}")
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"key: expected a single typed jax key of shape (), got shape {key.shape}")
        return jax.random.key_data(key)
    if tuple(key.shape) != (2,) or np.dtype(key.dtype) != np.uint32:
        raise ValueError(
            f"key: expected a jax PRNG key (uint32 array of shape (2,)), got a {np.dtype(key.dtype)} array of shape "
            f"{tuple(key.shape)}"
        )
    return jax.numpy.asarray(key)


def to_jax(tree, dtype=None):
    """numpy arrays (or a pytree of them) to jax arrays in the default float dtype."""
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=dtype or jnp.result_type(float)), tree)

