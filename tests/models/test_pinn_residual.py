"""The residual API of PINNs: derivative helpers, a user's own equations with several coefficients,
source terms and boundary conditions, checked with manufactured solutions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from uqlab.inference.starts import optimize_starts
from uqlab.models.equations import burgers_residual
from uqlab.models.likelihoods import Gaussian
from uqlab.models.pinn import (
    PINN,
    BurgersEquation,
    Condition,
    LogNormal,
    Normal,
    first_derivative,
    gradient,
    hessian,
    laplacian,
    second_derivative,
)

RNG = np.random.default_rng(0)
Z = jnp.asarray(RNG.uniform(-1, 1, (12, 2)))


def _field(z):
    """u = (sin(2x) y^2, x y): known first and second derivatives."""
    x, y = z[:, 0], z[:, 1]
    return jnp.stack([jnp.sin(2 * x) * y**2, x * y], axis=1)


def test_derivative_helpers_match_closed_forms():
    x, y = np.asarray(Z[:, 0]), np.asarray(Z[:, 1])
    value, grad = gradient(_field, Z)
    np.testing.assert_allclose(value, _field(Z), rtol=1e-6)
    expected_grad = np.stack([np.stack([2 * np.cos(2 * x) * y**2, 2 * np.sin(2 * x) * y], -1), np.stack([y, x], -1)], 1)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6)
    h = hessian(_field, Z)
    assert h.shape == (12, 2, 2, 2)
    u_xx, u_xy, u_yy = -4 * np.sin(2 * x) * y**2, 4 * np.cos(2 * x) * y, 2 * np.sin(2 * x)
    expected_h = np.stack([np.stack([np.stack([u_xx, u_xy], -1), np.stack([u_xy, u_yy], -1)], -2),
                           np.stack([np.stack([0 * x, 1 + 0 * x], -1), np.stack([1 + 0 * x, 0 * x], -1)], -2)], 1)
    np.testing.assert_allclose(h, expected_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(laplacian(_field, Z), np.stack([u_xx + u_yy, 0 * x], 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(laplacian(_field, Z, axes=[1]), np.stack([u_yy, 0 * x], 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(second_derivative(_field, Z, 0)[1][:, 0], u_xx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(first_derivative(_field, Z, 1)[1][:, 1], x, rtol=1e-6)


def test_burgers_through_the_residual_api_gives_the_same_numbers():
    """PINN(residual=burgers_residual, ...) and PINN(BurgersEquation()) are the same log density, bit for bit."""
    points = np.c_[RNG.uniform(-1, 1, 64), RNG.uniform(0, 1, 64)]
    built_in = PINN(BurgersEquation(), points, widths=(8, 8), adaptive_slopes=True)
    user = PINN(residual=burgers_residual, domain=((-1, 1), (0, 1)), collocation=points, widths=(8, 8),
                adaptive_slopes=True, coefficients={"nu": LogNormal(math.log(0.01), 1.0)})
    params = built_in.init(jax.random.PRNGKey(0))
    assert jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(user.init(jax.random.PRNGKey(0)))
    joint = lambda m: m.log_prior(params) + m.log_extra(params)  # noqa: E731
    assert joint(built_in) == joint(user)
    assert user.quantities(params).keys() == {"nu"}


def _fit(model, x, y, num_steps):
    """MAP by L-BFGS from the prior mean of the coefficients (one member)."""
    batch = {"x": jnp.asarray(x), "y": jnp.asarray(y)}

    def loss(p):
        return -(model.log_prior(p) + jnp.sum(model.log_likelihood(p, batch)) + model.log_extra(p))

    params = jax.tree_util.tree_map(lambda a: a[None], model.init(jax.random.PRNGKey(0)))
    params, _, _ = optimize_starts(lambda p: -loss(p), params, num_steps=0, learning_rate=1.0, lbfgs_steps=num_steps,
                                   progress=False, vectorize=False)
    return jax.tree_util.tree_map(lambda a: a[0], params)


def _reaction_diffusion(u, x, c):
    """D u'' - k u^3 (the source f is subtracted by the model)."""
    _, u_xx = second_derivative(u, x, 0)
    return c["D"] * u_xx - c["k"] * u(x) ** 3


def test_inverse_diffusion_reaction_recovers_k():
    """D u'' - k u^3 = f with u = sin(pi x) on [-1, 1], D = 0.01 known, k = 0.7 unknown (prior
    log k ~ N(0, 1), mean 1): noise-free u at 6 points and f at 32; the MAP k is within 5% of the
    truth (the net's error in u'' limits it: 1.6% after 300 L-BFGS steps, 3.2% after 600)."""
    D, k = 0.01, 0.7
    x_f = np.linspace(-1, 1, 32)[:, None]
    x_u = np.linspace(-1, 1, 6)[:, None]
    u = np.sin(np.pi * x_f)
    model = PINN(residual=_reaction_diffusion, domain=((-1, 1),), collocation=x_f,
                 source=-D * np.pi**2 * u - k * u**3, coefficients={"D": D, "k": LogNormal(0.0, 1.0)},
                 widths=(16, 16), likelihood=Gaussian(noise_scale=0.01), residual_scale=0.01)
    params = _fit(model, x_u, np.sin(np.pi * x_u), num_steps=600)
    assert float(model.quantities(params)["k"]) == pytest.approx(k, rel=0.05)


def _allen_cahn(u, x, c):
    """eps u'' + a (u - u^3), steady Allen-Cahn with two unknown coefficients."""
    value, u_xx = second_derivative(u, x, 0)
    return c["eps"] * u_xx + c["a"] * (value - value**3)


def test_two_coefficient_allen_cahn_manufactured_solution():
    """u = tanh(2x) sin(x): the residual is linear in (eps, a), so least squares on the helper's
    derivatives must recover the coefficients that made f; the PINN exposes both, with priors."""
    eps, a = 0.05, 1.3
    x = jnp.asarray(np.linspace(-1, 1, 40)[:, None])
    exact = lambda z: jnp.tanh(2 * z) * jnp.sin(z)  # noqa: E731
    f = _allen_cahn(exact, x, {"eps": eps, "a": a})
    columns = jnp.concatenate([_allen_cahn(exact, x, {"eps": 1.0, "a": 0.0}), _allen_cahn(exact, x, {"eps": 0.0, "a": 1.0})], 1)
    fitted = np.linalg.lstsq(np.asarray(columns, float), np.asarray(f, float)[:, 0], rcond=None)[0]
    np.testing.assert_allclose(fitted, [eps, a], rtol=1e-4)
    model = PINN(residual=_allen_cahn, domain=((-1, 1),), collocation=np.asarray(x), source=np.asarray(f),
                 coefficients={"eps": LogNormal(math.log(0.1), 1.0), "a": Normal(1.0, 0.5)}, widths=(8,))
    params = model.init(jax.random.PRNGKey(0))
    assert set(params) >= {"log_eps", "a"} and model.quantities(params).keys() == {"eps", "a"}
    grads = jax.grad(lambda p: model.log_extra(p) + model.log_prior(p))(params)
    assert float(jnp.abs(grads["log_eps"])) > 0 and float(jnp.abs(grads["a"])) > 0
    # the priors: N(log eps | log 0.1, 1) and N(a | 1, 0.5^2) enter log_prior exactly
    moved = {**params, "a": params["a"] + 0.5}
    assert float(model.log_prior(moved) - model.log_prior(params)) == pytest.approx(-0.5**2 / (2 * 0.5**2) * 1.0 - 0.0, abs=1e-5)


def test_poisson_2d_with_dirichlet_conditions():
    """-lap u = 2 pi^2 sin(pi x) sin(pi y) on [0, 1]^2, u = 0 on the boundary (Conditions only, no
    observations of u inside): the fitted field is within 5% relative L2 of sin(pi x) sin(pi y)."""
    exact = lambda z: np.sin(np.pi * z[:, 0]) * np.sin(np.pi * z[:, 1])  # noqa: E731
    rng = np.random.default_rng(1)
    interior = rng.uniform(0, 1, (200, 2))
    edge = np.linspace(0, 1, 16)
    boundary = np.concatenate([np.c_[edge, 0 * edge], np.c_[edge, 1 + 0 * edge], np.c_[0 * edge, edge], np.c_[1 + 0 * edge, edge]])
    model = PINN(residual=lambda u, z, c: -laplacian(u, z), domain=((0, 1), (0, 1)), collocation=interior,
                 source=2 * np.pi**2 * exact(interior)[:, None], coefficients={}, widths=(16, 16), residual_scale=0.1,
                 conditions=(Condition(boundary, np.zeros((64, 1)), scale=0.01),))
    assert not model.inverse and model.quantities({}) == {}
    params = _fit(model, np.zeros((0, 2)), np.zeros((0, 1)), num_steps=1000)
    test = rng.uniform(0, 1, (400, 2))
    predicted = np.asarray(model.fields(params, jnp.asarray(test)))[:, 0]
    assert np.linalg.norm(predicted - exact(test)) / np.linalg.norm(exact(test)) < 0.05


def test_neumann_condition_through_an_operator():
    """A Condition with an operator scores B[u] = du/dx, here of u = 3x: log N(3 | 3, s^2) at every point."""
    model = PINN(residual=lambda u, z, c: second_derivative(u, z, 0)[1], domain=((0, 1),), collocation=np.zeros((2, 1)),
                 coefficients={}, widths=(4,))
    condition = Condition(np.array([[0.0], [1.0]]), np.array([[3.0], [3.0]]), scale=0.5,
                          operator=lambda u, z, c: first_derivative(u, z, 0)[1])
    value = condition.log_prob(lambda z: 3 * z, {})
    assert float(value) == pytest.approx(2 * -math.log(0.5 * math.sqrt(2 * math.pi)), rel=1e-6)
    assert model.replace(conditions=(condition,)).log_extra(model.init(jax.random.PRNGKey(0))).shape == ()


@pytest.mark.parametrize(
    "settings, error, match",
    [
        ({"residual": burgers_residual}, ValueError, "domain"),
        ({"residual": burgers_residual, "domain": ((-1, 1), (0, 1)), "equation": BurgersEquation()}, ValueError, "residual"),
        ({"residual": "u_xx", "domain": ((-1, 1), (0, 1))}, TypeError, "residual"),
        ({"residual": burgers_residual, "domain": ((1, -1), (0, 1))}, ValueError, "domain"),
        ({"coefficients": {"nu": "0.01"}}, TypeError, "coefficients"),
        ({"coefficients": {"net": Normal()}}, ValueError, "reserved"),
        ({"coefficients": {"nu": LogNormal()}, "nu": 0.01}, ValueError, "nu"),
        ({"source": np.zeros((3, 1))}, ValueError, "source"),
        ({"source": np.zeros((4, 1)), "resample": True}, ValueError, "resample"),
        ({"conditions": ("u=0",)}, TypeError, "conditions"),
        ({"conditions": (Condition(np.zeros((2, 3)), np.zeros((2, 1))),)}, ValueError, "conditions"),
    ],
)
def test_bad_residual_settings(settings, error, match):
    with pytest.raises(error, match=match):
        PINN(**{"collocation": np.zeros((4, 2)), **settings})


def test_bad_condition_and_prior():
    with pytest.raises(ValueError, match="values"):
        Condition(np.zeros((3, 2)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="scale"):
        LogNormal(0.0, 0.0)
