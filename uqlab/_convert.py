"""The seam between frameworks: data into ``fit`` (numpy -> jax) and keys (int seed -> JAX key)."""

from __future__ import annotations

import numpy as np

__all__ = ["as_key", "to_jax"]


def as_key(key):
    """A JAX PRNG key from an int seed or an existing key (raw ``uint32[2]`` or typed)."""
    import jax

    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.PRNGKey(int(key))
    array = jax.numpy.asarray(key)
    if jax.dtypes.issubdtype(array.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(array)
    if array.shape != (2,) or array.dtype != jax.numpy.uint32:
        raise TypeError(f"key: expected an int seed or a jax PRNG key, got {key!r}")
    return array


def to_jax(tree, dtype=None):
    """numpy arrays (or a pytree of them) to jax arrays in the default float dtype."""
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=dtype or jnp.result_type(float)), tree)

