"""diffusion-reaction-inverse: data, the user's own observations, bad input, and a tiny comparison."""

import numpy as np
import pytest

from uqlab import problems
from uqlab.problems import diffusion_reaction as dr


def test_generated_data_and_manufactured_source():
    p = problems.load("diffusion-reaction-inverse")
    assert p.data.x.shape == (8, 1) and p.data.extras["collocation"].shape == (32, 1)
    assert p.data.x[0, 0] == -0.7 and p.data.x[1, 0] == 0.7  # both boundary points measured
    assert p.truth["k"] == 0.7 and p.quantities == ("k",)
    # f = D u'' + k tanh(u): the closed-form u'' against a central difference
    x, h = np.linspace(-0.6, 0.6, 7), 1e-4
    u_xx = (dr.exact_u(x + h) - 2 * dr.exact_u(x) + dr.exact_u(x - h)) / h**2
    np.testing.assert_allclose(dr.source(x), 0.01 * u_xx + 0.7 * np.tanh(dr.exact_u(x)), atol=1e-4)
    # noise sd 0.1 on f: 32 residuals, sample sd within 5 s.e. (relative s.e. 1/sqrt(64))
    residual = p.data.extras["source"][:, 0] - dr.source(p.data.extras["collocation"][:, 0])
    assert residual.std() == pytest.approx(0.1, rel=5 / 8)
    model = p.make_model()
    assert dict(model.coefficient_specs)["D"] == 0.01 and model.inverse and not model.resample


def test_user_observations_replace_the_generated_ones():
    rng = np.random.default_rng(1)
    x_u, x_f = np.array([[-0.7], [0.0], [0.7]]), np.linspace(-0.7, 0.7, 10)[:, None]
    obs = {"x_u": x_u, "u": dr.exact_u(x_u), "x_f": x_f, "f": dr.source(x_f) + 0.1 * rng.standard_normal((10, 1))}
    p = problems.load("diffusion-reaction-inverse", observations=obs)
    np.testing.assert_array_equal(p.data.x, x_u)
    np.testing.assert_array_equal(p.make_model().source.values, obs["f"])
    unknown = problems.load("diffusion-reaction-inverse", observations=obs, reference=False)
    assert unknown.truth["k"] is None and unknown.data.x_test.shape == (3, 1)


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"u": None}, ValueError, "missing \\['u'\\]"),
        ({"y": np.zeros((3, 1))}, ValueError, "unknown \\['y'\\]"),
        ({"u": np.zeros(3)}, ValueError, "observations\\['u'\\]: expected shape \\(n, 1\\)"),
        ({"f": np.zeros((4, 1))}, ValueError, "observations\\['f'\\]: expected 10 rows"),
        ({"x_f": np.full((10, 1), 2.0)}, ValueError, "observations\\['x_f'\\]: expected points in the domain"),
        ({"u": np.array([[0.0], [np.nan], [0.0]])}, ValueError, "finite"),
        ({"u": np.array([["a"], ["b"], ["c"]])}, TypeError, "numeric"),
    ],
)
def test_bad_observations_name_the_key(change, error, match):
    x_f = np.linspace(-0.7, 0.7, 10)[:, None]
    obs = {"x_u": np.array([[-0.7], [0.0], [0.7]]), "u": np.zeros((3, 1)), "x_f": x_f, "f": np.zeros((10, 1))}
    obs = {k: v for k, v in {**obs, **change}.items() if v is not None}
    with pytest.raises(error, match=match):
        problems.load("diffusion-reaction-inverse", observations=obs)
    with pytest.raises(TypeError, match="observations: expected a dict"):
        problems.load("diffusion-reaction-inverse", observations=[1, 2])


def test_burgers_takes_observations_too():
    from uqlab.problems import burgers

    x = np.array([[0.0, 0.5], [0.5, 0.25]])
    p = burgers.inverse(num_x=64, num_t=21, quick=True, num_obs=50, num_collocation=20,
                        observations={"x": x, "y": np.zeros((2, 1))})
    np.testing.assert_array_equal(p.data.x, x)
    with pytest.raises(ValueError, match="observations\\['x'\\]: expected shape \\(n, 2\\)"):
        burgers.inverse(num_x=64, num_t=21, quick=True, num_collocation=20, observations={"x": x[:, :1], "y": np.zeros((2, 1))})


def test_tiny_comparison_reports_k():
    from uqlab.study import compare

    p = problems.load("diffusion-reaction-inverse", quick=True)
    comparison = compare([p.method("ensemble", num_members=2, num_steps=50)], problem=p)
    assert comparison.sections[-1]["title"].startswith("Field") and comparison.sections[-1]["png"]
    from uqlab.problems.pde import coefficient_summary

    summary = coefficient_summary(comparison)
    assert set(summary) == {"ensemble"} and summary["ensemble"]["k"]["truth"] == 0.7
    assert summary["ensemble"]["k"]["covers"] in (True, False) and summary["ensemble"]["k"]["rhat"] is None
