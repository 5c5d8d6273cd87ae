"""The standard 1-D meta-learning task distribution: functions drawn from random Gaussian processes.

Each task (Garnelo et al. 2018; Kim et al. 2019) draws a kernel (RBF, Matern-5/2 or periodic)
with random hyperparameters, ``n`` inputs ``x ~ U(-2, 2)``, a function ``f ~ GP(0, k)`` and
observations ``y = f(x) + eps``, ``eps ~ N(0, noise^2)``. The first ``n_c ~ U{3..47}`` points are
the context, and the task has ``n ~ U{n_c + 1..50}`` points in all. Tasks are padded to
``max_points`` with masks, so a batch is a fixed-shape pytree that ``jit``/``vmap`` can sample
inside a training loop. Because the generating GP is known, :meth:`GPTasks.true_predictive`
gives the Bayes-optimal predictive that neural processes are measured against.
"""

from __future__ import annotations

import dataclasses

from uqlab._validate import check_positive, check_positive_int

__all__ = ["GPTasks", "KERNELS"]

KERNELS = ("rbf", "matern52", "periodic")


@dataclasses.dataclass(frozen=True)
class GPTasks:
    """Sampler of GP regression tasks.

    Args:
        kernels: kernel families to draw from (a subset of ``KERNELS``), uniformly.
        min_context, max_context: bounds of the context size ``n_c``.
        max_points: largest task size (context plus targets).
        noise_scale: observation noise standard deviation.
        lengthscale_range, variance_range, period_range: uniform hyperparameter ranges.
    """

    kernels: tuple[str, ...] = KERNELS
    min_context: int = 3
    max_context: int = 47
    max_points: int = 50
    noise_scale: float = 0.05
    lengthscale_range: tuple[float, float] = (0.2, 0.6)
    variance_range: tuple[float, float] = (0.25, 1.0)
    period_range: tuple[float, float] = (0.8, 2.0)

    def __post_init__(self):
        object.__setattr__(self, "kernels", tuple(self.kernels))
        for name in self.kernels:
            if name not in KERNELS:
                raise ValueError(f"kernels: expected names from {KERNELS}, got {name!r}")
        check_positive_int("min_context", self.min_context, minimum=0)
        check_positive_int("max_context", self.max_context, minimum=self.min_context)
        check_positive_int("max_points", self.max_points, minimum=self.max_context + 1)
        check_positive("noise_scale", self.noise_scale)

    def _gram(self, hyper, x1, x2):
        """Covariance of the task's kernel, chosen by ``hyper["kernel"]`` (an index into kernels)."""
        import jax
        import jax.numpy as jnp

        from uqlab.models import kernels as K

        params = {"log_variance": jnp.log(hyper["variance"]), "log_lengthscale": jnp.log(hyper["lengthscale"]),
                  "log_period": jnp.log(hyper["period"])}
        family = {"rbf": K.RBF(), "matern52": K.Matern52(), "periodic": K.Periodic()}
        branches = [lambda p, k=family[name], n=name: k(p if n == "periodic" else _stationary(p), x1, x2)
                    for name in self.kernels]
        return jax.lax.switch(hyper["kernel"], branches, params)

    def sample(self, key, batch_size: int) -> dict:
        """A batch of tasks: ``x, y`` ``(B, P, 1)``, boolean ``context``/``target`` masks ``(B, P)``
        (targets include the context, as in NP training) and the generating ``hyper``parameters."""
        import jax

        return jax.vmap(self._one)(jax.random.split(key, batch_size))

    def _one(self, key):
        import jax
        import jax.numpy as jnp

        ks = jax.random.split(key, 8)
        p = self.max_points
        uniform = lambda k, bounds: jax.random.uniform(k, (), minval=bounds[0], maxval=bounds[1])  # noqa: E731
        hyper = {
            "kernel": jax.random.randint(ks[0], (), 0, len(self.kernels)),
            "lengthscale": uniform(ks[1], self.lengthscale_range),
            "variance": uniform(ks[2], self.variance_range),
            "period": uniform(ks[3], self.period_range),
        }
        x = jax.random.uniform(ks[4], (p, 1), minval=-2.0, maxval=2.0)
        cov = self._gram(hyper, x, x) + (self.noise_scale**2 + 1e-6) * jnp.eye(p)
        y = jnp.linalg.cholesky(cov) @ jax.random.normal(ks[5], (p, 1))
        n_context = jax.random.randint(ks[6], (), self.min_context, self.max_context + 1)
        n_total = jax.random.randint(ks[7], (), n_context + 1, p + 1)
        index = jnp.arange(p)
        return {"x": x, "y": y, "context": index < n_context, "target": index < n_total, "hyper": hyper}

    def true_predictive(self, task: dict):
        """Per-point predictive ``(loc, scale)`` ``(P, 1)`` of the generating GP given one task's
        context (padded points are ignored through the mask)."""
        import jax.numpy as jnp

        x, y, mask = task["x"], task["y"], task["context"]
        eye = jnp.eye(x.shape[0])
        k = self._gram(task["hyper"], x, x)
        # Masked-out points get a huge noise variance: they carry no information.
        noise = jnp.where(mask, self.noise_scale**2 + 1e-6, 1e6)
        chol = jnp.linalg.cholesky(k + noise * eye)
        v = jnp.linalg.solve(chol, k)
        alpha = jnp.linalg.solve(chol, jnp.where(mask[:, None], y, 0.0))
        mean = v.T @ alpha
        var = jnp.diagonal(k) - jnp.sum(v**2, 0) + self.noise_scale**2
        return mean, jnp.sqrt(var)[:, None]


def _stationary(params):
    return {k: v for k, v in params.items() if k != "log_period"}
