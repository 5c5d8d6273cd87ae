"""Steady forcing of the 2-D vorticity equation on the periodic square (see
:mod:`uqlab.problems.navier_stokes`): a field ``f(x, y)`` and a linear drag, and the Kolmogorov
forcing of Kochkov et al. (2021).

References:
    Kochkov, Smith, Alieva, Wang, Brenner, Hoyer (2021). Machine learning-accelerated
    computational fluid dynamics. PNAS 118(21).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from uqlab._validate import check_choice, check_finite, check_positive, check_positive_int
from uqlab.problems import spectral

__all__ = ["Forcing", "kolmogorov", "as_forcing"]


@dataclasses.dataclass(frozen=True)
class Forcing:
    """Steady forcing: adds ``field(x, y) - drag * w`` to the vorticity equation.

    Attributes:
        field: ``f(x, y) -> array`` on "ij" meshgrids of shape ``(n, n)``, or None for ``f = 0``.
        drag: linear (Rayleigh) drag coefficient >= 0.
    """

    field: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
    drag: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.drag) and self.drag >= 0):
            raise ValueError(f"drag: expected a finite number >= 0, got {self.drag!r}")

    def evaluate(self, n: int) -> np.ndarray:
        """The forcing field on the ``n x n`` grid (zeros when ``field`` is None)."""
        if self.field is None:
            return np.zeros((n, n))
        x, y = np.meshgrid(spectral.coordinates(n), spectral.coordinates(n), indexing="ij")
        values = np.asarray(self.field(x, y), dtype=float)
        if values.shape != (n, n):
            raise ValueError(f"forcing: expected field(x, y) of shape {(n, n)}, got {values.shape}")
        check_finite("forcing", values)
        return values


def kolmogorov(amplitude: float = 4.0, wavenumber: int = 4, drag: float = 0.1) -> Forcing:
    """Kolmogorov forcing ``f = amplitude * sin(wavenumber * y)`` with linear drag.

    The defaults are the vorticity form of Kochkov et al. (2021): their velocity forcing
    ``sin(4 y) e_x - 0.1 u`` has curl ``-4 cos(4 y) - 0.1 w``, which is this forcing translated
    in ``y`` by ``3 pi / 8``.
    """
    check_positive("amplitude", amplitude)
    check_positive_int("wavenumber", wavenumber)
    return Forcing(lambda x, y: amplitude * np.sin(wavenumber * y), drag)


def as_forcing(forcing) -> Forcing:
    """A :class:`Forcing` from one, a callable ``f(x, y)`` (no drag), ``"kolmogorov"`` or ``"none"``."""
    if isinstance(forcing, Forcing):
        return forcing
    if callable(forcing):
        return Forcing(forcing)
    check_choice("forcing", forcing, {"kolmogorov", "none"})
    return kolmogorov() if forcing == "kolmogorov" else Forcing()
