"""Gaussian variational inference, mean-field and full-rank, via BlackJAX.

The posterior over the flattened parameters is approximated by ``q(theta) = N(mu, Sigma)``, with
``Sigma = diag(sigma^2)`` (mean-field; Blundell et al., 2015) or ``Sigma = L L^T`` with a dense
Cholesky factor (full-rank; Titsias & Lazaro-Gredilla, 2014), by maximising the evidence lower
bound with the reparameterisation ``theta = mu + L eps`` (Kingma & Welling, 2014):

    ELBO(q) = E_q[log p(theta) + (N / B) sum_{b in B} log p(y_b | theta)] + H[q]  <=  log p(D),

estimated with ``num_elbo_samples`` draws per step on a minibatch of B points (unbiased for the
full-data ELBO) and the sticking-the-landing gradient (Roeder et al., 2017), optimised by Adam.

Why BlackJAX and not NumPyro autoguides: BlackJAX's ``meanfield_vi.step`` / ``fullrank_vi.step``
are pure functions of ``(key, state, logdensity_fn)``, so a fresh minibatch log density can be
passed at every step inside our chunked ``lax.scan`` (with progress bar and ``vmap``), and they
work on any params pytree of the uqlab model contract; NumPyro's SVI needs a NumPyro model and
runs its own loop. The state starts at ``mu = model.init(key)`` (a symmetry-breaking network
initialisation, not BlackJAX's zeros) and ``sigma = init_scale``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import ClassVar

import numpy as np

from uqlab._convert import as_key
from uqlab._validate import check_positive, check_positive_int
from uqlab.data import check_batch_size, draw_minibatch
from uqlab.inference.base import Method, ParticlePosterior, check_dataset, check_model, warn_numerics
from uqlab.inference.transform import Transform, scan_with_progress

__all__ = ["MeanFieldVI", "FullRankVI", "gaussian_vi_kernel"]


def gaussian_vi_kernel(logdensity_fn, x, y, *, family: str, optimizer, num_elbo_samples: int,
                       batch_size: int | None, init_scale: float) -> Transform:
    """Gaussian VI as a :class:`Transform`: ``init(params, key)``, ``update(key, state, batch=None)``.

    Args:
        logdensity_fn: ``(params, batch) -> log joint`` rescaled to the full data set.
        x, y: training data (jax arrays, N rows).
        family: "meanfield" or "fullrank".
        optimizer: an optax optimiser.
        num_elbo_samples: Monte Carlo draws per ELBO estimate.
        batch_size: minibatch size, or None for the full batch.
        init_scale: initial standard deviation of every coordinate.

    ``update``'s info is the ELBO estimate of the step.
    """
    import jax
    import jax.numpy as jnp
    from blackjax.vi import fullrank_vi, meanfield_vi

    module = meanfield_vi if family == "meanfield" else fullrank_vi

    def init(params, key=None):
        del key
        state = module.init(params, optimizer)
        if family == "meanfield":
            rho = jax.tree_util.tree_map(lambda a: jnp.full_like(a, jnp.log(init_scale)), params)
            return state._replace(mu=params, rho=rho, opt_state=optimizer.init((params, rho)))
        dim = jax.flatten_util.ravel_pytree(params)[0].shape[0]
        chol = state.chol_params.at[:dim].set(jnp.log(init_scale))
        return state._replace(mu=params, chol_params=chol, opt_state=optimizer.init((params, chol)))

    def update(key, state, batch=None):
        del batch
        batch_key, elbo_key = jax.random.split(key)
        minibatch = draw_minibatch(batch_key, x, y, batch_size)
        logdensity = lambda params: logdensity_fn(params, minibatch)  # noqa: E731
        state, info = module.step(elbo_key, state, logdensity, optimizer, num_samples=num_elbo_samples)
        return state, -info.elbo  # BlackJAX reports the loss E_q[log q - log p] = -ELBO

    return Transform(init, update)


def gaussian_moments(state, family: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(P,)`` and covariance ``(P, P)`` (mean-field: its diagonal ``(P,)``) of flattened params."""
    import jax
    import jax.numpy as jnp
    from blackjax.vi.fullrank_vi import _unflatten_cholesky

    mean = jax.flatten_util.ravel_pytree(state.mu)[0]
    if family == "meanfield":
        return np.asarray(mean), np.asarray(jnp.exp(2 * jax.flatten_util.ravel_pytree(state.rho)[0]))
    chol = _unflatten_cholesky(state.chol_params, mean.shape[0])
    return np.asarray(mean), np.asarray(chol @ chol.T)


