"""Sparse variational GP (Titsias 2009; Hensman, Fusi & Lawrence 2013), trained on minibatches.

``M`` inducing inputs ``Z`` carry ``u = f(Z) = L_Z v`` with ``K_ZZ = L_Z L_Z^T`` (the whitened
parameterisation), and ``q(v) = N(m, S S^T)`` with ``S`` lower triangular. The marginal of ``f(x)``
under ``q`` is Gaussian with

.. math::

    \\mu(x) = m(x) + a(x)^T m, \\quad
    s^2(x) = k(x, x) - \\|a(x)\\|^2 + \\|S^T a(x)\\|^2, \\quad a(x) = L_Z^{-1} k(Z, x),

and the evidence lower bound, unbiased on a minibatch ``B`` of the ``N`` points, is

.. math::

    \\mathcal{L} = \\tfrac{N}{|B|} \\sum_{n \\in B} \\Big[\\log N(y_n \\mid \\mu(x_n), \\sigma^2)
        - \\tfrac{s^2(x_n)}{2 \\sigma^2}\\Big] - \\mathrm{KL}\\big(q(v) \\,\\|\\, N(0, I)\\big).

Kernel hyperparameters, noise, ``Z``, ``m`` and ``S`` are trained together with Adam through the
driver (minibatches drawn without replacement, as for every method); a step costs
``O(|B| M^2 + M^3)``, independent of ``N``. With ``Z = X`` the bound is tight at the optimum:
``max_q L = log p(y | X, theta)``.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import numpy as np

from uqlab._validate import check_positive, check_positive_int
from uqlab.inference.base import Capabilities, Method, Posterior
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.gp import gp_target, select_members
from uqlab.inference.kernels.optimizers import descent

__all__ = ["SVGP", "SVGPPosterior", "natural_gradient_descent", "natural_to_moments", "plateaued", "svgp_elbo",
           "svgp_marginals"]


def _q_sqrt(raw):
    """Lower-triangular ``S`` with a positive diagonal from an unconstrained square matrix."""
    import jax.numpy as jnp

    return jnp.tril(raw, -1) + jnp.diag(jnp.exp(jnp.diagonal(raw)))


def svgp_marginals(model, params, x):
    """Mean ``(B, d_out)`` and variance ``(B,)`` of ``q(f(x))``."""
    import jax
    import jax.numpy as jnp

    hyper, z = params["hyper"], params["z"]
    kzz = model.kernel(hyper["kernel"], z, z) + model.jitter * jnp.eye(z.shape[0], dtype=z.dtype)
    a = jax.scipy.linalg.solve_triangular(jnp.linalg.cholesky(kzz), model.kernel(hyper["kernel"], z, x), lower=True)
    s_t_a = _q_sqrt(params["q_sqrt"]).T @ a
    mean = model.mean_fn(hyper, x) + a.T @ params["q_mu"]
    var = model.kernel.diag(hyper["kernel"], x) - jnp.sum(a**2, 0) + jnp.sum(s_t_a**2, 0)
    return mean, jnp.maximum(var, 1e-12)


def svgp_elbo(model, params, x, y, num_points: int):
    """Evidence lower bound from a minibatch ``(x, y)`` of a dataset of ``num_points`` points."""
    import jax.numpy as jnp

    from uqlab.models.likelihoods import gaussian_log_prob

    mean, var = svgp_marginals(model, params, x)
    noise = model.noise(params["hyper"])
    expected = jnp.sum(gaussian_log_prob(y, mean, noise)) - y.shape[1] * jnp.sum(var) / (2 * noise**2)
    s = _q_sqrt(params["q_sqrt"])
    m = params["q_mu"]
    kl = 0.5 * y.shape[1] * (jnp.sum(s**2) - s.shape[0] - 2 * jnp.sum(jnp.log(jnp.diagonal(s)))) + 0.5 * jnp.sum(m**2)
    return num_points / x.shape[0] * expected - kl


def natural_to_moments(natural):
    """Whitened ``q(v)`` from natural form ``{"precision": P, "shift": h}`` (``S = P^{-1}``,
    ``m = S h``) to the library's ``{"q_mu": m, "q_sqrt": raw lower factor of S}``."""
    import jax
    import jax.numpy as jnp

    chol_s = jnp.linalg.cholesky(jnp.linalg.inv(natural["precision"]))
    mean = jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(natural["precision"]), True), natural["shift"])
    return {"q_mu": mean, "q_sqrt": jnp.tril(chol_s, -1) + jnp.diag(jnp.log(jnp.diagonal(chol_s)))}


