"""Property-based tests (hypothesis) of the Predictive and the metrics (issue 13).

Properties, for random mixtures of 1-4 Gaussian members (and pure samples where they apply):
an affine change of units ``y -> a y + b`` moves every quantity as the maths says; permuting the
members changes nothing; ``S = 1`` agrees with the Gaussian closed forms (scipy); finite inputs
give finite outputs; ``cdf(quantile(q)) = q``. Few examples each (``max_examples``), no deadline:
the whole module runs in a few seconds.

The tolerances come from the float32 phases of the quantile solver and the CRPS kernel (relative
errors ~1e-6) and from float64 roundoff, scaled by the values' magnitudes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from uqlab.diagnostics import metrics
from uqlab.predictive import Predictive

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)
FLOATS = {"allow_nan": False, "allow_infinity": False}


@st.composite
def cases(draw, *, members=(1, 4), samples=False):
    """``(Predictive, y)`` with loc in [-100, 100], scales in [e^-3, e^3], y within 4 sd of the mean."""
    s = draw(st.integers(*members))
    n, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    values = st.lists(st.floats(-100, 100, **FLOATS), min_size=s * n * d, max_size=s * n * d)
    loc = np.asarray(draw(values)).reshape(s, n, d)
    if samples:
        pred = Predictive(loc)
    else:
        logs = st.lists(st.floats(-3, 3, **FLOATS), min_size=s * n * d, max_size=s * n * d)
        pred = Predictive(loc, np.exp(np.asarray(draw(logs)).reshape(s, n, d)))
    z = np.asarray(draw(st.lists(st.floats(-4, 4, **FLOATS), min_size=n * d, max_size=n * d))).reshape(n, d)
    return pred, pred.mean + z * np.maximum(pred.std, 1e-3)


AFFINE = st.tuples(st.floats(0.01, 100, **FLOATS), st.floats(-1000, 1000, **FLOATS))
SCALE_FREE = ["coverage"]
SCALE_ONE = ["rmse", "mae", "crps", "interval_width", "interval_score", "pinball", "sharpness"]


@SETTINGS
@given(cases(), AFFINE)
def test_affine_change_of_units(case, ab):
    pred, y = case
    a, b = ab
    moved, y2 = pred.affine(b, a), a * y + b
    magnitude = np.abs(b) + a * (np.abs(pred.loc).max() + pred.std.max())
    np.testing.assert_allclose(moved.mean, a * pred.mean + b, rtol=1e-12, atol=1e-12 * magnitude)
    np.testing.assert_allclose(moved.std, a * pred.std, rtol=1e-9, atol=1e-12 * magnitude)
    np.testing.assert_allclose(moved.cdf(y2), pred.cdf(y), atol=1e-9)
    np.testing.assert_allclose(moved.logpdf(y2), pred.logpdf(y) - np.log(a), rtol=1e-8, atol=1e-8)
    q = np.array([0.05, 0.5, 0.95])
    np.testing.assert_allclose(moved.quantile(q), a * pred.quantile(q) + b, rtol=1e-6, atol=1e-6 * magnitude)
    for name in SCALE_ONE:
        fn = getattr(metrics, name)
        args = (moved,) if name in ("interval_width", "sharpness") else (moved, y2)
        base = (pred,) if name in ("interval_width", "sharpness") else (pred, y)
        assert fn(*args) == pytest.approx(a * fn(*base), rel=1e-5, abs=1e-6 * magnitude), name
    assert metrics.nll(moved, y2) == pytest.approx(metrics.nll(pred, y) + np.log(a), rel=1e-8, abs=1e-8)
    assert metrics.coverage(moved, y2) == metrics.coverage(pred, y) or np.any(
        np.isclose(np.array(pred.interval(0.9)), y, rtol=1e-6))  # a target on an interval end may flip


@SETTINGS
@given(cases(members=(2, 4)), st.randoms(use_true_random=False))
def test_member_order_does_not_matter(case, rnd):
    pred, y = case
    order = list(range(pred.num_members))
    rnd.shuffle(order)
    other = Predictive(pred.loc[order], pred.scale[order])
    np.testing.assert_allclose(other.mean, pred.mean, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(other.var, pred.var, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(other.cdf(y), pred.cdf(y), atol=1e-12)
    np.testing.assert_allclose(other.logpdf(y), pred.logpdf(y), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(other.quantile(0.3), pred.quantile(0.3), rtol=1e-7, atol=1e-6)
    for name in ("crps", "nll", "interval_score"):
        assert getattr(metrics, name)(other, y) == pytest.approx(getattr(metrics, name)(pred, y), rel=1e-6, abs=1e-8)


@SETTINGS
@given(cases(members=(1, 1)))
def test_single_member_is_the_gaussian_closed_form(case):
    pred, y = case
    mu, sigma = pred.loc[0], pred.scale[0]
    np.testing.assert_allclose(pred.cdf(y), stats.norm.cdf(y, mu, sigma), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(pred.logpdf(y), stats.norm.logpdf(y, mu, sigma), rtol=1e-10, atol=1e-10)
    q = np.array([0.01, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(pred.quantile(q), stats.norm.ppf(q[:, None, None], mu, sigma), rtol=1e-8,
                               atol=1e-8 * (np.abs(mu) + sigma).max())
    z = (y - mu) / sigma
    closed = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert metrics.crps(pred, y) == pytest.approx(closed.mean(), rel=1e-5, abs=1e-6 * sigma.max())
    assert metrics.nll(pred, y) == pytest.approx(-stats.norm.logpdf(y, mu, sigma).mean(), rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(pred.var, sigma**2, rtol=1e-12)


@SETTINGS
@given(st.one_of(cases(), cases(samples=True)))
def test_finite_inputs_give_finite_outputs(case):
    pred, y = case
    outputs = [pred.mean, pred.var, pred.cdf(y), pred.logpdf(y), pred.quantile(np.array([0.001, 0.5, 0.999])),
               *pred.interval(0.9), pred.sample(3, rng=0)]
    outputs += [np.asarray(v) for v in metrics.evaluate(pred, y).values()]
    for value in outputs:
        assert np.all(np.isfinite(value))


@SETTINGS
@given(cases(), st.lists(st.floats(0.001, 0.999, **FLOATS), min_size=1, max_size=4))
def test_quantile_and_cdf_round_trip(case, levels):
    pred, _ = case
    levels = np.asarray(levels)
    x = pred.quantile(levels)
    for level, row in zip(levels, x):
        np.testing.assert_allclose(pred.cdf(row), level, atol=1e-9)
