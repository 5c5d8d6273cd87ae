"""Hamiltonian Monte Carlo with a fixed number of leapfrog steps (Duane et al., 1987; Neal, 2011).

The same Stan window adaptation, chains, checkpointing and model kinds as
:class:`~uqlab.inference.nuts.NUTS`; only the transition differs: every draw integrates
``num_integration_steps`` leapfrog steps, so the cost per draw is fixed and known in advance
(useful when gradients are expensive, e.g. physics-informed models, where NUTS trees may reach
hundreds of steps).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from uqlab._validate import check_positive_int
from uqlab.inference.kernels.hamiltonian import hmc_transition
from uqlab.inference.nuts import HamiltonianMethod

__all__ = ["HMC"]


@dataclasses.dataclass(frozen=True)
class HMC(HamiltonianMethod):
    """Static HMC with window adaptation of the step size and diagonal mass matrix.

    Args:
        num_warmup, num_samples, num_chains, target_acceptance, thinning, progress, checkpoint, init, init_steps, init_learning_rate, init_lbfgs_steps, vectorize: as for
            :class:`~uqlab.inference.nuts.NUTS`.
        num_integration_steps: leapfrog steps per transition L.
    """

    name: ClassVar[str] = "hmc"
    num_integration_steps: int = 32

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("num_integration_steps", self.num_integration_steps)

    def transition(self):
        return hmc_transition(self.num_integration_steps)
