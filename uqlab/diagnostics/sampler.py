"""Sampler diagnostics via ArviZ: R-hat and ESS in weight space and in function space.

The functions live in :mod:`uqlab._chains`, below both layers, because inference computes them
for ``posterior.info`` and inference must not import diagnostics (docs/architecture.md); this is
their public home for users.
"""

from uqlab._chains import chain_diagnostics, function_space_diagnostics, inference_data_diagnostics, summarize_chains

__all__ = ["chain_diagnostics", "function_space_diagnostics", "inference_data_diagnostics", "summarize_chains"]
