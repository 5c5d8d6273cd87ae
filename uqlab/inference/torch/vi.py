"""Variational inference on a torch module's weights with Pyro (Blundell et al., 2015; Kucukelbir et al., 2017).

The torch twins of :class:`~uqlab.inference.vi.MeanFieldVI` / :class:`~uqlab.inference.vi.FullRankVI`
for a :class:`~uqlab.models.torch.TorchModel`: a copy of the module becomes a ``PyroModule``
(``pyro.nn.module.to_pyro_module_``) whose every parameter is a ``PyroSample`` from the model's
fan-in Gaussian prior, the likelihood's learned parameters get their priors, and the data enter
through ``pyro.factor`` of the per-point log-likelihood inside a ``pyro.plate`` over a random
minibatch, which rescales its sum by ``N / B``. ``pyro.infer.SVI`` maximises the ELBO of an
``AutoNormal`` (mean field), ``AutoMultivariateNormal`` (full rank) or, with ``rank``,
``AutoLowRankMultivariateNormal`` guide, started at the module's (re-initialised) weights.
``num_draws`` draws of q are the members of a :class:`~uqlab.inference.torch.posterior.TorchParticlePosterior`.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import ClassVar

import numpy as np

from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.data import check_batch_size
from uqlab.inference.base import Capabilities, Method, check_dataset
from uqlab.inference.driver import check_finite
from uqlab.inference.kernels.optimizers import SCHEDULES
from uqlab.inference.torch.ensemble import check_torch_model
from uqlab.inference.torch.posterior import TorchParticlePosterior
from uqlab.inference.transform import progress_enabled

__all__ = ["TorchMeanFieldVI", "TorchFullRankVI"]


def _pyro_model(model, network, n: int, batch_size: int | None):
    """``(fn, names)``: the Pyro model over the network's weights and the site -> parameter name map."""
    import pyro
    import pyro.distributions as dist
    import torch
    from pyro.nn import PyroSample

    net = copy.deepcopy(network.net)
    pyro.nn.module.to_pyro_module_(net)
    names = {}
    for module_name, module in list(net.named_modules()):
        for pname, value in list(module.named_parameters(recurse=False)):
            full = f"{module_name}.{pname}" if module_name else pname
            loc, scale = model.prior(f"net.{full}", tuple(value.shape))
            prior = dist.Normal(torch_full(value, loc), torch_full(value, scale)).to_event(value.dim())
            setattr(module, pname, PyroSample(prior))
            names[full] = f"net.{full}"
    lik_names = {name: tuple(value.shape) for name, value in network.lik.items()}

    def fn(x, y):
        lik = {}
        for name, shape in lik_names.items():
            loc, scale = model.prior(f"lik.{name}", shape)
            lik[f"lik.{name}"] = pyro.sample(f"lik.{name}", dist.Normal(x.new_full(shape, loc), scale).to_event(1))
        # the weights are sampled outside the plate (in the forward pass), then the minibatch is
        # scored inside it; the plate's subsample rescales its log-likelihood by N / B
        index = torch.randperm(n, device=x.device)[:batch_size] if batch_size else torch.arange(n, device=x.device)
        outputs = net(x[index])
        with pyro.plate("data", n, subsample=index):
            pyro.factor("obs", model.log_likelihood(y[index], outputs, lik))

    names.update({f"lik.{name}": f"lik.{name}" for name in lik_names})
    return fn, names


def torch_full(like, value: float):
    """A tensor shaped and typed like ``like`` filled with ``value``."""
    return like.detach().new_full(like.shape, value)


