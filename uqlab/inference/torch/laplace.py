"""Laplace approximation of a torch module through laplace-torch (Daxberger et al., "Laplace Redux",
NeurIPS 2021), with the linearised (GLM) predictive.

The method is uqlab's :class:`~uqlab.inference.laplace.Laplace` for a
:class:`~uqlab.models.torch.TorchModel`: a MAP fit (the torch trainer; ``num_steps=0`` keeps the
module's own weights as the MAP), then ``laplace.Laplace(net, "regression", subset_of_weights,
hessian_structure, sigma_noise)`` fitted on the training data: the GGN ``sum_n J_n^T J_n / sigma^2``
of the last layer or all weights, kept diagonal, Kronecker-factored (KFAC) or full; the isotropic
prior precision maximises the Laplace marginal likelihood (laplace-torch's
``optimize_prior_precision(method="marglik")``) unless given. The predictive is
``N(f(x; theta*), J Sigma J^T + sigma^2)`` per point (one member).

laplace-torch's regression likelihood is a homoscedastic Gaussian, so the model's likelihood must
be :class:`~uqlab.models.Gaussian` (sigma is its MAP or fixed noise). The fitted state is kept as
laplace-torch's ``state_dict`` in arrays (the Kronecker factors as nested lists), so the posterior
saves and loads like every other one.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, ClassVar

import numpy as np

from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.inference.base import Capabilities, Method, Posterior, check_dataset
from uqlab.inference.kernels.optimizers import SCHEDULES
from uqlab.inference.torch.ensemble import check_torch_model
from uqlab.inference.torch.posterior import _TorchState

__all__ = ["TorchLaplace", "TorchLaplacePosterior"]

_ARRAY_KEYS = ("mean", "H", "loss", "prior_mean", "prior_precision", "sigma_noise")


def _import_laplace():
    """``import laplace``, also where torchvision is installed but cannot load.

    pip resolves laplace-torch's ``torchvision`` requirement with PyPI's CUDA build, whose
    operators do not load beside a CPU-only torch (``RuntimeError: operator torchvision::nms does
    not exist``); torchmetrics (a laplace-torch dependency) imports torchvision whenever its
    metadata is present. laplace-torch never uses torchvision, so after such a failure torchmetrics'
    availability flag is set to False and the import is retried.
    """
    import sys

    try:
        import laplace
    except RuntimeError as err:
        flags = sys.modules.get("torchmetrics.utilities.imports")
        if flags is None or "torchvision" not in str(err):
            raise
        flags._TORCHVISION_AVAILABLE.available = False
        keep = {"torchmetrics.utilities", "torchmetrics.utilities.imports"}  # the patched flag survives the retry
        for name in [m for m in sys.modules if m.split(".")[0] in ("torchmetrics", "laplace", "torchvision")]:
            if name not in keep:
                del sys.modules[name]
        import laplace
    return laplace


def _last_linear(net) -> str:
    import torch

    names = [name for name, m in net.named_modules() if isinstance(m, torch.nn.Linear)]
    if not names:
        raise ValueError(f"subset: 'last_layer' needs a torch.nn.Linear output layer; {type(net).__name__} has none")
    return names[-1]


def _to_numpy(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_to_numpy(v) for v in tree)
    return np.asarray(tree.detach().cpu().numpy() if hasattr(tree, "detach") else tree)


def _to_torch(tree, like):
    import torch

    if isinstance(tree, (list, tuple)):
        return type(tree)(_to_torch(v, like) for v in tree)
    return torch.as_tensor(np.asarray(tree), dtype=like.dtype, device=like.device)


@dataclasses.dataclass(repr=False)
class TorchLaplacePosterior(_TorchState, Posterior):
    """laplace-torch's fitted Laplace approximation of a torch module; one Gaussian member per point.

    Attributes:
        params: the network's MAP ``{parameter name: array}`` (names under ``net.``/``lik.``).
        subset, hessian: laplace-torch's ``subset_of_weights`` and ``hessian_structure``.
        last_layer_name: the module's output layer (last-layer Laplace), or None.
        laplace_state: laplace-torch's ``state_dict`` arrays (``mean``, ``H``, ``loss``,
            ``prior_mean``, ``prior_precision``, ``sigma_noise``).
        num_data, num_outputs: laplace-torch's ``n_data`` and ``n_outputs``.
    """

    params: Any = None
    subset: str = "last_layer"
    hessian: str = "kron"
    last_layer_name: str | None = None
    laplace_state: Any = None
    num_data: int = 0
    num_outputs: int = 1

    @property
    def num_members(self) -> int:
        return 1

    @functools.cached_property
    def laplace(self):
        """The laplace-torch object, rebuilt from the saved state."""
        net = self.model.network(None, self.scaler.y_shift.shape[0]).net
        like = next(net.parameters())
        net.load_state_dict({k.removeprefix("net."): _to_torch(v, like) for k, v in self.params.items() if k.startswith("net.")})
        state = {k: _to_torch(v, like) for k, v in self.laplace_state.items()}
        la = _make(net, self.subset, self.hessian, self.last_layer_name, state["sigma_noise"], state["prior_precision"])
        la.load_state_dict({**state, "n_data": self.num_data, "n_outputs": self.num_outputs, "likelihood": la.likelihood,
                            "temperature": 1.0, "enable_backprop": False, "cls_name": type(la).__name__,
                            "data": None, "_last_layer_name": self.last_layer_name})
        return la

    def _member_outputs(self, x, num_samples, key):
        import torch

        del num_samples, key
        la = self.laplace
        x = _to_torch(np.asarray(x), next(la.model.parameters()))
        f_mu, f_var = la(x, pred_type="glm")
        sigma2 = la.sigma_noise.detach().square()
        with torch.no_grad():
            scale = torch.sqrt(torch.diagonal(f_var, dim1=-2, dim2=-1) + sigma2)
        return f_mu.detach().cpu().numpy()[None], scale.cpu().numpy()[None]


def _make(net, subset, hessian, last_layer_name, sigma_noise, prior_precision):
    laplace = _import_laplace()
    extra = {"last_layer_name": last_layer_name} if subset == "last_layer" else {}
    return laplace.Laplace(net, "regression", subset_of_weights=subset, hessian_structure=hessian,
                           sigma_noise=sigma_noise, prior_precision=prior_precision, **extra)


@dataclasses.dataclass(frozen=True)
class TorchLaplace(Method):
    """Laplace approximation of a torch module via laplace-torch; settings as uqlab's ``Laplace``.

    Args:
        subset: "last_layer" (the module's last ``Linear``) or "all" weights.
        hessian: "kron" (KFAC), "diag" or "full" generalised Gauss-Newton.
        prior_precision: isotropic prior precision, or None for the marginal-likelihood optimum.
        num_steps: Adam steps of the MAP fit; 0 keeps the module's own weights as the MAP.
        learning_rate, batch_size, schedule: the MAP fit.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "torch_laplace"
    capabilities: ClassVar[Capabilities] = Capabilities(model="torch", draws=False)
    subset: str = "last_layer"
    hessian: str = "kron"
    prior_precision: float | None = None
    num_steps: int = 2000
    learning_rate: float = 1e-2
    batch_size: int | None = None
    schedule: str = "constant"
    progress: bool | None = None

    def __post_init__(self):
        check_choice("subset", self.subset, ("last_layer", "all"))
        check_choice("hessian", self.hessian, ("full", "diag", "kron"))
        check_positive("prior_precision", self.prior_precision, allow_none=True)
        check_positive_int("num_steps", self.num_steps, minimum=0)
        check_positive("learning_rate", self.learning_rate)
        check_positive_int("batch_size", self.batch_size, allow_none=True)
        check_choice("schedule", self.schedule, SCHEDULES)

    def fit(self, model, data, *, key=0) -> TorchLaplacePosterior:
        """MAP fit, laplace-torch's GGN at the MAP, prior precision by marginal likelihood."""
        import torch

        from uqlab.inference.torch._train import as_numpy, tensors, train_members, x_dtype
        from uqlab.models.likelihoods import Gaussian
        from uqlab.models.torch.model import torch_seed

        model = check_torch_model(model, "torch_laplace")
        if not isinstance(model.likelihood, Gaussian):
            raise ValueError(f"likelihood: torch_laplace (laplace-torch regression) needs a homoscedastic Gaussian, "
                             f"got {type(model.likelihood).__name__}")
        data = check_dataset(data)
        _import_laplace()
        start = time.perf_counter()
        _, params, _, losses = train_members(
            model, data, seed=torch_seed(key), num_members=1, num_steps=self.num_steps,
            learning_rate=self.learning_rate, batch_size=self.batch_size, schedule=self.schedule, dropout=False,
            desc="TorchLaplace MAP", progress=self.progress, init=None if self.num_steps == 0 else "module",
        )
        params = {k: v[0] for k, v in params.items()}
        network = model.network(None, data.y.shape[1])
        network.load_state_dict(params)
        net = network.net.eval()
        sigma = model.loc_scale(torch.zeros(1, data.y.shape[1], dtype=x_dtype(network)), params)[1][0].detach()
        if not torch.allclose(sigma, sigma[0]):
            raise ValueError(f"likelihood: laplace-torch has one noise scale for all outputs, got {sigma.tolist()}")
        last = _last_linear(net) if self.subset == "last_layer" else None
        la = _make(net, self.subset, self.hessian, last, float(sigma[0]), 1.0)
        x, y = tensors(network, *data.standardized())
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=self.batch_size or len(x))
        la.fit(loader)
        if self.prior_precision is None:
            la.optimize_prior_precision(method="marglik", pred_type="glm")
        else:
            la.prior_precision = float(self.prior_precision)
        state = la.state_dict()
        info = {
            "fit_seconds": time.perf_counter() - start,
            "losses": losses[:, 0],
            "prior_precision": float(la.prior_precision.detach().mean()),
            "log_marginal_likelihood": float(la.log_marginal_likelihood().detach()),
            "num_laplace_params": int(la.n_params),
        }
        return TorchLaplacePosterior(
            self, model, data.scaler, info, params=as_numpy(params), subset=self.subset, hessian=self.hessian,
            last_layer_name=last, laplace_state={k: _to_numpy(state[k]) for k in _ARRAY_KEYS},
            num_data=int(state["n_data"]), num_outputs=int(state["n_outputs"]),
        )
