"""Laplace approximation with a generalised Gauss-Newton Hessian and the linearised predictive.

After a MAP fit ``theta*`` (optax Adam, :func:`uqlab.inference.map_training.fit_map`), the posterior
over a subset of weights (the last layer, or all network weights) is approximated by

    q(theta) = N(theta*, Sigma),   Sigma^-1 = G + delta I,   G = sum_n J_n^T Lambda_n J_n,

with ``J_n = d f(x_n; theta) / d theta`` at ``theta*`` (Jacobian of the predicted mean),
``Lambda_n = diag(1 / sigma_n^2)`` the Gaussian likelihood's precision (at its MAP noise), and an
isotropic prior precision ``delta`` (MacKay, 1992; Ritter et al., 2018; Daxberger et al.,
"Laplace Redux", NeurIPS 2021). ``hessian="full"`` keeps G dense (P x P), ``"diag"`` its diagonal.
The likelihood's own parameters (a ``"lik"`` entry of the params dict) are kept at their MAP.

``hessian="kron"`` (KFAC; Martens & Grosse, 2015; Ritter, Botev & Barber, "A Scalable Laplace
Approximation for Neural Networks", ICLR 2018) keeps one block per layer of an MLP and factors it.
Layer ``l`` computes pre-activations ``s = W~^T a~`` from its input ``a`` with a bias entry,
``a~ = [a, 1]``, so ``J_n`` for ``vec(W~)`` (row-major, ``W~ = [W; b]``) is ``a~_n^T (x) g_n``
with ``g_n = d f / d s`` (``d_out x n_out``), and the block is approximated by

    G_l ~= A_l (x) B_l,   A_l = sum_n a~_n a~_n^T,   B_l = 1/N sum_n g_n^T Lambda_n g_n,

exact when ``B``'s summands are equal (one linear layer with Gaussian noise: Bayesian linear
regression). With ``A = Q_A diag(l_A) Q_A^T`` and ``B = Q_B diag(l_B) Q_B^T`` the posterior
covariance of layer ``l`` is ``(Q_A (x) Q_B) diag(1 / (l_A,i l_B,j + delta)) (Q_A (x) Q_B)^T``
(Immer, Korzepa & Bauer, 2021), never formed: the linearised variance at ``x*`` is
``sum_l sum_ij (a~*^T Q_A)_i^2 (g*^T Q_B)_j^2 / (l_A,i l_B,j + delta)`` (exact for the Kronecker
posterior). Only the ``"net"`` layers are Laplace weights; ``g`` is read off as the gradient with
respect to the layer's bias, and ``a`` from the model's ``features`` on the first layers.

Prediction uses the linearised network (the GLM predictive, Immer, Korzepa & Bauer, 2021):
``y* ~ N(f(x*; theta*), J* Sigma J*^T + sigma^2)``, one Gaussian member per point.

Unless ``prior_precision`` is given, ``delta`` maximises the Laplace log marginal likelihood
(MacKay, 1992; Immer et al., "Scalable Marginal Likelihood Estimation for Model Selection in Deep
Learning", ICML 2021), evaluated post hoc at ``theta*`` on a log grid from the eigenvalues
``lambda_i`` of G (for "kron": the products ``l_A,i l_B,j`` of every layer; exact for each grid
point, cheap for every one):

    log p(D | delta) ~= log p(D | theta*) - delta / 2 |theta*|^2 + P / 2 log delta
                        - 1 / 2 sum_i log(lambda_i + delta).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.inference.base import Capabilities, Method, Posterior, check_dataset, check_model
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.map_training import fit_map

__all__ = ["Laplace", "LaplacePosterior", "log_marginal_likelihood", "kron_terms"]

PRIOR_GRID = np.logspace(-4, 4, 161)


def _subset(params, subset: str):
    """``(get, put)``: read the Laplace weights from params, and write them back."""
    if subset == "last_layer":
        return (lambda p: p["net"][-1]), (lambda p, sub: {**p, "net": [*p["net"][:-1], sub]})
    if isinstance(params, dict) and "lik" in params:
        return (lambda p: {k: v for k, v in p.items() if k != "lik"}), (lambda p, sub: {**p, **sub})
    return (lambda p: p), (lambda p, sub: sub)


def jacobians(model, params, subset: str, x):
    """``(J, loc, scale)``: J ``(N, d_out, P)`` of the predicted mean w.r.t. the flattened subset."""
    import jax
    import jax.flatten_util

    get, put = _subset(params, subset)
    flat, unravel = jax.flatten_util.ravel_pytree(get(params))

    def one(xi):
        return jax.jacrev(lambda theta: model.apply(put(params, unravel(theta)), xi[None])[0][0])(flat)

    loc, scale = model.apply(params, x)
    return jax.lax.map(one, x, batch_size=64), loc, scale


def _kron_layers(params, subset: str) -> list[int]:
    """Indices of the layers under a Kronecker-factored Laplace."""
    num = len(params["net"])
    return list(range(num)) if subset == "all" else [num - 1]


def kron_terms(model, params, layers: list[int], x):
    """Per-layer inputs and output gradients of an MLP, the ingredients of KFAC.

    Returns:
        ``(inputs, grads, loc, scale)``: ``inputs[k]`` ``(N, n_in + 1)`` is layer ``layers[k]``'s
        input with a trailing 1 (the bias), ``grads[k]`` ``(N, d_out, n_out)`` the Jacobian of the
        predicted mean with respect to that layer's pre-activations (= its bias), point by point.
    """
    import jax
    import jax.numpy as jnp

    net = params["net"]
    ones = jnp.ones((x.shape[0], 1), x.dtype)
    # features() runs every layer but the last of the "net" it is given: net[:i+1] yields layer i's input.
    inputs = [jnp.concatenate([model.features({**params, "net": net[: i + 1]}, x), ones], axis=1) for i in layers]

    def with_biases(biases):
        new = list(net)
        for i, b in zip(layers, biases):
            new[i] = {**net[i], "b": b}
        return {**params, "net": new}

    def one(xi):
        return jax.jacrev(lambda biases: model.apply(with_biases(biases), xi[None])[0][0])([net[i]["b"] for i in layers])

    loc, scale = model.apply(params, x)
    return inputs, jax.lax.map(one, x, batch_size=64), loc, scale


def _kron_check(model, params) -> None:
    net = params.get("net") if isinstance(params, dict) else None
    if not (hasattr(model, "features") and isinstance(net, list) and all(
            isinstance(layer, dict) and set(layer) == {"w", "b"} and np.ndim(layer["w"]) == 2 for layer in net)):
        raise TypeError(
            "hessian: 'kron' needs an MLP model with features() and params['net'] a list of {'w': (n_in, n_out), "
            f"'b': (n_out,)}} layers (e.g. uqlab.models.BayesianMLP), got {type(model).__name__}"
        )


def _kron_mean(params, layers: list[int]) -> np.ndarray:
    """The MAP weights in KFAC order: per layer ``[W; b]`` flattened row-major."""
    net = params["net"]
    return np.concatenate([np.concatenate([net[i]["w"], net[i]["b"][None]]).ravel() for i in layers])


def _kron_eigenvalues(factor: dict) -> np.ndarray:
    """``l_A,i l_B,j`` ``(n_in + 1, n_out)`` of one layer's Kronecker factors (negatives clipped)."""
    return np.outer(np.clip(factor["a_values"], 0.0, None), np.clip(factor["g_values"], 0.0, None))


