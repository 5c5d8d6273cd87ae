"""The typed record of what a fit did: :class:`FitInfo`, a currency like the Predictive.

Every ``Method.fit`` returns a Posterior whose ``info`` is a :class:`FitInfo`. Its typed fields
are the ones every consumer (reports, comparisons, benchmarks) may rely on; method-specific
entries (losses, step sizes, ELBO traces, ...) live in ``extra``. It is also a mutable mapping,
so ``posterior.info["divergences"]`` and ``dict(posterior.info)`` work: the keys are the typed
fields that are set (not None) followed by the ``extra`` entries.

This module imports nothing but the standard library, so inference (which writes the record)
and diagnostics (which reads it) both depend on it and not on each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import MutableMapping
from typing import Any

__all__ = ["FitInfo", "CHAIN_DIAGNOSTICS", "SAMPLER_FIELDS"]

CHAIN_DIAGNOSTICS = (
    "rhat_max", "ess_bulk_min", "ess_tail_min",
    "pred_rhat_max", "pred_ess_bulk_min", "pred_ess_bulk_median", "pred_ess_tail_min",
)
"""Chain diagnostics (Vehtari et al., 2021, via ArviZ) on parameters and on predictions, set for
every method with draws from several chains."""

SAMPLER_FIELDS = ("acceptance_rate", "divergences", *CHAIN_DIAGNOSTICS)
"""The fields a report's sampler table shows."""


@dataclasses.dataclass(eq=False)
class FitInfo(MutableMapping):
    """What a fit did.

    Attributes:
        fit_seconds: wall time of the whole fit.
        num_gradient_evals: gradient evaluations of the main phase (sampling or training).
        total_gradient_evals: gradient evaluations of all phases (starts, warmup, sampling).
        num_chains: independent chains (or members) the draws came from.
        acceptance_rate: mean Metropolis acceptance rate (MCMC with a correction).
        divergences: divergent transitions (Hamiltonian samplers).
        rhat_max, ess_bulk_min, ess_tail_min: worst rank-normalised split R-hat and bulk/tail ESS
            over every scalar parameter (several chains only).
        pred_rhat_max, pred_ess_bulk_min, pred_ess_bulk_median, pred_ess_tail_min: the same on
            the predictive means at up to 16 training inputs (function space).
        phase_seconds: wall time per driver phase (``{"NUTS warmup": 1.2, ...}``).
        warnings: the warnings the fit emitted.
        extra: method-specific entries.
    """

    fit_seconds: float | None = None
    num_gradient_evals: int | None = None
    total_gradient_evals: int | None = None
    num_chains: int | None = None
    acceptance_rate: float | None = None
    divergences: int | None = None
    rhat_max: float | None = None
    ess_bulk_min: float | None = None
    ess_tail_min: float | None = None
    pred_rhat_max: float | None = None
    pred_ess_bulk_min: float | None = None
    pred_ess_bulk_median: float | None = None
    pred_ess_tail_min: float | None = None
    phase_seconds: dict | None = None
    warnings: list | None = None
    extra: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_mapping(cls, values) -> FitInfo:
        """A FitInfo from any mapping (e.g. a loaded file's info dict); unknown keys go to ``extra``."""
        if isinstance(values, FitInfo):
            return values
        info = cls()
        info.update(values or {})
        return info

    @classmethod
    def _typed(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "extra")

    def __getitem__(self, name: str) -> Any:
        if name in self._typed():
            value = getattr(self, name)
            if value is None:
                raise KeyError(name)
            return value
        return self.extra[name]

    def __setitem__(self, name: str, value) -> None:
        if name in self._typed():
            setattr(self, name, value)
        else:
            self.extra[name] = value

    def __delitem__(self, name: str) -> None:
        if name in self._typed():
            if getattr(self, name) is None:
                raise KeyError(name)
            setattr(self, name, None)
        else:
            del self.extra[name]

    def __iter__(self):
        yield from (name for name in self._typed() if getattr(self, name) is not None)
        yield from self.extra

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"FitInfo({', '.join(f'{k}={v!r}' for k, v in self.items() if not hasattr(v, 'shape'))})"

    def sampler_summary(self) -> dict:
        """The :data:`SAMPLER_FIELDS` that are set."""
        return {k: self[k] for k in SAMPLER_FIELDS if k in self}
