"""Models under the JAX contract of :mod:`uqlab.models.base` (importing this loads JAX)."""

from uqlab.models.base import Model, log_joint
from uqlab.models.bnn import BayesianMLP, DropoutMLP
from uqlab.models.gp import GP
from uqlab.models.likelihoods import Gaussian, Heteroscedastic, StudentT
from uqlab.models.priors import prior_predictive
from uqlab.models.torch import TorchModel, from_torch  # torch itself loads only when they are used

__all__ = [
    "Model", "log_joint", "BayesianMLP", "DropoutMLP", "Gaussian", "Heteroscedastic", "StudentT", "GP",
    "prior_predictive", "TorchModel", "from_torch",
]
