"""Neural processes: conditional (CNP), latent (NP) and attentive (ANP), as plain JAX pytrees.

A neural process maps a context set ``C = {(x_i, y_i)}`` to a predictive at target inputs:

* **CNP** (Garnelo et al. 2018a): ``r = mean_i h(x_i, y_i)``, ``p(y* | x*, C) = N(mu, sigma^2)``
  with ``(mu, sigma) = g(x*, r)``.
* **NP** (Garnelo et al. 2018b): adds a global latent ``z ~ q(z | C) = N(mu_z, sigma_z^2)`` from a
  second mean-pooled encoder; ``p(y* | x*, C) = E_{q(z|C)} N(y* | g(x*, r, z))``, a mixture over
  latent draws. Trained on the ELBO ``E_{q(z|T)} log p(y_T | x_T, r_C, z) - KL(q(z|T) || q(z|C))``.
* **ANP** (Kim et al. 2019): the NP whose deterministic path replaces the mean by dot-product
  cross-attention from each target ``x*`` to the context inputs, so nearby context points weigh
  more; ``num_heads`` heads (Vaswani et al. 2017) split the query, key and value features into
  equal parts, attend in each part separately and concatenate the results.

Sets of different sizes share one array shape through boolean masks; every function here treats
one task, and training ``vmap``s over tasks. A latent model accepts an empty context (its
predictive is then the learned prior predictive); a CNP does not. Training and conditioning live
in :mod:`uqlab.inference.neural_process`.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from uqlab._validate import check_choice, check_positive, check_positive_int
from uqlab.models.likelihoods import gaussian_log_prob

__all__ = ["NeuralProcess", "KINDS"]

KINDS = ("cnp", "np", "anp")


def dense_init(key, a: int, b: int) -> dict:
    """An ``a -> b`` dense layer: weights ``N(0, 1/a)``, zero bias (shared with the ConvCNP)."""
    return {"w": jax.random.normal(key, (a, b)) / math.sqrt(a), "b": jnp.zeros(b)}


def mlp_init(key, sizes):
    """Dense layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [dense_init(k, a, b) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]