@dataclasses.dataclass(frozen=True)
class _TorchVI(Method):
    """Shared settings of the torch VI families (as :class:`~uqlab.inference.vi._GaussianVI`).

    Args:
        num_steps: SVI steps.
        learning_rate: Adam learning rate (the peak one under a schedule).
        schedule: "cosine" decay to 1 % or "constant".
        num_elbo_samples: Monte Carlo samples per ELBO estimate.
        batch_size: minibatch size or None for the full batch.
        num_draws: draws of q kept as the posterior's members.
        init_scale: initial standard deviation of q per coordinate.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    capabilities: ClassVar[Capabilities] = Capabilities(model="torch")

    guide: ClassVar[str] = "normal"
    num_steps: int = 2000
    learning_rate: float = 1e-2
    schedule: str = "cosine"
    num_elbo_samples: int = 1
    batch_size: int | None = None
    num_draws: int = 100
    init_scale: float = 0.1
    progress: bool | None = None

    def __post_init__(self):
        check_positive_int("num_steps", self.num_steps)
        check_positive("learning_rate", self.learning_rate)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_positive_int("num_elbo_samples", self.num_elbo_samples)
        check_positive_int("batch_size", self.batch_size, allow_none=True)
        check_positive_int("num_draws", self.num_draws)
        check_positive("init_scale", self.init_scale)

    def _guide(self, fn, init_values):
        from pyro.infer import autoguide

        init = autoguide.initialization.init_to_value(values=init_values)
        if self.guide == "normal":
            return autoguide.AutoNormal(fn, init_loc_fn=init, init_scale=self.init_scale)
        if getattr(self, "rank", None) is not None:
            return autoguide.AutoLowRankMultivariateNormal(fn, init_loc_fn=init, init_scale=self.init_scale, rank=self.rank)
        return autoguide.AutoMultivariateNormal(fn, init_loc_fn=init, init_scale=self.init_scale)

    def fit(self, model, data, *, key=0) -> TorchParticlePosterior:
        """Maximise the ELBO with Pyro SVI; return ``num_draws`` draws of q as the members."""
        import pyro
        import torch
        from tqdm.auto import tqdm

        from uqlab.inference.torch._train import as_numpy, tensors
        from uqlab.models.torch.model import torch_seed

        model = check_torch_model(model, self.name)
        data = check_dataset(data)
        check_batch_size(self.batch_size, data.num_points)
        x_np, y_np = data.standardized()
        seed = torch_seed(key)
        start = time.perf_counter()
        model.check_outputs(model.network(None, y_np.shape[1]), x_np.shape[1], y_np.shape[1])
        with torch.random.fork_rng(), pyro.get_param_store().scope():
            torch.manual_seed(seed)
            network = model.network(seed, y_np.shape[1])
            x, y = tensors(network, x_np, y_np)
            fn, names = _pyro_model(model, network, data.num_points, self.batch_size)
            values = dict(network.named_parameters())
            guide = self._guide(fn, {site: values[name].detach() for site, name in names.items()})
            optim = {"optimizer": torch.optim.Adam, "optim_args": {"lr": self.learning_rate}}
            optimizer = (pyro.optim.CosineAnnealingLR({**optim, "T_max": self.num_steps, "eta_min": 0.01 * self.learning_rate})
                         if self.schedule == "cosine" else pyro.optim.Adam(optim["optim_args"]))
            svi = pyro.infer.SVI(fn, guide, optimizer, pyro.infer.Trace_ELBO(num_particles=self.num_elbo_samples))
            losses = np.empty(self.num_steps)
            for step in tqdm(range(self.num_steps), desc=type(self).__name__, leave=False,
                             disable=not progress_enabled(self.progress)):
                losses[step] = svi.step(x, y) / data.num_points
                if self.schedule == "cosine":
                    optimizer.step()
            with torch.no_grad():
                draws = [guide(x, y) for _ in range(self.num_draws)]
        tail = losses[-max(1, self.num_steps // 10):]
        check_finite(type(self).__name__, tail, "the ELBO loss", "learning_rate")
        particles = {name: np.stack([d[site].detach().cpu().numpy() for d in draws]) for site, name in names.items()}
        buffers = {k: np.repeat(v[None], self.num_draws, axis=0) for k, v in as_numpy(dict(network.named_buffers())).items()}
        info = {"fit_seconds": time.perf_counter() - start, "elbo": -losses * data.num_points,
                "final_elbo": float(-tail.mean() * data.num_points)}
        return TorchParticlePosterior(self, model, data.scaler, info, particles=particles, buffers=buffers)


@dataclasses.dataclass(frozen=True)
class TorchMeanFieldVI(_TorchVI):
    """Mean-field Gaussian VI of a torch module's weights (Pyro ``AutoNormal``); see :class:`_TorchVI`."""

    name: ClassVar[str] = "torch_vi_meanfield"
    guide: ClassVar[str] = "normal"


@dataclasses.dataclass(frozen=True)
class TorchFullRankVI(_TorchVI):
    """Full-rank Gaussian VI (Pyro ``AutoMultivariateNormal``), or low rank plus diagonal with
    ``rank`` (``AutoLowRankMultivariateNormal``); see :class:`_TorchVI`."""

    name: ClassVar[str] = "torch_vi_fullrank"
    guide: ClassVar[str] = "mvn"
    rank: int | None = None

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("rank", self.rank, allow_none=True)
