"""SVGP evidence lower bound: the whitened bound equals the unwhitened one for the same q.

The unwhitened bound for ``q(u) = N(mu_u, S_u)`` (Titsias 2009; Hensman et al. 2013) is written
here independently of ``uqlab.inference.svgp``, with ``mu_u = L_Z m`` and
``S_u = L_Z S S^T L_Z^T`` the same distribution as the whitened ``q(v) = N(m, S S^T)``. (That the
bound is tight at ``Z = X`` with the optimal ``q`` is tested in ``tests/models/test_gp.py``.)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from uqlab.inference.svgp import svgp_elbo
from uqlab.models.gp import GP
from uqlab.models.kernels import Matern52

MODEL = GP(kernel=Matern52(d_in=2, ard=True, lengthscale=0.7), noise_scale=0.3)
ELBO = jax.jit(functools.partial(svgp_elbo, MODEL), static_argnames="num_points")


def _data(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 2))
    return x, np.sin(2 * x[:, :1]) * np.cos(x[:, 1:]) + 0.3 * rng.standard_normal((n, 1))


def _raw_sqrt(chol):
    """The library's unconstrained ``q_sqrt`` for a lower factor with a positive diagonal."""
    return jnp.tril(chol, -1) + jnp.diag(jnp.log(jnp.diagonal(chol)))


def unwhitened_elbo(model, hyper, z, mu_u, cov_u, x, y):
    """``sum_n E_q[log N(y_n | f_n, sigma^2)] - KL(N(mu_u, S_u) || N(0, K_ZZ))``, direct form."""
    kzz = model.kernel(hyper["kernel"], z, z) + model.jitter * jnp.eye(z.shape[0])
    kzx = model.kernel(hyper["kernel"], z, x)
    proj = jnp.linalg.solve(kzz, kzx)  # K_ZZ^{-1} K_ZX
    mean = proj.T @ mu_u
    var = model.kernel.diag(hyper["kernel"], x) - jnp.sum(kzx * proj, 0) + jnp.sum(proj * (cov_u @ proj), 0)
    noise2 = model.noise(hyper) ** 2
    expected = jnp.sum(-0.5 * jnp.log(2 * jnp.pi * noise2) - ((y - mean) ** 2)[:, 0] / (2 * noise2) - var / (2 * noise2))
    m = z.shape[0]
    kl = 0.5 * (jnp.trace(jnp.linalg.solve(kzz, cov_u)) + mu_u[:, 0] @ jnp.linalg.solve(kzz, mu_u[:, 0]) - m
                + jnp.linalg.slogdet(kzz)[1] - jnp.linalg.slogdet(cov_u)[1])
    return expected - kl


@pytest.fixture(autouse=True)
def float64():
    with jax.enable_x64(True):
        yield


def test_whitened_bound_equals_unwhitened_bound_for_the_same_q():
    x, y = _data(40)
    x, y = jnp.asarray(x), jnp.asarray(y)
    rng = np.random.default_rng(1)
    hyper = MODEL.init()
    z = jnp.asarray(rng.uniform(-2, 2, (7, 2)))
    m = jnp.asarray(rng.standard_normal((7, 1)))
    chol_s = jnp.tril(jnp.asarray(rng.standard_normal((7, 7)))) * 0.3 + jnp.eye(7) * 0.8
    chol_s = chol_s * jnp.sign(jnp.diagonal(chol_s))  # positive diagonal
    params = {"hyper": hyper, "z": z, "q_mu": m, "q_sqrt": _raw_sqrt(chol_s)}
    whitened = ELBO(params, x, y, num_points=40)
    kzz = MODEL.kernel(hyper["kernel"], z, z) + MODEL.jitter * jnp.eye(7)
    chol_z = jnp.linalg.cholesky(kzz)
    direct = jax.jit(functools.partial(unwhitened_elbo, MODEL))(hyper, z, chol_z @ m, chol_z @ chol_s @ chol_s.T @ chol_z.T, x, y)
    np.testing.assert_allclose(float(whitened), float(direct), rtol=1e-7)  # measured 2e-9 (solves with K_ZZ)


