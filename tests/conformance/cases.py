"""One tiny, fast conformance case per registered method.

Every registered method must have an entry in ``CASES``: a function returning
``(method, model, data)`` with settings small enough to run in a few seconds. A method that
serves several model families may have more cases, named ``method[variant]``. The shared checks
in ``test_methods.py`` then apply to every method. Add one entry here with each new method.
"""

from __future__ import annotations

import numpy as np

import uqlab


def tiny_data(num_points: int = 24, seed: int = 0) -> uqlab.Dataset:
    """A small 1-D regression set with a test split."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (num_points, 1))
    y = np.sin(2 * x) + 0.1 * rng.standard_normal((num_points, 1))
    x_test = np.linspace(-3, 3, 7)[:, None]
    return uqlab.Dataset(x, y, x_test, np.sin(2 * x_test), name="tiny")


def tiny_mlp(**settings):
    """A 1-8-1 tanh BNN with learned homoscedastic noise."""
    from uqlab.models import BayesianMLP

    return BayesianMLP(d_in=1, d_out=1, widths=(8,), **settings)


def _nuts():
    from uqlab.inference.nuts import NUTS

    return NUTS(num_warmup=20, num_samples=10, num_chains=2, max_tree_depth=4, progress=False), tiny_mlp(), tiny_data()


def _hmc():
    from uqlab.inference.hmc import HMC

    return HMC(num_warmup=20, num_samples=10, num_chains=2, num_integration_steps=4, progress=False), tiny_mlp(), tiny_data()


def _ensemble():
    from uqlab.inference.ensemble import DeepEnsemble
    from uqlab.models import Heteroscedastic

    method = DeepEnsemble(num_members=3, num_steps=30, progress=False)
    return method, tiny_mlp(likelihood=Heteroscedastic()), tiny_data()


def _mc_dropout():
    from uqlab.inference.mc_dropout import MCDropout

    return MCDropout(num_steps=30, num_passes=10, progress=False), tiny_mlp(dropout_rate=0.1), tiny_data()


def _sgld():
    from uqlab.inference.sgmcmc import SGLD

    method = SGLD(step_size=1e-3, batch_size=8, num_samples=10, num_burnin=20, thinning=2, num_chains=2, progress=False)
    return method, tiny_mlp(), tiny_data()


def _sghmc():
    from uqlab.inference.sgmcmc import SGHMC

    method = SGHMC(
        step_size=1e-3, batch_size=8, num_samples=10, num_burnin=10, num_chains=2, num_integration_steps=2,
        schedule="cyclical", num_cycles=2, progress=False,
    )
    return method, tiny_mlp(), tiny_data()


def _vi_meanfield():
    from uqlab.inference.vi import MeanFieldVI

    return MeanFieldVI(num_steps=30, batch_size=8, num_draws=10, progress=False), tiny_mlp(), tiny_data()


def _vi_fullrank():
    from uqlab.inference.vi import FullRankVI

    return FullRankVI(num_steps=30, num_draws=10, progress=False), tiny_mlp(), tiny_data()


def _gp():
    from uqlab.inference.gp import ExactGP
    from uqlab.models.gp import GP

    # Few L-BFGS iterations from random starts, so that the key matters as the harness expects.
    return ExactGP(num_restarts=2, max_iter=3), GP(), tiny_data()


def _gp_nuts():
    from uqlab.inference.gp_nuts import GPNUTS
    from uqlab.models.gp import GP

    return GPNUTS(num_warmup=10, num_samples=5, max_tree_depth=3, progress=False), GP(), tiny_data()


def _svgp():
    from uqlab.inference.svgp import SVGP
    from uqlab.models.gp import GP

    return SVGP(num_inducing=8, num_steps=30, batch_size=8, progress=False), GP(), tiny_data()


def _laplace():
    from uqlab.inference.laplace import Laplace

    return Laplace(num_steps=30, subset="last_layer", hessian="full", progress=False), tiny_mlp(), tiny_data()


def _np_train():
    from uqlab.inference.neural_process import NPTrain
    from uqlab.models.neural_process import NeuralProcess

    method = NPTrain(num_steps=30, batch_size=4, num_latent_samples=4, progress=False)
    return method, NeuralProcess(kind="np", width=8, depth=1), tiny_data()


def _np_train_convcnp():
    from uqlab.inference.neural_process import NPTrain
    from uqlab.models.convcnp import ConvCNP

    method = NPTrain(num_steps=30, batch_size=4, progress=False)
    # span 6.5: the test inputs reach -3..3, beyond the training inputs' -2..2.
    return method, ConvCNP(channels=4, depth=1, points_per_unit=4.0, span=6.5), tiny_data()


def _mala():
    from uqlab.inference.mala import MALA

    return MALA(step_size=1e-3, num_samples=10, num_burnin=20, num_chains=2, progress=False), tiny_mlp(), tiny_data()


def _mclmc():
    from uqlab.inference.mclmc import MCLMC

    return MCLMC(num_samples=10, thinning=2, num_chains=2, progress=False), tiny_mlp(), tiny_data()


def tiny_torch_net(d_out: int = 1, dropout: float = 0.0):
    """A 1-8-d_out tanh torch MLP (with dropout after the hidden layer when ``dropout`` > 0)."""
    import torch

    torch.set_num_threads(1)  # tiny nets: threads only add contention on the shared 2-core machine
    layers = [torch.nn.Linear(1, 8), torch.nn.Tanh()]
    layers += [torch.nn.Dropout(dropout)] if dropout else []
    return torch.nn.Sequential(*layers, torch.nn.Linear(8, d_out))


def _torch_ensemble():
    from uqlab.inference.torch.ensemble import TorchEnsemble
    from uqlab.models import Heteroscedastic
    from uqlab.models.torch import TorchModel

    method = TorchEnsemble(num_members=3, num_steps=30, progress=False)
    return method, TorchModel(tiny_torch_net(2), Heteroscedastic()), tiny_data()


def _torch_mc_dropout():
    from uqlab.inference.torch.mc_dropout import TorchMCDropout

    return TorchMCDropout(num_steps=30, num_passes=10, progress=False), tiny_torch_net(1, 0.1), tiny_data()


def _torch_laplace():
    from uqlab.inference.torch.laplace import TorchLaplace

    return TorchLaplace(num_steps=30, subset="last_layer", hessian="full", progress=False), tiny_torch_net(), tiny_data()


def _torch_vi_meanfield():
    from uqlab.inference.torch.vi import TorchMeanFieldVI

    return TorchMeanFieldVI(num_steps=30, batch_size=8, num_draws=10, progress=False), tiny_torch_net(), tiny_data()


def _torch_vi_fullrank():
    from uqlab.inference.torch.vi import TorchFullRankVI

    return TorchFullRankVI(num_steps=30, num_draws=10, progress=False), tiny_torch_net(), tiny_data()


CASES = {
    "nuts": _nuts,
    "hmc": _hmc,
    "ensemble": _ensemble,
    "mc_dropout": _mc_dropout,
    "gp": _gp,
    "gp_nuts": _gp_nuts,
    "svgp": _svgp,
    "sgld": _sgld,
    "sghmc": _sghmc,
    "vi_meanfield": _vi_meanfield,
    "vi_fullrank": _vi_fullrank,
    "laplace": _laplace,
    "np_train": _np_train,
    "np_train[convcnp]": _np_train_convcnp,
    "mala": _mala,
    "mclmc": _mclmc,


    "torch_ensemble": _torch_ensemble,
    "torch_mc_dropout": _torch_mc_dropout,
    "torch_laplace": _torch_laplace,
    "torch_vi_meanfield": _torch_vi_meanfield,
    "torch_vi_fullrank": _torch_vi_fullrank,
}
