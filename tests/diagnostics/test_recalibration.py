"""Recalibration and split conformal intervals: known fixes and the finite-sample guarantee."""

import numpy as np
import pytest

from uqlab import Predictive
from uqlab.diagnostics import calibration, recalibration

from .conftest import gaussian_case


def test_variance_scaling_recovers_the_true_width():
    pred, y = gaussian_case(0.5, n=4000)
    fitted = recalibration.fit_variance_scaling(pred, y)
    # ML for one Gaussian: s^2 = mean z^2 (closed form), which is ~4 here.
    z2 = np.mean((y - pred.mean) ** 2 / pred.var)
    assert fitted.factor == pytest.approx(np.sqrt(z2), rel=1e-4)
    assert calibration.verdict(fitted.apply(pred), y)["label"] == "calibrated"


def test_variance_scaling_keeps_mixture_mean_and_scales_variance():
    rng = np.random.default_rng(0)
    pred = Predictive(rng.normal(size=(5, 20, 2)), rng.uniform(0.5, 1, (5, 20, 2)))
    scaled = recalibration.VarianceScaling(3.0).apply(pred)
    np.testing.assert_allclose(scaled.mean, pred.mean)
    np.testing.assert_allclose(scaled.var, 9 * pred.var)


@pytest.mark.parametrize("width", [0.5, 2.0])
def test_isotonic_recalibration_fixes_calibration_on_new_data(width):
    pred, y = gaussian_case(width, n=3000, seed=1)
    iso = recalibration.fit_isotonic(pred[:1500], y[:1500])
    before = calibration.miscalibration_area(pred[1500:], y[1500:])
    after = recalibration.fit_isotonic(pred[:1500], y[:1500]).apply(pred[1500:])
    assert after.is_sample and after.num_members == 99
    assert calibration.miscalibration_area(after, y[1500:]) < min(0.03, before / 3)
    assert iso(0.0) == 0.0 and iso(1.0) == 1.0 and np.all(np.diff(iso.values) >= 0)


@pytest.mark.parametrize("score", ["normalized", "cqr"])
def test_split_conformal_finite_sample_coverage(score):
    """Over many random splits, mean coverage lies in [level, level + 1/(n+1)] up to MC error."""
    rng = np.random.default_rng(2)
    level, n_cal, n_test, splits = 0.8, 29, 50, 600
    # A misspecified heteroscedastic model: too narrow and biased.
    mu = rng.normal(size=(1, n_cal + n_test, 1))
    pred = Predictive(mu, np.full_like(mu, 0.4))
    coverages = []
    for _ in range(splits):
        y = mu[0] + 0.3 + rng.standard_t(5, size=(n_cal + n_test, 1))
        order = rng.permutation(n_cal + n_test)
        cal, test = order[:n_cal], order[n_cal:]
        lower, upper = recalibration.conformal_interval(pred[cal], y[cal], pred[test], level, score=score)
        coverages.append(np.mean((y[test] >= lower) & (y[test] <= upper)))
    mean, se = np.mean(coverages), np.std(coverages) / np.sqrt(splits)
    assert level - 4 * se <= mean <= level + 1 / (n_cal + 1) + 4 * se


def test_conformal_rejects_too_small_calibration_set_and_bad_level():
    pred, y = gaussian_case(1.0, n=20)
    with pytest.raises(ValueError, match="too small for level 0.99; split conformal needs n >= 99"):
        recalibration.conformal_interval(pred, y, pred, 0.99)
    with pytest.raises(ValueError, match="level: expected a value strictly between 0 and 1"):
        recalibration.conformal_interval(pred, y, pred, 1.0)
    with pytest.raises(ValueError, match="y_cal: expected shape"):
        recalibration.conformal_interval(pred, y[:5], pred, 0.5)
    with pytest.raises(ValueError, match="score: expected one of"):
        recalibration.conformal_interval(pred, y, pred, 0.5, score="bogus")
    with pytest.raises(TypeError, match="pred_test: expected a uqlab.Predictive"):
        recalibration.conformal_interval(pred, y, pred.loc, 0.5)
    y_nan = y.copy()
    y_nan[0] = np.nan
    for fit in (recalibration.fit_isotonic, recalibration.fit_variance_scaling):
        with pytest.raises(ValueError, match="y_cal: expected finite values"):
            fit(pred, y_nan)
