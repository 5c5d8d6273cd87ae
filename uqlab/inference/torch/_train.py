"""MAP training of K torch members at once with ``torch.func`` (the twin of :func:`~uqlab.inference.map_training.fit_map`).

The members' parameters are stacked (``torch.func.stack_module_state``) and the per-member loss
``-(log p(theta_k) + (N / B) sum_b log p(y_b | x_b, theta_k)) / N`` is evaluated for all members in
one call (``torch.func.vmap`` over ``torch.func.functional_call``; PyTorch's model-ensembling
recipe). Members are independent, so the gradient of the summed loss is each member's own
gradient, and Adam (elementwise) on the stacked tensors is K independent Adams. Minibatches are
drawn without replacement, independently per member and step; ``schedule="cosine"`` decays the
step to 1 % as optax's ``cosine_decay_schedule(alpha=0.01)`` (``CosineAnnealingLR``).
"""

from __future__ import annotations

import numpy as np

from uqlab.data import check_batch_size
from uqlab.inference.driver import check_finite
from uqlab.inference.transform import progress_enabled

__all__ = ["stack_members", "train_members", "tensors", "as_numpy", "x_dtype"]


def x_dtype(network):
    """The floating dtype of ``network``'s parameters (inputs are converted to it)."""
    return next(network.parameters()).dtype


def tensors(network, *arrays):
    """numpy arrays as tensors in the dtype and on the device of ``network``."""
    import torch

    return [torch.as_tensor(np.asarray(a), dtype=x_dtype(network), device=network.device) for a in arrays]


def as_numpy(tree: dict) -> dict:
    """``{name: tensor}`` to ``{name: float numpy array}`` (cpu, detached)."""
    return {k: v.detach().cpu().numpy() for k, v in tree.items()}


def stack_members(model, num_members: int, seed: int | None, d_out: int, init: str = "module"):
    """``(base, params, buffers)``: ``num_members`` fresh networks stacked (leading axis K), and a
    stateless copy ``base`` of one of them on the meta device for ``functional_call``.

    Member k is initialised with ``seed + k`` as ``init`` says (see :meth:`TorchModel.network`);
    with ``seed=None`` every member is a copy of the module's own weights.
    """
    import copy

    from torch.func import stack_module_state

    networks = [model.network(None if seed is None else seed + k, d_out, init) for k in range(num_members)]
    params, buffers = stack_module_state(networks)
    base = copy.deepcopy(networks[0]).to("meta")
    base.device = networks[0].device
    return base, params, buffers


def member_loss(model, base, num_points: int):
    """``(params, buffers, x, y) -> loss`` of one member: the negative log joint per data point."""
    from torch.func import functional_call

    log_prior = model.prior_density({name: tuple(p.shape) for name, p in base.named_parameters()})

    def loss(params, buffers, x, y):
        outputs = functional_call(base, (params, buffers), (x,))
        log_lik = model.log_likelihood(y, outputs, params).sum() * (num_points / x.shape[0])
        return -(log_prior(params) + log_lik) / num_points

    return loss


def train_members(model, data, *, seed: int, num_members: int, num_steps: int, learning_rate: float,
                  batch_size: int | None, schedule: str, dropout: bool, desc: str, progress: bool | None,
                  init: str | None = "bayesian_mlp"):
    """Train ``num_members`` MAP members of the :class:`~uqlab.models.torch.TorchModel` on ``data``.

    Args:
        model: the TorchModel.
        data: a Dataset (fitted in standardised units).
        seed: torch seed: member k is initialised with ``seed + k``; the minibatches and dropout
            masks come from a generator seeded with ``seed``.
        init: ``"bayesian_mlp"`` or ``"module"`` (see :meth:`TorchModel.network`), or None to start
            every member from the module's own weights.
        num_members, num_steps, learning_rate, batch_size, schedule: as :func:`fit_map`.
        dropout: keep the module's dropout layers on while training (MC dropout).
        desc, progress: progress-bar label and setting.

    Returns:
        ``(base, params, buffers, losses)``: the stacked trained tensors (leading axis K) and the
        losses ``(num_steps, K)`` numpy.
    """
    import torch
    from torch.func import vmap
    from tqdm.auto import tqdm

    check_batch_size(batch_size, data.num_points)
    x_np, y_np = data.standardized()
    d_out = y_np.shape[1]
    model.check_outputs(template := model.network(None, d_out), x_np.shape[1], d_out)
    x, y = tensors(template, x_np, y_np)
    base, params, buffers = stack_members(model, num_members, None if init is None else seed, d_out, init or "module")
    base.train(dropout)
    n = data.num_points
    full_batch = batch_size is None
    loss = vmap(member_loss(model, base, n), in_dims=(0, 0, None, None) if full_batch else 0,
                randomness="different" if dropout else "error")
    # Adam on the stacked tensors is K independent Adams; the fused kernel updates them in one call.
    optimizer = torch.optim.Adam(list(params.values()), lr=learning_rate, fused=x.device.type in ("cpu", "cuda"))
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, num_steps, eta_min=0.01 * learning_rate)
                 if schedule == "cosine" else None)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    losses = torch.empty(num_steps, num_members, dtype=x.dtype, device=x.device)
    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
        torch.manual_seed(seed)
        for step in tqdm(range(num_steps), desc=desc, disable=not progress_enabled(progress), leave=False):
            if full_batch:
                xb, yb = x, y
            else:
                index = torch.rand(num_members, n, generator=generator, device=x.device).argsort(dim=1)[:, :batch_size]
                xb, yb = x[index], y[index]
            values = loss(params, buffers, xb, yb)
            optimizer.zero_grad(set_to_none=True)
            values.sum().backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses[step] = values.detach()
    losses = losses.cpu().numpy().astype(float)
    check_finite(desc, losses[-1:], "the training loss", "learning_rate")
    check_finite(desc, np.concatenate([v.detach().cpu().numpy().ravel() for v in params.values()]), "the parameters",
                 "learning_rate")
    return base, {k: v.detach() for k, v in params.items()}, buffers, losses