def natural_gradient_descent(model, num_points: int, step: float, optimizer, train_inducing: bool = True):
    """Natural-gradient steps on the whitened ``q(v)``, then ``optimizer`` on hyperparameters and ``Z``.

    For the Gaussian likelihood the natural gradient of the minibatch ELBO moves the natural
    parameters of ``q(v)`` a fraction ``step`` towards the minibatch's conjugate optimum
    (Hensman, Fusi & Lawrence 2013; Salimbeni, Eleftheriadis & Hensman 2018):

    .. math::

        P \\leftarrow (1 - \\gamma) P + \\gamma (I + c A A^T), \\quad
        h \\leftarrow (1 - \\gamma) h + \\gamma\\, c A (y_B - m(X_B)), \\quad
        c = \\frac{N}{|B| \\sigma^2}, \\quad A = L_Z^{-1} K_{Z X_B}.

    With ``step = 1`` on the full batch one update reaches the optimal ``q`` for the current
    hyperparameters. The optimizer step then uses the ELBO with ``q`` held.
    Params: ``{"hyper", "z", "precision", "shift"}``.
    """
    import jax
    import jax.numpy as jnp
    import optax

    from uqlab.inference.kernels.optimizers import DescentInfo, OptimState
    from uqlab.inference.transform import Transform

    def trainable(params):
        return {"hyper": params["hyper"], "z": params["z"]}

    def init(params, key=None):
        del key
        return OptimState(params, optimizer.init(trainable(params)))

    def update(key, state, batch):
        del key
        params, x, y = state.params, batch["data"]["x"], batch["data"]["y"]
        hyper, z, m = params["hyper"], params["z"], params["z"].shape[0]
        kzz = model.kernel(hyper["kernel"], z, z) + model.jitter * jnp.eye(m, dtype=z.dtype)
        a = jax.scipy.linalg.solve_triangular(jnp.linalg.cholesky(kzz), model.kernel(hyper["kernel"], z, x), lower=True)
        c = num_points / (x.shape[0] * model.noise(hyper) ** 2)
        natural = {"precision": (1 - step) * params["precision"] + step * (jnp.eye(m, dtype=z.dtype) + c * a @ a.T),
                   "shift": (1 - step) * params["shift"] + step * c * a @ (y - model.mean_fn(hyper, x))}
        q = natural_to_moments(natural)

        def loss(held):
            held = held if train_inducing else {**held, "z": jax.lax.stop_gradient(held["z"])}
            return -svgp_elbo(model, {**held, **q}, x, y, num_points) / num_points

        value, grads = jax.value_and_grad(loss)(trainable(params))
        updates, opt_state = optimizer.update(grads, state.opt_state, trainable(params))
        return OptimState({**optax.apply_updates(trainable(params), updates), **natural}, opt_state), DescentInfo(value)

    return Transform(init, update)


def plateaued(losses, window: int, tol: float = 1e-3) -> tuple[bool, float]:
    """Has a noisy minibatch loss (nats per point) stopped falling?

    Compares the mean of the last ``window`` values with the mean of the ``window`` before:
    plateaued when the fall is below ``max(tol, 2 SE)``, the standard error of the difference of
    the two means (independent values assumed). Returns ``(plateaued, fall)``.
    """
    losses = np.asarray(losses, np.float64)
    last, prev = losses[-window:], losses[-2 * window:-window]
    if len(prev) < 2:
        return False, float("nan")
    drop = float(prev.mean() - last.mean())
    se = float(np.sqrt(last.var() / len(last) + prev.var() / len(prev)))
    return drop < max(tol, 2 * se), drop


@dataclasses.dataclass(repr=False)
class SVGPPosterior(Posterior):
    """Predictive of an SVGP: ``N(mu(x*), s^2(x*) + sigma^2)``, one member.

    Attributes:
        params: ``{"hyper", "z", "q_mu", "q_sqrt"}`` with a leading member axis of size 1.
    """

    params: Any = None

    @property
    def num_members(self) -> int:
        return 1

    def _member_outputs(self, x, num_samples, key):
        import jax

        del key
        with jax.enable_x64(True):
            params = jax.tree_util.tree_map(np.asarray, select_members(self.params, num_samples))
            loc, scale = _predictor(self.model)(params, np.asarray(x, np.float64))
            return np.asarray(loc), np.asarray(scale)

    def _quantity_draws(self) -> dict:
        import jax

        with jax.enable_x64(True):
            return jax.device_get(jax.vmap(self.model.quantities)(self.params["hyper"]))


@functools.lru_cache(maxsize=32)
def _predictor(model):
    import jax
    import jax.numpy as jnp

    def one(params, x):
        mean, var = svgp_marginals(model, params, x)
        scale = jnp.sqrt(var + model.noise(params["hyper"]) ** 2)[:, None]
        return mean, jnp.broadcast_to(scale, mean.shape)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