def log_marginal_likelihood(delta, log_lik: float, sq_norm: float, eigenvalues) -> np.ndarray:
    """Laplace log evidence at prior precision(s) ``delta`` (module docstring)."""
    delta = np.asarray(delta, np.float64)[..., None]
    eigenvalues = np.clip(np.asarray(eigenvalues, np.float64), 0.0, None)
    p = eigenvalues.shape[0]
    log_det = np.sum(np.log(eigenvalues + delta), axis=-1)
    return log_lik - 0.5 * delta[..., 0] * sq_norm + 0.5 * p * np.log(delta[..., 0]) - 0.5 * log_det


@dataclasses.dataclass(repr=False)
class LaplacePosterior(Posterior):
    """The linearised Laplace predictive: one Gaussian member per point.

    Attributes:
        params: the MAP parameters.
        subset: "last_layer" or "all".
        mean: the flattened MAP of the subset ``(P,)`` (for "kron": per layer ``[W; b]`` row-major).
        covariance: ``Sigma`` ``(P, P)`` for a full Hessian, its diagonal ``(P,)`` for "diag",
            None for "kron".
        kron_factors: for "kron", per Laplace layer the eigendecompositions of its factors,
            ``{"a_values", "a_vectors", "g_values", "g_vectors"}``; else None.
        prior_precision: the prior precision delta used.
    """

    params: Any = None
    subset: str = "all"
    mean: Any = None
    covariance: Any = None
    kron_factors: Any = None
    prior_precision: float | None = None

    @property
    def num_members(self) -> int:
        return 1

    def _kron_variance(self, x):
        """``(loc, scale, var_f)``: the linearised variance of the mean under the Kronecker posterior."""
        import jax
        import jax.numpy as jnp

        layers = _kron_layers(self.params, self.subset)
        inverses = [1.0 / (_kron_eigenvalues(factor) + self.prior_precision) for factor in self.kron_factors]
        vectors = [(factor["a_vectors"], factor["g_vectors"]) for factor in self.kron_factors]

        def variance(params, vectors, inverses, x):
            inputs, grads, loc, scale = kron_terms(self.model, params, layers, x)
            var_f = jnp.zeros_like(loc)
            for a, g, (a_vectors, g_vectors), inverse in zip(inputs, grads, vectors, inverses):
                u, v = a @ a_vectors.astype(a.dtype), jnp.einsum("ndj,jk->ndk", g, g_vectors.astype(a.dtype))
                var_f += jnp.einsum("ni,ndj,ij->nd", u**2, v**2, inverse.astype(a.dtype))
            return loc, scale, var_f

        return jax.jit(variance)(self.params, vectors, inverses, x)

    def _member_outputs(self, x, num_samples, key):
        import jax.numpy as jnp

        del num_samples, key
        x = jnp.asarray(x, jnp.result_type(float))
        if self.kron_factors is not None:
            loc, scale, var_f = self._kron_variance(x)
            return loc[None], jnp.sqrt(scale**2 + var_f)[None]
        jac, loc, scale = jacobians(self.model, self.params, self.subset, x)
        cov = jnp.asarray(self.covariance)
        if cov.ndim == 1:
            var_f = jnp.einsum("ndp,p->nd", jac**2, cov)
        else:
            var_f = jnp.einsum("ndp,pq,ndq->nd", jac, cov, jac)
        return loc[None], jnp.sqrt(scale**2 + var_f)[None]

    def _quantity_draws(self) -> dict:
        import jax

        values = jax.device_get(self.model.quantities(self.params))
        return jax.tree_util.tree_map(lambda v: np.asarray(v)[None], values)


