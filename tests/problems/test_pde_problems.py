"""Neural-PDE problems: shapes, noise, seeds, truth, bad input, and a tiny end-to-end comparison."""

import numpy as np
import pytest

from uqlab import problems
from uqlab.problems import burgers, navier_stokes

SMALL = {"num_x": 64, "num_t": 21, "quick": True}


@pytest.fixture(scope="module")
def burgers_inverse():
    return burgers.inverse(num_obs=300, num_collocation=50, **SMALL)


def test_burgers_shapes_truth_and_noise(burgers_inverse):
    p = burgers_inverse
    assert p.data.x.shape == (300, 2) and p.data.y.shape == (300, 1)
    assert p.data.x_test.shape == (6 * 17, 2) and p.truth["test_grid_shape"] == (6, 17)
    assert p.truth["nu"] == pytest.approx(burgers.NU_CLASSIC) and p.quantities == ("nu",)
    assert p.data.extras["collocation"].shape == (50, 2)
    assert not p.data.standardize
    exact = burgers.solve(p.truth["nu"], p.data.x[:, 0], np.unique(p.data.x[:, 1]))
    t_index = np.searchsorted(np.unique(p.data.x[:, 1]), p.data.x[:, 1])
    residual = p.data.y[:, 0] - exact[t_index, np.arange(300)]
    # sample standard deviation of 300 normal draws: relative s.e. 1/sqrt(600) ~ 4%; allow 5 s.e.
    assert residual.std() == pytest.approx(p.truth["noise_scale"], rel=0.2)
    model = p.make_model()
    assert model.nu is None and model.collocation.values.shape == (50, 2)


def test_seed_reproducible_and_forward_knows_nu():
    a, b = burgers.forward(seed=3, num_obs=100, num_collocation=20, **SMALL), burgers.forward(seed=3, num_obs=100, num_collocation=20, **SMALL)
    c = burgers.forward(seed=4, num_obs=100, num_collocation=20, **SMALL)
    np.testing.assert_array_equal(a.data.y, b.data.y)
    assert not np.array_equal(a.data.y, c.data.y)
    assert a.quantities == () and a.make_model().nu == pytest.approx(burgers.NU_CLASSIC)


def test_navier_stokes_problem():
    p = navier_stokes.inverse(quick=True, n=16, num_t=3, num_obs=200, num_collocation=30)
    assert p.data.x.shape == (200, 3) and p.truth["test_grid_shape"] == (3, 9, 9)
    assert p.truth["nu"] == 0.05 and p.make_model().equation.d_in == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [({"num_obs": 0}, "num_obs"), ({"noise": -0.1}, "noise"), ({"num_collocation": 0}, "num_collocation"),
     ({"nu": 0.0}, "nu"), ({"num_obs": 10**9}, "num_obs"), ({"full": True}, "full")],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        burgers.inverse(**{**SMALL, **kwargs})


def test_unknown_problem():
    with pytest.raises(ValueError, match="problem"):
        problems.load("burgers-sideways")


def test_registered():
    assert {"burgers-forward", "burgers-inverse", "ns-forward", "ns-inverse"} <= set(problems.problem_names())


def test_tiny_inverse_comparison_has_coefficient_section(burgers_inverse):
    from uqlab.study import compare

    p = burgers_inverse
    methods = [p.method("ensemble", num_members=2, num_steps=30), p.method("mc_dropout", num_steps=30, num_passes=5)]
    comparison = compare(methods, problem=p)
    from uqlab.diagnostics.report import Report

    titles = [s["title"] for s in comparison.sections]
    assert titles[0] == "Over- or under-confidence over the latent field" and "nu" in comparison.quantities["ensemble"]
    assert "ensemble" in comparison.sections[0]["html"] and comparison.sections[1]["png"]
    coefficients = Report(comparison).to_dict()["coefficients"]  # the report's own coefficient table
    assert coefficients["ensemble"]["nu"]["truth"] == p.truth["nu"] and coefficients["ensemble"]["nu"]["rhat"] is None


