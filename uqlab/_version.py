"""The package version, and the versions of the numerical stack for run metadata.

In a module of its own so that any module can read them without importing ``uqlab``.
"""

from __future__ import annotations

import importlib.metadata

__version__ = "0.1.0"

STACK = ("numpy", "scipy", "jax", "numpyro", "blackjax", "optax", "torch", "arviz")


def stack_versions() -> dict[str, str]:
    """Installed versions of the numerical stack (read from package metadata; nothing is imported)."""
    out = {}
    for name in STACK:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out
