"""Fully Bayesian GP: NUTS over the hyperparameters (Rasmussen & Williams, 2006, sec. 5.2).

``p(theta | y) ∝ p(theta) p(y | X, theta)`` is sampled by the Hamiltonian method on the GP target
of :mod:`uqlab.inference.targets` (float64, chains started at the kernel's initial values plus
0.1 standard normal noise); the predictive is the equal mixture of the closed-form Gaussians, one
per draw (:class:`~uqlab.inference.gp.GPPosterior`).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from uqlab.inference.base import Capabilities, check_dataset
from uqlab.inference.gp import check_gp_model
from uqlab.inference.nuts import NUTS

__all__ = ["GPNUTS"]


@dataclasses.dataclass(frozen=True)
class GPNUTS(NUTS):
    """NUTS on a GP's log-hyperparameters with defaults for a handful of them; every setting is as
    for :class:`~uqlab.inference.nuts.NUTS`."""

    name: ClassVar[str] = "gp_nuts"
    capabilities: ClassVar[Capabilities] = Capabilities(model="gp", resumable=True)
    num_warmup: int = 300
    num_samples: int = 300
    num_chains: int = 2
    max_tree_depth: int = 6

    def target(self, model, data):
        """The GP target (a :class:`~uqlab.models.gp.GP` and a Dataset it fits, else ``TypeError``)."""
        check_gp_model(model, "GPNUTS", check_dataset(data))
        return super().target(model, data)
