"""Convolutional conditional neural process (ConvCNP) for 1-D inputs, as a plain JAX pytree.

The ConvCNP (Gordon et al. 2020, "Convolutional Conditional Neural Processes", ICLR) is a CNP
whose map from the context set to the predictive is translation equivariant: shifting every
input by ``t`` shifts the predictive by ``t``. Three stages:

1. **SetConv encoder** onto a uniform grid ``g_k = o + k h`` (spacing ``h = 1 / points_per_unit``):

   .. math::

       d(g) = \\sum_{i \\in C} \\phi(g - x_i), \\qquad
       e(g) = \\frac{\\sum_{i \\in C} \\phi(g - x_i)\\, y_i}{d(g) + \\epsilon}, \\qquad
       \\phi(u) = \\exp\\!\\big(-u^2 / (2 \\ell_e^2)\\big),

   the density channel ``d`` and the normalised data channel(s) ``e``, with a learned length
   scale ``ell_e``.
2. **CNN** on the grid: a pointwise lift to ``channels``, then ``depth`` residual blocks
   ``h <- h + W_2 * relu(W_1 *_dil relu(h))`` (``*_dil`` a dilated convolution; dilations cycle
   through ``1, 2, 4, 8`` so the receptive field grows geometrically).
3. **SetConv decoder** back to each target ``x*``: ``r(x*) = sum_k psi(x* - g_k) f(g_k)`` with a
   learned length scale ``ell_d``, then a pointwise MLP to a heteroscedastic Gaussian
   ``N(mu(x*), sigma(x*)^2)``, ``sigma = min_scale + softplus(.)``.

The grid origin ``o`` is the smallest input of the task (context and targets) minus ``margin``,
so the grid moves with the data and the model is translation equivariant for any shift, up to
floating-point rounding. The grid has a fixed number of points, so a task's inputs must span at
most ``span`` (inputs further right than ``o + span + 2 margin`` fall off the grid and are
predicted from its last cells).

Every function treats one task with boolean masks, like :mod:`uqlab.models.neural_process`, and
the model has the same interface (``init``, ``predict``, ``loss``, ``is_latent``), so the
neural-process training and conditioning code trains and conditions it unchanged.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from uqlab._validate import check_positive, check_positive_int
from uqlab.models.neural_process import dense_init, gaussian_head, masked_log_likelihood, mlp

__all__ = ["ConvCNP"]

_DILATIONS = (1, 2, 4, 8)


def _conv(key, width, c_in, c_out):
    return {"w": jax.random.normal(key, (width, c_in, c_out)) / math.sqrt(width * c_in), "b": jnp.zeros(c_out)}


def _apply_conv(layer, h, dilation):
    """``(G, C_in) -> (G, C_out)`` zero-padded 'same' 1-D convolution, as one matrix product.

    The ``K`` shifted copies of ``h`` are stacked along the channels (im2col), so the convolution
    and its gradient are dense matrix products: XLA's CPU backend runs dilated convolutions
    (and their gradients) through a slow generic loop, about 20x slower here.
    """
    width = layer["w"].shape[0]
    pad = dilation * (width // 2)
    padded = jnp.pad(h, ((pad, pad), (0, 0)))
    columns = jnp.concatenate([padded[j * dilation: j * dilation + h.shape[0]] for j in range(width)], -1)
    return columns @ layer["w"].reshape(-1, layer["w"].shape[-1]) + layer["b"]


@dataclasses.dataclass(frozen=True)
class ConvCNP:
    """A translation-equivariant conditional neural process for ``1 -> d_y`` regression tasks.

    Args:
        d_y: output dimension.
        channels: CNN width.
        depth: residual blocks in the CNN.
        kernel_size: convolution width in grid cells (odd).
        points_per_unit: grid density (cells per unit of ``x``).
        span: widest input range a task may cover (context and targets together).
        margin: grid extension beyond the inputs on each side.
        min_scale: lower bound of the predictive standard deviation.

    Example:
        >>> model = ConvCNP(channels=32, depth=6, points_per_unit=32, span=4.0)
    """

    d_y: int = 1
    channels: int = 64
    depth: int = 6
    kernel_size: int = 5
    points_per_unit: float = 32.0
    span: float = 4.0
    margin: float = 0.25
    min_scale: float = 0.01

    kind = "convcnp"
    d_x = 1
    is_latent = False

    def __post_init__(self):
        for name in ("d_y", "channels", "depth", "kernel_size"):
            check_positive_int(name, getattr(self, name))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: expected an odd number of grid cells, got {self.kernel_size}")
        for name in ("points_per_unit", "span", "margin", "min_scale"):
            check_positive(name, getattr(self, name))

    @property
    def spacing(self) -> float:
        """Grid spacing ``h``."""
        return 1.0 / self.points_per_unit

    @property
    def num_grid(self) -> int:
        """Number of grid points, enough for ``span + 2 margin``."""
        return int(math.ceil((self.span + 2 * self.margin) * self.points_per_unit)) + 1

    def init(self, key) -> dict:
        """Parameters: two log length scales, the CNN and the decoder head."""
        c, keys = self.channels, jax.random.split(key, 2 * self.depth + 3)
        log_scale = jnp.asarray(math.log(2.0 * self.spacing))
        return {
            "log_encoder_scale": log_scale,
            "log_decoder_scale": log_scale,
            "lift": dense_init(keys[0], 1 + self.d_y, c),
            "blocks": [{"dilated": _conv(keys[1 + 2 * i], self.kernel_size, c, c),
                        "mix": {**_conv(keys[2 + 2 * i], 1, c, c), "w": jnp.zeros((1, c, c))}}
                       for i in range(self.depth)],
            "head": [dense_init(keys[-2], c, c), dense_init(keys[-1], c, 2 * self.d_y)],
        }

    def grid(self, x_c, mask_c, x_t):
        """Grid points ``(G,)`` starting ``margin`` left of the smallest context or target input."""
        lowest = jnp.minimum(jnp.min(jnp.where(mask_c, x_c[:, 0], jnp.inf)), jnp.min(x_t[:, 0]))
        return lowest - self.margin + self.spacing * jnp.arange(self.num_grid, dtype=x_t.dtype)

    def encode(self, params, x_c, y_c, mask_c, grid):
        """SetConv: density and normalised data channels on the grid, ``(G, 1 + d_y)``."""
        scale = jnp.exp(params["log_encoder_scale"])
        weights = jnp.exp(-0.5 * ((grid[:, None] - x_c[None, :, 0]) / scale) ** 2) * mask_c[None, :]
        density = jnp.sum(weights, 1, keepdims=True)
        return jnp.concatenate([density, (weights @ y_c) / (density + 1e-8)], -1)

    def cnn(self, params, h):
        """Residual dilated CNN on grid features, ``(G, 1 + d_y) -> (G, channels)``."""
        h = h @ params["lift"]["w"] + params["lift"]["b"]
        for i, block in enumerate(params["blocks"]):
            inner = _apply_conv(block["dilated"], jax.nn.relu(h), _DILATIONS[i % len(_DILATIONS)])
            h = h + _apply_conv(block["mix"], jax.nn.relu(inner), 1)
        return h

    def decode(self, params, grid, features, x_t):
        """SetConv back to the targets, then the head: ``(loc, scale)``, each ``(T, d_y)``."""
        scale = jnp.exp(params["log_decoder_scale"])
        weights = jnp.exp(-0.5 * ((x_t[:, 0][:, None] - grid[None, :]) / scale) ** 2)
        return gaussian_head(mlp(params["head"], jax.nn.relu(weights @ features)), self.min_scale)

    def forward(self, params, x_c, y_c, mask_c, x_t):
        """Predictive ``(loc, scale)`` at the targets, each ``(T, d_y)``."""
        grid = self.grid(x_c, mask_c, x_t)
        features = self.cnn(params, self.encode(params, x_c, y_c, mask_c, grid))
        return self.decode(params, grid, features, x_t)

    def predict(self, params, x_c, y_c, mask_c, x_t, key, num_samples: int):
        """``(loc, scale)`` ``(1, T, d_y)``: one member (``key`` and ``num_samples`` are unused)."""
        del key, num_samples
        return jax.tree_util.tree_map(lambda a: a[None], self.forward(params, x_c, y_c, mask_c, x_t))

    def loss(self, params, task, key):
        """``-mean_t log N(y_t | mu_t, sigma_t^2)`` over the task's targets (``key`` unused)."""
        del key
        x, y, mask_c, mask_t = task["x"], task["y"], task["context"], task["target"]
        # Targets outside the target mask may lie anywhere; the grid only needs to cover the real ones.
        x_t = jnp.where(mask_t[:, None], x, jnp.min(jnp.where(mask_t, x[:, 0], jnp.inf)))
        loc, scale = self.forward(params, x, y, mask_c, x_t)
        return -masked_log_likelihood(y, loc, scale, mask_t) / jnp.sum(mask_t)