@dataclasses.dataclass(frozen=True)
class _GaussianVI(Method):
    """Shared settings and fit of the Gaussian VI families.

    Args:
        num_steps: Adam steps.
        learning_rate: Adam learning rate.
        num_elbo_samples: reparameterised draws per ELBO gradient.
        batch_size: minibatch size (1 <= B <= N) or None for the full batch.
        num_draws: draws from q kept as the posterior's members (predictive draws).
        init_scale: initial standard deviation of q per coordinate.
        progress: progress bar (None: on unless ``UQLAB_PROGRESS=0``).
    """

    name: ClassVar[str] = "vi"
    family: ClassVar[str] = "meanfield"
    num_steps: int = 2000
    learning_rate: float = 1e-2
    num_elbo_samples: int = 4
    batch_size: int | None = None
    num_draws: int = 100
    init_scale: float = 0.1
    progress: bool | None = None

    def __post_init__(self):
        check_positive_int("num_steps", self.num_steps)
        check_positive("learning_rate", self.learning_rate)
        check_positive_int("num_elbo_samples", self.num_elbo_samples)
        check_positive_int("batch_size", self.batch_size, allow_none=True)
        check_positive_int("num_draws", self.num_draws)
        check_positive("init_scale", self.init_scale)

    def fit(self, model, data, *, key=0) -> ParticlePosterior:
        """Maximise the ELBO; return ``num_draws`` draws of q with the ELBO trace and q's moments in info."""
        import jax
        import optax
        from blackjax.vi import fullrank_vi, meanfield_vi

        from uqlab._convert import to_jax
        from uqlab.models.base import log_joint

        label = type(self).__name__
        check_model(model, label)
        data = check_dataset(data)
        n = data.num_points
        check_batch_size(self.batch_size, n)
        x, y = to_jax(data.standardized())
        kernel = gaussian_vi_kernel(
            lambda params, batch: log_joint(model, params, batch, n), x, y, family=self.family,
            optimizer=optax.adam(self.learning_rate), num_elbo_samples=self.num_elbo_samples,
            batch_size=self.batch_size, init_scale=self.init_scale,
        )
        init_key, run_key, draw_key = jax.random.split(as_key(key), 3)
        start = time.perf_counter()
        state = kernel.init(model.init(init_key))
        step = lambda state, k: kernel.update(k, state)  # noqa: E731
        state, elbo = scan_with_progress(
            step, state, jax.random.split(run_key, self.num_steps), num_steps=self.num_steps, desc=label,
            progress=self.progress,
        )
        sampler = meanfield_vi if self.family == "meanfield" else fullrank_vi
        particles = jax.block_until_ready(sampler.sample(draw_key, state, self.num_draws))
        seconds = time.perf_counter() - start
        tail = elbo[-max(1, self.num_steps // 10) :]
        warn_numerics(label, tail, "the ELBO")
        mean, cov = gaussian_moments(state, self.family)
        info = {
            "fit_seconds": seconds,
            "elbo": elbo,
            "final_elbo": float(np.mean(tail)),
            "q_mean": mean,
            "q_cov" if self.family == "fullrank" else "q_var": cov,
        }
        return ParticlePosterior(self, model, data.scaler, info, particles=particles, num_chains=1)


@dataclasses.dataclass(frozen=True)
class MeanFieldVI(_GaussianVI):
    """Mean-field Gaussian VI (diagonal covariance); settings as in :class:`_GaussianVI`."""

    name: ClassVar[str] = "vi_meanfield"
    family: ClassVar[str] = "meanfield"


@dataclasses.dataclass(frozen=True)
class FullRankVI(_GaussianVI):
    """Full-rank Gaussian VI (dense Cholesky factor, P (P + 1) / 2 parameters); see :class:`_GaussianVI`."""

    name: ClassVar[str] = "vi_fullrank"
    family: ClassVar[str] = "fullrank"
