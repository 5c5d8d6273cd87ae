"""Predictive: moments, densities, quantiles and sampling against closed forms and scipy."""

import numpy as np
import pytest
from scipy import stats

from uqlab import Predictive


@pytest.fixture
def mixture():
    rng = np.random.default_rng(0)
    loc = rng.normal(size=(4, 6, 2))
    scale = rng.uniform(0.3, 1.5, size=(4, 6, 2))
    return Predictive(loc, scale)


def test_moments_follow_the_law_of_total_variance(mixture):
    np.testing.assert_allclose(mixture.mean, mixture.loc.mean(0))
    np.testing.assert_allclose(mixture.epistemic_var, mixture.loc.var(0))
    np.testing.assert_allclose(mixture.aleatoric_var, (mixture.scale**2).mean(0))
    second_moment = (mixture.scale**2 + mixture.loc**2).mean(0)
    np.testing.assert_allclose(mixture.var, second_moment - mixture.mean**2)
    np.testing.assert_allclose(mixture.std, np.sqrt(mixture.var))


def test_logpdf_and_cdf_match_scipy(mixture):
    y = np.random.default_rng(1).normal(size=(6, 2))
    dens = stats.norm.pdf(y[None], mixture.loc, mixture.scale).mean(0)
    np.testing.assert_allclose(mixture.logpdf(y), np.log(dens), rtol=1e-10)
    cdf = stats.norm.cdf(y[None], mixture.loc, mixture.scale).mean(0)
    np.testing.assert_allclose(mixture.cdf(y), cdf, rtol=1e-10)


def test_quantile_inverts_cdf(mixture):
    q = np.array([0.05, 0.5, 0.975])
    values = mixture.quantile(q)
    assert values.shape == (3, 6, 2)
    for level, v in zip(q, values):
        np.testing.assert_allclose(mixture.cdf(v), level, atol=1e-8)


@pytest.mark.parametrize("units", [1.0, 1e-8, 1e6])
def test_fast_and_exact_quantiles_meet_their_tolerances(units):
    rng = np.random.default_rng(2)
    # Wide, tight and bimodal mixtures, far from the origin in any units.
    loc = units * (1e3 + rng.normal(size=(20, 300, 1)) * np.exp(rng.uniform(-3, 3, (1, 300, 1))))
    loc[:10, :50] += units * 40.0  # bimodal points
    pred = Predictive(loc, units * rng.uniform(0.05, 1.0, (20, 300, 1)))
    levels = np.array([1e-4, 0.05, 0.5, 0.95, 0.999])
    for fast, tol in ((True, 1e-6), (False, 1e-12)):
        for level, x in zip(levels, pred.quantile(levels, fast=fast)):
            assert np.max(np.abs(pred.cdf(x) - level)) < tol, (fast, level)


def test_logpdf_far_in_the_tails_matches_logsumexp():
    from scipy import special

    pred = Predictive(np.array([[[0.0]], [[1.0]]]), np.array([[[1e-3]], [[2.0]]]))
    y = np.array([[400.0]])  # exp(-z^2/2) underflows for both members
    z = (y[None] - pred.loc) / pred.scale
    expected = special.logsumexp(-0.5 * z**2 - np.log(pred.scale) - 0.5 * np.log(2 * np.pi), axis=0) - np.log(2)
    np.testing.assert_allclose(pred.logpdf(y), expected, rtol=1e-12)


def test_predictive_arrays_and_moments_are_read_only(mixture):
    for array in (mixture.loc, mixture.scale, mixture.mean, mixture.var, mixture.std):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0.0


def test_blockwise_threads_cover_every_block_and_reraise():
    from uqlab._mixture import blockwise

    out = np.zeros(103)

    def fill(cols):
        out[cols] += np.arange(103)[cols] + 1

    blockwise(fill, 103, 10, work=1.0, min_work=0.0)
    np.testing.assert_array_equal(out, np.arange(103) + 1)

    def fail(cols):
        raise RuntimeError("block failed")

    with pytest.raises(RuntimeError, match="block failed"):
        blockwise(fail, 103, 10, work=1.0, min_work=0.0)


def test_single_gaussian_quantile_and_interval():
    pred = Predictive(np.zeros((1, 3, 1)), np.full((1, 3, 1), 2.0))
    lower, upper = pred.interval(0.9)
    np.testing.assert_allclose(upper, 2.0 * stats.norm.ppf(0.95))
    np.testing.assert_allclose(lower, -upper)


def test_sample_moments_within_monte_carlo_error(mixture):
    draws = mixture.sample(40_000, rng=3)
    assert draws.shape == (40_000, 6, 2)
    se_mean = np.sqrt(mixture.var / 40_000)
    assert np.all(np.abs(draws.mean(0) - mixture.mean) < 5 * se_mean)


def test_pure_samples_use_empirical_cdf_and_quantiles():
    loc = np.arange(10.0).reshape(10, 1, 1)
    pred = Predictive(loc)
    assert pred.is_sample
    np.testing.assert_allclose(pred.cdf(np.array([[4.0]])), 0.5)
    np.testing.assert_allclose(pred.quantile(0.5), np.median(loc, axis=0))
    assert np.isfinite(pred.logpdf(np.array([[4.5]]))).all()
    np.testing.assert_allclose(pred.aleatoric_var, 0.0)


def test_affine_undoes_standardisation(mixture):
    moved = mixture.affine(np.array([1.0, -2.0]), np.array([2.0, 0.5]))
    np.testing.assert_allclose(moved.mean, 1.0 * np.array([1, 0]) + mixture.mean * [2.0, 0.5] + [0, -2.0])
    np.testing.assert_allclose(moved.std, mixture.std * [2.0, 0.5])


def test_indexing_and_thinning(mixture):
    assert mixture[1:3].shape == (2, 2)
    assert mixture.thin(2).num_members == 2


@pytest.mark.parametrize(
    "loc, scale, match",
    [
        (np.zeros((2, 3)), None, "loc: expected an array of shape"),
        (np.full((1, 2, 1), np.nan), None, "loc: expected finite"),
        (np.zeros((1, 2, 1)), np.zeros((1, 2, 1)), "scale: expected strictly positive"),
        (np.zeros((1, 2, 1)), np.full((1, 2, 1), np.inf), "scale: expected finite"),
    ],
)
def test_bad_members_raise(loc, scale, match):
    with pytest.raises(ValueError, match=match):
        Predictive(loc, scale)


def test_bad_arguments_raise(mixture):
    with pytest.raises(ValueError, match=r"y: expected shape \(6, 2\)"):
        mixture.logpdf(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="y: expected finite"):
        mixture.cdf(np.full((6, 2), np.nan))
    with pytest.raises(ValueError, match="level: expected a value strictly between 0 and 1"):
        mixture.interval(1.2)
    with pytest.raises(ValueError, match="n: expected an integer >= 1"):
        mixture.sample(0)
