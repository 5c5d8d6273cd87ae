"""Lazy name registries: ``name -> "module:attribute"`` tables resolved on first use.

Listing names imports nothing; resolving one imports only its module (so ``import uqlab`` and
``--help`` stay fast).
"""

from __future__ import annotations

import importlib


def resolve(table: dict[str, str], name, argument: str):
    """The object registered as ``name`` in ``table``; ``ValueError`` naming ``argument`` otherwise."""
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"{argument}: expected one of {sorted(table)}, got {name!r}")
    module, attribute = table[name].split(":")
    return getattr(importlib.import_module(module), attribute)