@dataclasses.dataclass(frozen=True)
class Laplace(Method):
    """Laplace approximation around a MAP fit with the linearised (GLM) predictive.

    Args:
        subset: "last_layer" (needs a model with ``features`` and ``params["net"]``, e.g.
            :class:`~uqlab.models.BayesianMLP`) or "all" weights.
        hessian: "full" (dense GGN, P x P), "diag" (diagonal GGN) or "kron" (Kronecker-factored
            GGN per layer of an MLP, KFAC; see the module docstring).
        prior_precision: isotropic prior precision delta of the Laplace weights; None tunes it
            by maximising the Laplace marginal likelihood over ``PRIOR_GRID`` (1e-4 ... 1e4).
        num_steps, learning_rate, batch_size: the MAP fit (Adam).
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
        checkpoint: a file the MAP fit writes after every chunk of steps and resumes from (see
            :mod:`uqlab.inference.checkpoint`); removed when the fit completes.
    """

    name: ClassVar[str] = "laplace"
    capabilities: ClassVar[Capabilities] = Capabilities(draws=False, minibatch=True, resumable=True)
    subset: str = "last_layer"
    hessian: str = "full"
    prior_precision: float | None = None
    num_steps: int = 2000
    learning_rate: float = 1e-2
    batch_size: int | None = None
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str
        check_choice("subset", self.subset, ("last_layer", "all"))
        check_choice("hessian", self.hessian, ("full", "diag", "kron"))
        check_positive("prior_precision", self.prior_precision, allow_none=True)
        check_positive_int("num_steps", self.num_steps)
        check_positive("learning_rate", self.learning_rate)
        check_positive_int("batch_size", self.batch_size, allow_none=True)

    def _curvature(self, model, params, x):
        """``(mean, eigenvalues, finish)``: the Laplace weights' MAP, the GGN's eigenvalues, and
        ``finish(delta) -> {posterior fields}`` building the covariance at prior precision delta."""
        import jax
        import jax.numpy as jnp

        if self.hessian == "kron":
            layers = _kron_layers(params, self.subset)

            def kron_factors(params, x):
                inputs, grads, _, scale = kron_terms(model, params, layers, x)
                precision = 1.0 / scale**2
                return [(a.T @ a, jnp.einsum("ndi,nd,ndj->ij", g, precision, g) / x.shape[0]) for a, g in zip(inputs, grads)]

            factors = []
            for a, b in jax.jit(kron_factors)(params, x):
                a_values, a_vectors = np.linalg.eigh(np.asarray(a, np.float64))
                g_values, g_vectors = np.linalg.eigh(np.asarray(b, np.float64))
                factors.append({"a_values": a_values, "a_vectors": a_vectors, "g_values": g_values, "g_vectors": g_vectors})
            eigenvalues = np.concatenate([_kron_eigenvalues(f).ravel() for f in factors])
            mean = _kron_mean(jax.device_get(params), layers)
            return mean, eigenvalues, lambda delta: {"kron_factors": factors}
        jac, _, scale = jacobians(model, params, self.subset, x)
        precision = 1.0 / scale**2
        mean = np.asarray(jax.flatten_util.ravel_pytree(_subset(params, self.subset)[0](params))[0])
        if self.hessian == "diag":
            eigenvalues = np.asarray(jnp.einsum("ndp,nd->p", jac**2, precision), np.float64)
            return mean, eigenvalues, lambda delta: {"covariance": 1.0 / (np.clip(eigenvalues, 0.0, None) + delta)}
        ggn = jnp.einsum("ndp,nd,ndq->pq", jac, precision, jac)
        eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(ggn, np.float64))
        inverse = lambda delta: (eigenvectors / (np.clip(eigenvalues, 0.0, None) + delta)) @ eigenvectors.T  # noqa: E731
        return mean, eigenvalues, lambda delta: {"covariance": inverse(delta)}

    def target(self, model, data):
        """The uqlab model (an MLP for ``"kron"``) and dataset, checked."""
        import jax

        check_model(model, "Laplace", *(("features",) if self.subset == "last_layer" else ()))
        data = check_dataset(data)
        if self.hessian == "kron":
            _kron_check(model, model.init(jax.random.PRNGKey(0)))
        return model, data

    def infer(self, target, session, key) -> LaplacePosterior:
        """MAP fit, GGN at the MAP, prior precision by marginal likelihood, linearised predictive."""
        import jax

        from uqlab._convert import to_jax
        from uqlab.models.base import log_joint

        model, data = target
        params, losses = fit_map(
            session, model, data, key, num_members=1, num_steps=self.num_steps, learning_rate=self.learning_rate,
            batch_size=self.batch_size, train=False, phase="MAP",
        )
        params = jax.tree_util.tree_map(lambda a: a[0], params)
        if self.subset == "last_layer" and not (isinstance(params, dict) and isinstance(params.get("net"), list)):
            raise TypeError(f"subset: 'last_layer' needs params with a 'net' list of layers, got {type(params).__name__}")
        x, y = to_jax(data.standardized())
        mean, eigenvalues, finish = self._curvature(model, params, x)
        log_lik = float(log_joint(model, params, {"x": x, "y": y}, data.num_points) - model.log_prior(params))
        sq_norm = float(np.sum(mean.astype(np.float64) ** 2))
        evidence = log_marginal_likelihood(PRIOR_GRID, log_lik, sq_norm, eigenvalues)
        delta = float(PRIOR_GRID[np.argmax(evidence)]) if self.prior_precision is None else float(self.prior_precision)
        info = {
            "losses": losses[:, 0],
            "prior_precision": delta,
            "log_marginal_likelihood": float(log_marginal_likelihood(delta, log_lik, sq_norm, eigenvalues)),
            "prior_grid": PRIOR_GRID,
            "log_marginal_likelihood_grid": evidence,
            "num_laplace_params": int(mean.shape[0]),
        }
        return LaplacePosterior(
            self, model, data.scaler, info, params=params, subset=self.subset, mean=mean, prior_precision=delta,
            **finish(delta),
        )