@dataclasses.dataclass(frozen=True)
class SVGP(Method):
    """Sparse variational GP with minibatch Adam.

    Args:
        num_inducing: M; inducing inputs start at a random subset of the training inputs
            (at most N: on smaller data M = N).
        num_steps: Adam steps.
        batch_size: minibatch size (drawn without replacement; at most N), or None for the full batch.
        learning_rate: Adam step size.
        train_inducing: also optimise the inducing inputs ``Z``.
        natural_gradient: None (Adam on ``q`` too) or the natural-gradient step size ``gamma`` in
            (0, 1] for ``q`` (:func:`natural_gradient_descent`; 1 with the full batch reaches the
            optimal ``q`` in one step, about 0.1 suits minibatches).
        stop_on_plateau: run in blocks of a tenth of ``num_steps`` (at least 10 steps) and stop
            after the first block whose mean loss is not below the previous block's by more than
            :func:`plateaued`'s margin; ``num_steps`` is then the most steps. False: run all
            ``num_steps`` (the check still runs at the end and warns if the loss was falling).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file written after every chunk of steps and resumed from when it exists
            (see :mod:`uqlab.inference.checkpoint`); removed when the fit completes.
    """

    name: ClassVar[str] = "svgp"
    capabilities: ClassVar[Capabilities] = Capabilities(model="gp", draws=False, minibatch=True, resumable=True)
    num_inducing: int = 128
    num_steps: int = 2000
    batch_size: int | None = 256
    learning_rate: float = 1e-2
    train_inducing: bool = True
    natural_gradient: float | None = None
    stop_on_plateau: bool = False
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str
        check_positive_int("num_inducing", self.num_inducing)
        check_positive_int("num_steps", self.num_steps)
        check_positive_int("batch_size", self.batch_size, allow_none=True)
        check_positive("learning_rate", self.learning_rate)
        if self.natural_gradient is not None and not 0 < self.natural_gradient <= 1:
            raise ValueError(f"natural_gradient: expected None or a step size in (0, 1], got {self.natural_gradient!r}")

    def target(self, model, data):
        """The GP and dataset, checked."""
        return gp_target(model, data, "SVGP")

    def infer(self, target, session, key) -> SVGPPosterior:
        """Maximise the minibatch ELBO over hyperparameters and ``q``; return the posterior."""
        import jax
        import jax.numpy as jnp
        import optax

        from uqlab.data import draw_minibatch

        model, data = target
        n = data.num_points
        # On small data the defaults may exceed N: then Z starts at all the inputs (M = N) and the
        # minibatch is the full batch size N (both recorded in ``info``).
        m = min(self.num_inducing, n)
        batch_size = None if self.batch_size is None else min(self.batch_size, n)
        with jax.enable_x64(True):
            x, y = (jnp.asarray(a, jnp.float64) for a in data.standardized())
            init_key, steps_key = jax.random.split(key)
            params = {"hyper": model.init(), "z": x[jax.random.choice(init_key, n, (m,), replace=False)]}
            if self.natural_gradient is None:
                params.update(q_mu=jnp.zeros((m, y.shape[1])), q_sqrt=jnp.zeros((m, m)))

                def loss(params, batch, key):
                    del key
                    if not self.train_inducing:
                        params = {**params, "z": jax.lax.stop_gradient(params["z"])}
                    return -svgp_elbo(model, params, batch["data"]["x"], batch["data"]["y"], n) / n

                kernel = descent(loss, optax.adam(self.learning_rate))
            else:
                params.update(precision=jnp.eye(m), shift=jnp.zeros((m, y.shape[1])))
                kernel = natural_gradient_descent(model, n, self.natural_gradient, optax.adam(self.learning_rate),
                                                  self.train_inducing)
            window = max(10, self.num_steps // 10)

            def run(state, key, num_steps, phase=""):
                state, _, infos = session.run(kernel, state, key, num_steps=num_steps, phase=phase,
                                              draw_batch=lambda k: draw_minibatch(k, x, y, batch_size),
                                              loss=lambda i: i.loss)
                return state, np.asarray(infos.loss)

            if not self.stop_on_plateau:
                state, losses = run(kernel.init(params), steps_key, self.num_steps)
            else:  # blocks of `window` steps, each its own phase (checkpointed and resumed like any phase)
                state, losses = kernel.init(params), np.zeros(0)
                for block, start in enumerate(range(0, self.num_steps, window)):
                    state, block_losses = run(state, jax.random.fold_in(steps_key, block),
                                              min(window, self.num_steps - start), f"block {block}")
                    losses = np.concatenate([losses, block_losses])
                    if plateaued(losses, window)[0]:
                        break
            params = state.params
            if self.natural_gradient is not None:
                params = {"hyper": params["hyper"], "z": params["z"], **natural_to_moments(params)}
            elbo = float(svgp_elbo(model, params, x, y, n)) if n <= 20_000 else -float(np.mean(losses[-50:])) * n
            params = jax.tree_util.tree_map(lambda a: np.asarray(a)[None], params)
        converged, drop = plateaued(losses, window)
        if not converged:
            session.warn(f"SVGP: the ELBO had not plateaued after num_steps={self.num_steps}: the mean loss fell by "
                         f"{drop:.2e} nats per point over the last {window} steps; "
                         "increase num_steps or learning_rate")
        info = {"losses": losses, "elbo": elbo, "elbo_exact": n <= 20_000, "num_inducing": m, "batch_size": batch_size,
                "num_gradient_evals": len(losses), "num_steps_run": len(losses), "converged": converged,
                "loss_drop_last_window": drop}
        return SVGPPosterior(self, model, data.scaler, info, params=params)