def mlp(layers, h):
    """ReLU MLP; the last layer is linear."""
    for layer in layers[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    return h @ layers[-1]["w"] + layers[-1]["b"]


def gaussian_head(out, min_scale: float):
    """``(loc, scale)`` from a ``(T, 2 d_y)`` output: the first half is the mean, the second
    ``raw`` gives ``scale = min_scale + softplus(raw)``."""
    loc, raw = jnp.split(out, 2, axis=-1)
    return loc, min_scale + jax.nn.softplus(raw)


def masked_log_likelihood(y, loc, scale, mask):
    """``sum_{t: mask_t} log N(y_t | loc_t, scale_t^2)`` over a task's (padded) points."""
    return jnp.sum(jnp.where(mask[:, None], gaussian_log_prob(y, loc, scale), 0.0))


def _masked_mean(h, mask):
    """Mean of the rows of ``h`` where ``mask``; zeros for an empty set."""
    count = jnp.maximum(jnp.sum(mask), 1)
    return jnp.sum(jnp.where(mask[:, None], h, 0.0), 0) / count


@dataclasses.dataclass(frozen=True)
class NeuralProcess:
    """A neural process for ``d_x -> d_y`` regression tasks.

    Args:
        kind: "cnp", "np" (latent) or "anp" (attentive latent).
        d_x, d_y: input and output dimensions.
        width: hidden width of every MLP (and the representation size).
        depth: hidden layers per MLP.
        min_scale: lower bound of the predictive standard deviation.
        num_heads: attention heads of the ANP (must divide ``width``).
    """

    kind: str = "cnp"
    d_x: int = 1
    d_y: int = 1
    width: int = 64
    depth: int = 3
    min_scale: float = 0.01
    num_heads: int = 1

    def __post_init__(self):
        check_choice("kind", self.kind, KINDS)
        for name in ("d_x", "d_y", "width", "depth", "num_heads"):
            check_positive_int(name, getattr(self, name))
        check_positive("min_scale", self.min_scale)
        if self.width % self.num_heads:
            raise ValueError(f"num_heads: expected a divisor of width={self.width}, got {self.num_heads}")

    @property
    def is_latent(self) -> bool:
        return self.kind != "cnp"

    def init(self, key) -> dict:
        """Parameters of the encoders and the decoder."""
        w, d = self.width, self.depth
        pair, keys = self.d_x + self.d_y, jax.random.split(key, 5)
        params = {
            "deterministic": mlp_init(keys[0], [pair] + [w] * d + [w]),
            "decoder": mlp_init(keys[1], [self.d_x + w + (w if self.is_latent else 0)] + [w] * d + [2 * self.d_y]),
        }
        if self.is_latent:
            params["latent"] = mlp_init(keys[2], [pair] + [w] * d + [2 * w])
        if self.kind == "anp":
            params["query"] = mlp_init(keys[3], [self.d_x, w, w])
            params["key"] = mlp_init(keys[4], [self.d_x, w, w])
        return params

    def representation(self, params, x_c, y_c, mask_c, x_t):
        """Deterministic path ``r(x*)`` for each target, ``(T, width)``."""
        h = mlp(params["deterministic"], jnp.concatenate([x_c, y_c], -1))
        if self.kind != "anp":
            return jnp.broadcast_to(_masked_mean(h, mask_c), (x_t.shape[0], h.shape[1]))
        heads = lambda a: a.reshape(a.shape[0], self.num_heads, -1).transpose(1, 0, 2)  # noqa: E731
        q, k, v = heads(mlp(params["query"], x_t)), heads(mlp(params["key"], x_c)), heads(h)
        scale = math.sqrt(self.width // self.num_heads)
        scores = jnp.where(mask_c[None, None, :], q @ k.transpose(0, 2, 1) / scale, -jnp.inf)
        weights = jnp.where(jnp.any(mask_c), jax.nn.softmax(scores, axis=-1), 0.0)
        return (jnp.nan_to_num(weights) @ v).transpose(1, 0, 2).reshape(x_t.shape[0], -1)

    def latent(self, params, x, y, mask):
        """``q(z | set)``: mean and standard deviation, each ``(width,)``."""
        s = _masked_mean(mlp(params["latent"], jnp.concatenate([x, y], -1)), mask)
        mean, raw = jnp.split(s, 2)
        return mean, 0.1 + 0.9 * jax.nn.sigmoid(raw)

    def decode(self, params, x_t, r, z=None):
        """Predictive ``(loc, scale)``, each ``(T, d_y)``."""
        parts = [x_t, r] if z is None else [x_t, r, jnp.broadcast_to(z, (x_t.shape[0], z.shape[0]))]
        return gaussian_head(mlp(params["decoder"], jnp.concatenate(parts, -1)), self.min_scale)

    def predict(self, params, x_c, y_c, mask_c, x_t, key, num_samples: int):
        """Members' ``(loc, scale)`` ``(S, T, d_y)``: S latent draws from ``q(z | C)`` (S = 1 for a CNP)."""
        r = self.representation(params, x_c, y_c, mask_c, x_t)
        if not self.is_latent:
            return jax.tree_util.tree_map(lambda a: a[None], self.decode(params, x_t, r))
        mean, scale = self.latent(params, x_c, y_c, mask_c)
        z = mean + scale * jax.random.normal(key, (num_samples, mean.shape[0]))
        return jax.vmap(lambda zi: self.decode(params, x_t, r, zi))(z)

    def loss(self, params, task, key):
        """Negative training objective per target point for one task (masks ``context``/``target``).

        CNP: ``-mean_t log N(y_t | mu_t, sigma_t^2)``. Latent: the negative ELBO with one draw
        ``z ~ q(z | T)``, divided by the number of targets.
        """
        x, y, mask_c, mask_t = task["x"], task["y"], task["context"], task["target"]
        r = self.representation(params, x, y, mask_c, x)
        num_targets = jnp.sum(mask_t)
        if self.is_latent:
            post_mean, post_scale = self.latent(params, x, y, mask_t)
            prior_mean, prior_scale = self.latent(params, x, y, mask_c)
            z = post_mean + post_scale * jax.random.normal(key, post_mean.shape)
            kl = jnp.sum(jnp.log(prior_scale / post_scale)
                         + (post_scale**2 + (post_mean - prior_mean) ** 2) / (2 * prior_scale**2) - 0.5)
            loc, scale = self.decode(params, x, r, z)
        else:
            kl = 0.0
            loc, scale = self.decode(params, x, r)
        return -(masked_log_likelihood(y, loc, scale, mask_t) - kl) / num_targets