def test_plateau_check_tells_falling_from_flat_noisy_losses():
    from uqlab.inference.svgp import plateaued

    rng = np.random.default_rng(0)
    noise = 0.05 * rng.standard_normal(400)
    assert plateaued(1.0 + noise, 100)[0]  # flat: the fall is within two standard errors
    falling, drop = plateaued(np.linspace(2.0, 1.0, 400) + noise, 100)
    assert not falling and drop == pytest.approx(0.25, abs=0.03)  # 100 steps of 1/400 each


def test_svgp_stopped_early_says_it_did_not_converge():
    import uqlab

    x, y = _data(64)
    with pytest.warns(RuntimeWarning, match="had not plateaued"):
        post = uqlab.fit(MODEL, uqlab.Dataset(x, y), "svgp", key=0, num_inducing=8, num_steps=40, batch_size=None,
                         learning_rate=1e-2, progress=False)
    assert post.info["converged"] is False and post.info["loss_drop_last_window"] > 0


def test_one_full_batch_natural_gradient_step_reaches_the_exact_marginal_likelihood_at_z_equal_x():
    """Natural gradients with step 1 on the full batch give the optimal q (Hensman et al. 2013):
    with M = N inducing points at the data, the bound then equals log p(y | X, theta)."""
    import optax

    from uqlab.inference.svgp import natural_gradient_descent, natural_to_moments

    x, y = (jnp.asarray(a) for a in _data(30, seed=2))
    hyper = MODEL.init()
    kernel = natural_gradient_descent(MODEL, 30, 1.0, optax.sgd(0.0), train_inducing=False)
    state = kernel.init({"hyper": hyper, "z": x, "precision": jnp.eye(30), "shift": jnp.zeros((30, 1))})
    state, info = jax.jit(kernel.update)(None, state, {"data": {"x": x, "y": y}})
    params = {"hyper": hyper, "z": x, **natural_to_moments(state.params)}
    bound, exact = float(ELBO(params, x, y, num_points=30)), float(MODEL.log_marginal_likelihood(hyper, x, y))
    # At the optimal q the gap is tr(K - Q) / (2 sigma^2), Q = K (K + jitter I)^{-1} K: about N jitter / (2 sigma^2).
    assert 0 <= exact - bound < 30 * MODEL.jitter / MODEL.noise_scale**2, (bound, exact)
    assert float(info.loss) * 30 == pytest.approx(-bound, rel=1e-9)  # the loss is scored with the new q


def test_svgp_natural_gradient_option_fits_and_rejects_bad_steps():
    import uqlab

    x, y = _data(64)
    data = uqlab.Dataset(x, y)
    adam = uqlab.fit(MODEL, data, "svgp", key=0, num_inducing=16, num_steps=60, batch_size=None, progress=False)
    nat = uqlab.fit(MODEL, data, "svgp", key=0, num_inducing=16, num_steps=60, batch_size=None, progress=False,
                    natural_gradient=1.0)
    assert nat.info["elbo"] > adam.info["elbo"]  # optimal q at every step against 60 Adam steps on q
    assert np.isfinite(nat.predict(x).mean).all()
    with pytest.raises(ValueError, match="natural_gradient"):
        uqlab.fit(MODEL, data, "svgp", natural_gradient=1.5)


def test_svgp_stop_on_plateau_stops_after_the_first_flat_block():
    """The stopping mechanism: full-batch natural gradients with step 1 make q optimal in the first
    step and a vanishing Adam step keeps the hyperparameters and Z, so the loss is flat from the
    start: the run stops after the second block of 10 steps (the first two blocks it can compare)
    instead of running 100 steps, and says it converged. (A still-falling loss is the case of
    ``test_svgp_stopped_early_says_it_did_not_converge``.)"""
    import uqlab

    x, y = _data(64)
    stopped = uqlab.fit(MODEL, uqlab.Dataset(x, y), "svgp", key=0, num_inducing=16, num_steps=100, batch_size=None,
                        learning_rate=1e-12, natural_gradient=1.0, stop_on_plateau=True, progress=False)
    assert stopped.info["converged"] is True
    assert stopped.info["num_steps_run"] == len(stopped.info["losses"]) == stopped.info["total_gradient_evals"] == 20