def test_inverse_pipeline_recovers_nu_in_a_tiny_setting():
    """A smooth case (nu = 0.05, no steep shock), 400 observations, 200 collocation points: two
    MAP-trained members must both find nu within 10%, starting from the prior mean 0.01 (-80%)."""
    import uqlab

    p = burgers.inverse(nu=0.05, num_x=64, num_t=21, num_obs=400, num_collocation=200, quick=True)
    post = uqlab.fit(p.make_model(), p.data, "ensemble", key=0, num_members=2, num_steps=400, learning_rate=1e-2,
                     progress=False)
    nu = np.asarray(post.quantity("nu").loc).ravel()
    np.testing.assert_allclose(nu, 0.05, rtol=0.1)


def test_burgers_method_settings_start_chains_from_map():
    p = burgers.inverse(num_obs=100, num_collocation=20, **SMALL)
    method = p.method("nuts")
    assert method.init == "map" and method.init_steps > 0
    assert p.make_model().adaptive_slopes and p.method("nuts", num_chains=3).num_chains == 3
    mclmc, nuts = p.method("mclmc"), p.method("nuts")  # MCLMC starts where NUTS does
    starts = ("init", "init_steps", "init_learning_rate", "init_lbfgs_steps", "vectorize")
    assert [getattr(mclmc, k) for k in starts] == [getattr(nuts, k) for k in starts]


def test_burgers_default_samples_many_fixed_points_and_trains_on_fewer_fresh_ones():
    """Default mode: the samplers' posterior has 4,000 fixed collocation points, training steps draw
    1,000 fresh ones, and NUTS finishes its Adam starts with L-BFGS (quick mode does neither)."""
    default = burgers.inverse(num_x=64, num_t=21, num_obs=300)
    model = default.make_model()
    assert len(model.collocation) == 4000 and model.resample and model.resample_size == 1000
    assert default.method("nuts").init_lbfgs_steps > 0
    quick = burgers.inverse(num_obs=100, num_collocation=20, **SMALL)
    assert quick.make_model().resample_size is None and quick.method("nuts").init_lbfgs_steps == 0
    # a user's smaller fixed set caps the fresh points
    assert burgers.inverse(num_x=64, num_t=21, num_obs=300, num_collocation=300).make_model().resample_size == 300


def test_confidence_summary_scores_the_latent_field():
    """Truth drawn like the members (calibrated) vs members half as spread (over-confident)."""
    from types import SimpleNamespace

    from uqlab.predictive import Predictive
    from uqlab.problems.pde import confidence_summary

    rng = np.random.default_rng(0)
    n, s = 4000, 400
    centre = rng.normal(size=n)
    truth = centre + rng.normal(size=n)
    calibrated = Predictive(centre[None, :, None] + rng.normal(size=(s, n, 1)), np.full((s, n, 1), 0.3))
    narrow = Predictive(centre[None, :, None] + 0.5 * rng.normal(size=(s, n, 1)), np.full((s, n, 1), 0.3))
    comparison = SimpleNamespace(truth={"f_test": truth, "noise_scale": 0.3},
                                 predictives={"calibrated": calibrated, "narrow": narrow})
    summary = confidence_summary(comparison)
    # coverage of 4000 points: s.e. sqrt(0.9 * 0.1 / 4000) ~ 0.005; allow 4 s.e.
    assert summary["calibrated"]["coverage_90"] == pytest.approx(0.9, abs=0.02)
    assert summary["calibrated"]["verdict"] == "calibrated"
    # half the spread: P(|Z| <= 1.645 / 2) = 0.589
    assert summary["narrow"]["coverage_90"] == pytest.approx(0.589, abs=0.03)
    assert summary["narrow"]["verdict"].startswith("over-confident")
