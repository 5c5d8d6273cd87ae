"""Core metrics of the foundation against independent implementations and exact answers."""

import numpy as np
import properscoring
import pytest
from scipy import stats

from uqlab import Predictive
from uqlab.diagnostics import calibration, metrics


def _gaussian(n=2000, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    loc = rng.normal(size=(1, n, 1))
    y = loc[0] + rng.standard_normal((n, 1))
    return Predictive(loc, np.full_like(loc, scale)), y


def test_crps_single_gaussian_matches_properscoring():
    pred, y = _gaussian(200)
    expected = properscoring.crps_gaussian(y, pred.loc[0], pred.scale[0])
    np.testing.assert_allclose(metrics.crps_values(pred, y), expected, rtol=1e-10)


class _MixtureCDF:
    """A scalar Gaussian mixture exposing ``cdf`` for properscoring's quadrature CRPS."""

    def __init__(self, loc, scale):
        self.loc, self.scale = loc, scale

    def cdf(self, x):
        return stats.norm.cdf((np.asarray(x)[..., None] - self.loc) / self.scale).mean(-1)


def test_crps_mixture_matches_properscoring_quadrature():
    rng = np.random.default_rng(1)
    pred = Predictive(rng.normal(size=(3, 5, 1)), rng.uniform(0.5, 1.0, (3, 5, 1)))
    y = rng.normal(size=(5, 1))
    reference = [
        properscoring.crps_quadrature(y[n, 0], _MixtureCDF(pred.loc[:, n, 0], pred.scale[:, n, 0]), xmin=-15, xmax=15)
        for n in range(5)
    ]
    np.testing.assert_allclose(metrics.crps_values(pred, y)[:, 0], reference, rtol=1e-6)


def test_crps_blocking_does_not_change_values():
    rng = np.random.default_rng(3)
    pred = Predictive(rng.normal(size=(7, 30, 2)), rng.uniform(0.5, 1.0, (7, 30, 2)))
    y = rng.normal(size=(30, 2))
    np.testing.assert_allclose(
        metrics.crps_values(pred, y, block_elements=49), metrics.crps_values(pred, y), rtol=1e-12
    )


def _crps_float64_all_pairs(pred, y):
    """Reference: the mixture CRPS with every (i, j) pair in float64 and scipy's exact normal CDF."""
    s = pred.num_members
    loc, var = pred.loc.reshape(s, -1), (pred.scale**2).reshape(s, -1)
    first = np.mean(metrics._expected_abs_normal(loc - y.reshape(1, -1), var), axis=0)
    half_pairs = sum(np.sum(metrics._expected_abs_normal(loc - loc[i], var + var[i]), axis=0) for i in range(s)) / (2 * s**2)
    return first - half_pairs, half_pairs


@pytest.mark.parametrize("units, offset", [(1.0, 0.0), (1e-9, 3e-6), (1e7, 5e9)])
def test_crps_float32_pair_term_within_its_error_bound(units, offset):
    """The documented bound: |error| <= 1e-5 * E|X - X'| / 2 per target, in any units (float32 works
    on standardised members), for many members, wide and narrow mixtures and far targets."""
    rng = np.random.default_rng(7)
    s, n = 60, 400
    spread = np.exp(rng.uniform(-4, 3, (1, n, 1)))  # member means from tight to far apart
    pred = Predictive(offset + units * spread * rng.normal(size=(s, n, 1)), units * np.exp(rng.uniform(-3, 1, (s, n, 1))))
    y = pred.mean + units * rng.standard_cauchy(size=(n, 1))
    reference, half_pairs = _crps_float64_all_pairs(pred, y)
    error = np.abs(metrics.crps_values(pred, y)[:, 0] - reference)
    assert np.all(error <= 1e-5 * half_pairs)
    # And one target against properscoring's quadrature, in standardised units (CRPS is shift- and scale-equivariant).
    mixture = _MixtureCDF((pred.loc[:, 0, 0] - offset) / units, pred.scale[:, 0, 0] / units)
    width = 12 * (spread[0, 0, 0] + 3)
    quadrature = properscoring.crps_quadrature((y[0, 0] - offset) / units, mixture, xmin=-width, xmax=width)
    assert metrics.crps_values(pred[0], y[:1])[0, 0] / units == pytest.approx(quadrature, rel=1e-5)


def test_crps_threads_give_the_same_values(monkeypatch):
    from uqlab import _mixture

    rng = np.random.default_rng(8)
    pred = Predictive(rng.normal(size=(9, 50, 2)), rng.uniform(0.5, 1.0, (9, 50, 2)))
    y = rng.normal(size=(50, 2))
    serial = metrics.crps_values(pred, y, block_elements=90)
    blockwise = _mixture.blockwise
    monkeypatch.setattr(metrics, "blockwise", lambda *a, **k: blockwise(*a, **{**k, "min_work": 0}))
    np.testing.assert_array_equal(metrics.crps_values(Predictive(pred.loc, pred.scale), y, block_elements=90), serial)


def test_crps_of_samples_matches_properscoring():
    rng = np.random.default_rng(4)
    samples = rng.normal(size=(50, 8, 1))
    y = rng.normal(size=(8, 1))
    expected = properscoring.crps_ensemble(y[:, 0], samples[..., 0].T)
    np.testing.assert_allclose(metrics.crps_values(Predictive(samples), y)[:, 0], expected, rtol=1e-10)


def test_nll_matches_scipy():
    pred, y = _gaussian(100, scale=0.7)
    expected = -stats.norm.logpdf(y, pred.loc[0], 0.7).mean()
    assert metrics.nll(pred, y) == pytest.approx(expected, rel=1e-12)


def test_rmse():
    pred = Predictive(np.array([[[1.0], [2.0]]]), np.ones((1, 2, 1)))
    assert metrics.rmse(pred, np.array([0.0, 0.0])) == pytest.approx(np.sqrt(2.5))


def test_coverage_known_exactly():
    # Targets at known standardised positions: exactly 6 of 10 inside the central 90% interval.
    z = np.array([-3, -2, -1.5, -1, 0, 0.5, 1, 1.6, 2, 3.0])[:, None]
    pred = Predictive(np.zeros((1, 10, 1)), np.ones((1, 10, 1)))
    assert metrics.coverage(pred, z, 0.9) == pytest.approx(0.6)
    assert metrics.interval_width(pred, 0.9) == pytest.approx(2 * stats.norm.ppf(0.95))


def test_calibrated_gaussian_coverage_within_binomial_error():
    pred, y = _gaussian(4000)
    for level in (0.5, 0.9, 0.95):
        se = np.sqrt(level * (1 - level) / 4000)
        assert abs(metrics.coverage(pred, y, level) - level) < 4 * se
    assert calibration.miscalibration_area(pred, y) < 0.03


def test_overconfident_predictive_has_low_coverage_and_curve_below_diagonal():
    pred, y = _gaussian(4000, scale=0.5)
    assert metrics.coverage(pred, y, 0.9) < 0.7
    expected, observed = calibration.calibration_curve(pred, y)
    upper = expected > 0.5
    assert np.all(observed[upper] < expected[upper])
    assert calibration.miscalibration_area(pred, y) > 0.1


def test_pit_is_uniform_when_calibrated():
    pred, y = _gaussian(3000, seed=5)
    assert stats.kstest(calibration.pit(pred, y).ravel(), "uniform").pvalue > 1e-3


def test_evaluate_by_name_and_unknown_name():
    pred, y = _gaussian(50)
    out = metrics.evaluate(pred, y, ["nll", "coverage@0.8", "width@0.5"])
    assert set(out) == {"nll", "coverage@0.8", "width@0.5"}
    with pytest.raises(ValueError, match="unknown metric 'brier'"):
        metrics.evaluate(pred, y, ["brier"])
    with pytest.raises(ValueError, match="level in metric 'coverage@1.5'"):
        metrics.evaluate(pred, y, ["coverage@1.5"])
