"""1-D heteroscedastic regression with a gap: the default problem.

``y = f(x) + sigma(x) eps`` with ``f(x) = sin(1.5 x) + 0.3 x`` and noise growing from left to
right, ``sigma(x) = 0.05 + 0.25 / (1 + exp(-1.5 x))``. Training inputs cover ``[-4, -1] ∪ [1, 4]``
only, so a good posterior widens in the gap ("in-between" uncertainty; Foong et al., 2019) and
beyond the data. The test set spans ``[-5, 5]``.
"""

from __future__ import annotations

import numpy as np

from uqlab._validate import check_positive_int
from uqlab.data import Dataset
from uqlab.problems import Problem

__all__ = ["make", "true_function", "noise_scale"]


def true_function(x):
    """The noise-free mean f(x)."""
    return np.sin(1.5 * x) + 0.3 * x


def noise_scale(x):
    """The true noise standard deviation sigma(x)."""
    return 0.05 + 0.25 / (1.0 + np.exp(-1.5 * x))


def make(*, seed: int = 0, quick: bool = False, num_train: int | None = None, num_test: int = 400) -> Problem:
    """Sample the train set on the two intervals and a test set over [-5, 5].

    ``num_train`` defaults to 200 (100 in quick mode).
    """
    num_train = (100 if quick else 200) if num_train is None else num_train
    check_positive_int("num_train", num_train, minimum=4)
    check_positive_int("num_test", num_test)
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 2, num_train)
    x = np.where(side == 0, rng.uniform(-4, -1, num_train), rng.uniform(1, 4, num_train))
    x_test = np.sort(rng.uniform(-5, 5, num_test))

    def observe(x):
        return true_function(x) + noise_scale(x) * rng.standard_normal(x.shape)

    data = Dataset(x, observe(x), x_test, observe(x_test), name="toy1d")

    def make_model():
        from uqlab.models import BayesianMLP, Heteroscedastic

        return BayesianMLP(
            d_in=1, d_out=1, widths=(50,), activation="tanh", prior_scale=2.0, likelihood=Heteroscedastic()
        )

    def make_gp():
        from uqlab.models import GP
        from uqlab.models.kernels import Matern52

        return GP(kernel=Matern52())

    if quick:
        settings = {
            "nuts": {"num_warmup": 100, "num_samples": 100, "num_chains": 2, "max_tree_depth": 6},
            "ensemble": {"num_members": 5, "num_steps": 600},
            "mc_dropout": {"num_steps": 800, "dropout_rate": 0.05},
        }
    else:
        settings = {
            "nuts": {"num_warmup": 300, "num_samples": 300, "num_chains": 4, "max_tree_depth": 8},
            "ensemble": {"num_members": 5, "num_steps": 3000},
            "mc_dropout": {"num_steps": 3000, "dropout_rate": 0.05},
        }
    regions = {"training range": [[-4.0, -1.0], [1.0, 4.0]], "gap": [[-1.0, 1.0]], "extrapolation": [[None, -4.0], [4.0, None]]}
    truth = {"f_test": true_function(x_test), "noise_test": noise_scale(x_test), "gap": (-1.0, 1.0), "regions": regions}
    return Problem(
        "toy1d", data, make_model, settings, truth, "1-D heteroscedastic regression with a gap in [-1, 1]",
        models={"gp": make_gp},
    )
