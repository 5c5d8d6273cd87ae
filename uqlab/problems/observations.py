"""A user's own measurements in place of a problem's generated ones (``problems.load(name, observations=...)``).

Each problem that takes ``observations`` documents its keys; this module checks a mapping against
them and names the key, the expected shape and what came.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_observations"]


def check_observations(observations, columns: dict[str, int], pairs: tuple[tuple[str, str], ...],
                       inputs: dict[str, tuple] | None = None) -> dict[str, np.ndarray]:
    """Validate ``observations`` and return them as float64 arrays.

    Args:
        observations: a mapping with exactly the keys of ``columns``.
        columns: per key, the number of columns of its ``(n, c)`` array.
        pairs: keys whose row counts must agree (inputs and their measured values).
        inputs: per input key, the ``(low, high)`` bounds per column its points must lie in.

    Raises:
        TypeError: not a mapping, or a non-numeric array.
        ValueError: missing or unknown keys, a wrong shape, NaN/inf, disagreeing row counts or
            points outside the domain; the message names the key.
    """
    if not hasattr(observations, "keys"):
        raise TypeError(f"observations: expected a dict with keys {sorted(columns)}, got {type(observations).__name__}")
    missing, unknown = sorted(set(columns) - set(observations)), sorted(set(observations) - set(columns))
    if missing or unknown:
        raise ValueError(f"observations: expected the keys {sorted(columns)}, got {sorted(observations)} "
                         f"(missing {missing}, unknown {unknown})")
    out = {}
    for key, width in columns.items():
        array = np.asarray(observations[key])
        if not np.issubdtype(array.dtype, np.number):
            raise TypeError(f"observations[{key!r}]: expected a numeric array, got dtype {array.dtype}")
        if array.ndim != 2 or array.shape[1] != width or array.shape[0] < 1:
            raise ValueError(f"observations[{key!r}]: expected shape (n, {width}) with n >= 1, got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"observations[{key!r}]: expected finite values, got {int((~np.isfinite(array)).sum())} NaN/inf")
        out[key] = array.astype(np.float64)
    for a, b in pairs:
        if len(out[a]) != len(out[b]):
            raise ValueError(f"observations[{b!r}]: expected {len(out[a])} rows (one per row of {a!r}), got {len(out[b])}")
    for key, (low, high) in (inputs or {}).items():
        outside = (out[key] < np.asarray(low)) | (out[key] > np.asarray(high))
        if outside.any():
            raise ValueError(f"observations[{key!r}]: expected points in the domain {low} .. {high}, "
                             f"got {int(outside.any(axis=1).sum())} outside (first: {out[key][outside.any(axis=1)][0]})")
    return out
