"""Gaussian variational inference, mean-field and full-rank, via BlackJAX.

The posterior over the flattened parameters is approximated by ``q(theta) = N(mu, Sigma)``, with
``Sigma = diag(sigma^2)`` (mean-field; Blundell et al., 2015) or ``Sigma = L L^T`` with a dense
Cholesky factor (full-rank; Titsias & Lazaro-Gredilla, 2014), by maximising the evidence lower
bound with the reparameterisation ``theta = mu + L eps`` (Kingma & Welling, 2014):

    ELBO(q) = E_q[log p(theta) + (N / B) sum_{b in B} log p(y_b | theta)] + H[q]  <=  log p(D),

estimated with ``num_elbo_samples`` draws per step on a minibatch of B points (unbiased for the
full-data ELBO) and the sticking-the-landing gradient (Roeder et al., 2017), optimised by Adam.

Why BlackJAX and not NumPyro autoguides: BlackJAX's ``meanfield_vi.step`` / ``fullrank_vi.step``
are pure functions of ``(key, state, logdensity_fn)``, so the driver's fresh minibatch can be
passed at every step inside the chunked ``lax.scan`` (progress bar, checkpoints), and they work on
any params pytree of the uqlab model contract; NumPyro's SVI needs a NumPyro model and runs its
own loop. The kernels are in :mod:`uqlab.inference.kernels.vi`.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from uqlab._validate import check_positive, check_positive_int
from uqlab.data import check_batch_size, draw_minibatch
from uqlab.inference.base import Capabilities, Method, ParticlePosterior, check_dataset, check_model
from uqlab.inference.checkpoint import check_checkpoint_path
from uqlab.inference.kernels.vi import fullrank_vi, gaussian_moments, meanfield_vi

__all__ = ["MeanFieldVI", "FullRankVI"]


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
        checkpoint: a file written after every chunk of steps and resumed from when it exists
            (see :mod:`uqlab.inference.checkpoint`); removed when the fit completes.
    """

    name: ClassVar[str] = "vi"
    capabilities: ClassVar[Capabilities] = Capabilities(minibatch=True, resumable=True)
    num_steps: int = 2000
    learning_rate: float = 1e-2
    num_elbo_samples: int = 4
    batch_size: int | None = None
    num_draws: int = 100
    init_scale: float = 0.1
    progress: bool | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        check_positive_int("num_steps", self.num_steps)
        check_positive("learning_rate", self.learning_rate)
        check_positive_int("num_elbo_samples", self.num_elbo_samples)
        check_positive_int("batch_size", self.batch_size, allow_none=True)
        check_positive_int("num_draws", self.num_draws)
        check_positive("init_scale", self.init_scale)
        object.__setattr__(self, "checkpoint", check_checkpoint_path(self.checkpoint))  # a Path saves as str

    def kernel(self, logdensity_fn, optimizer):  # pragma: no cover - interface
        """The VI kernel of the family."""
        raise NotImplementedError

    def target(self, model, data):
        """The uqlab model and dataset (checked)."""
        check_model(model, type(self).__name__)
        data = check_dataset(data)
        check_batch_size(self.batch_size, data.num_points)
        return model, data

    def infer(self, target, session, key) -> ParticlePosterior:
        """Maximise the ELBO; return ``num_draws`` draws of q with the ELBO trace and q's moments in info."""
        import jax
        import optax

        from uqlab._convert import to_jax
        from uqlab.models.base import log_joint

        model, data = target
        n = data.num_points
        x, y = to_jax(data.standardized())
        kernel = self.kernel(lambda params, batch: log_joint(model, params, batch, n), optax.adam(self.learning_rate))
        init_key, run_key, draw_key = jax.random.split(key, 3)
        state, _, infos = session.run(
            kernel, kernel.init(model.init(init_key)), run_key, num_steps=self.num_steps,
            draw_batch=lambda k: draw_minibatch(k, x, y, self.batch_size), loss=lambda i: -i.elbo,
            gradients=self.num_elbo_samples,
        )
        particles = jax.block_until_ready(self.sample(draw_key, state, self.num_draws))
        elbo = infos.elbo
        mean, cov = gaussian_moments(state)
        info = {
            "elbo": elbo,
            "final_elbo": float(np.mean(elbo[-max(1, self.num_steps // 10) :])),
            "q_mean": mean,
            "q_var" if cov.ndim == 1 else "q_cov": cov,
            "num_gradient_evals": self.num_steps * self.num_elbo_samples,
        }
        return ParticlePosterior(self, model, data.scaler, info, particles=particles, num_chains=1)

    def sample(self, key, state, num):  # pragma: no cover - interface
        """``num`` draws from q."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class MeanFieldVI(_GaussianVI):
    """Mean-field Gaussian VI (diagonal covariance); settings as in :class:`_GaussianVI`."""

    name: ClassVar[str] = "vi_meanfield"

    def kernel(self, logdensity_fn, optimizer):
        return meanfield_vi(logdensity_fn, optimizer, num_elbo_samples=self.num_elbo_samples,
                            init_scale=self.init_scale)

    def sample(self, key, state, num):
        from blackjax.vi import meanfield_vi as module

        return module.sample(key, state, num)


@dataclasses.dataclass(frozen=True)
class FullRankVI(_GaussianVI):
    """Full-rank Gaussian VI (dense Cholesky factor, P (P + 1) / 2 parameters); see :class:`_GaussianVI`."""

    name: ClassVar[str] = "vi_fullrank"

    def kernel(self, logdensity_fn, optimizer):
        return fullrank_vi(logdensity_fn, optimizer, num_elbo_samples=self.num_elbo_samples,
                           init_scale=self.init_scale)

    def sample(self, key, state, num):
        from blackjax.vi import fullrank_vi as module

        return module.sample(key, state, num)
