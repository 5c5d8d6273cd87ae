"""Every metric against an independent implementation or a closed form, and the name registry."""

import numpy as np
import properscoring
import pytest
from scipy import integrate, stats

from uqlab import Predictive
from uqlab.diagnostics import calibration, metrics
from uqlab.diagnostics.classification import evaluate_classification

from .conftest import gaussian_case, mixture_case


def test_crps_mixture_matches_numerical_integral():
    rng = np.random.default_rng(1)
    pred = Predictive(rng.normal(size=(4, 3, 1)), rng.uniform(0.3, 1.0, (4, 3, 1)))
    y = rng.normal(size=(3, 1))
    for n in range(3):
        cdf = lambda z, n=n: np.mean(stats.norm.cdf(z, pred.loc[:, n, 0], pred.scale[:, n, 0]))
        # CRPS = int_{-inf}^{y} F^2 + int_{y}^{inf} (1 - F)^2 (Gneiting & Raftery, 2007).
        reference = integrate.quad(lambda z, cdf=cdf: cdf(z) ** 2, -np.inf, y[n, 0])[0]
        reference += integrate.quad(lambda z, cdf=cdf: (1 - cdf(z)) ** 2, y[n, 0], np.inf)[0]
        assert metrics.crps_values(pred, y)[n, 0] == pytest.approx(reference, rel=1e-6)


def test_crps_samples_matches_properscoring():
    rng = np.random.default_rng(2)
    pred, y = Predictive(rng.normal(size=(50, 20, 1))), rng.normal(size=(20, 1))
    np.testing.assert_allclose(metrics.crps_values(pred, y)[:, 0], properscoring.crps_ensemble(y[:, 0], pred.loc[:, :, 0].T), rtol=1e-10)


def test_point_scores_closed_forms():
    pred, y = gaussian_case(1.0, n=500)
    assert metrics.rmse(pred, y) == pytest.approx(np.sqrt(np.mean((pred.mean - y) ** 2)))
    assert metrics.mae(pred, y) == pytest.approx(np.mean(np.abs(pred.mean - y)))
    assert metrics.nll(pred, y) == pytest.approx(-np.mean(stats.norm.logpdf(y, pred.mean, 1.0)))
    assert metrics.sharpness(pred) == pytest.approx(1.0)


def test_interval_score_and_pinball_against_direct_formulas():
    pred, y = gaussian_case(0.7, n=500)
    lo, hi = pred.mean + stats.norm.ppf([[0.05], [0.95]])[:, None] * 0.7
    expected = np.mean(hi - lo + 20 * np.maximum(lo - y, 0) + 20 * np.maximum(y - hi, 0))
    assert metrics.interval_score(pred, y, 0.9) == pytest.approx(expected, rel=1e-8)
    q = pred.mean + stats.norm.ppf(0.1) * 0.7
    assert metrics.pinball(pred, y, 0.1) == pytest.approx(np.mean(np.maximum(0.1 * (y - q), -0.9 * (y - q))), rel=1e-8)


def test_quantile_loss_integrates_to_crps():
    # CRPS = 2 * integral over tau of the pinball loss (Gneiting & Raftery, 2007, eq. 21-22).
    pred, y = gaussian_case(1.3, n=200)
    taus = (np.arange(400) + 0.5) / 400
    assert 2 * np.mean([metrics.pinball(pred, y, t) for t in taus]) == pytest.approx(metrics.crps(pred, y), rel=2e-3)


def test_energy_score_multi_output_estimator_and_one_output_crps():
    rng = np.random.default_rng(3)
    # D = 2 samples: the circular-permutation estimator has the expectation of the all-pairs one.
    draws = rng.normal(size=(100, 200, 2)) * [1.0, 2.0]
    y = rng.normal(size=(200, 2))
    pair_distance = np.linalg.norm(draws[:, None] - draws[None], axis=-1)  # (S, S, N)
    s = draws.shape[0]
    all_pairs = np.mean(np.mean(np.linalg.norm(draws - y, axis=-1), axis=0) - 0.5 * pair_distance.sum((0, 1)) / (s * (s - 1)))
    circular = metrics.energy_score(Predictive(draws), y)
    circular_terms = np.linalg.norm(draws - np.roll(draws, 1, axis=0), axis=-1).mean(0)
    se = 0.5 * np.std(np.linalg.norm(draws - np.roll(draws, 1, axis=0), axis=-1)) / np.sqrt(s * 200)
    assert circular == pytest.approx(all_pairs, abs=5 * se) and circular_terms.shape == (200,)
    good, bad = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 3
    assert metrics.energy_score(Predictive(draws), good) < metrics.energy_score(Predictive(draws), bad)
    # Gaussian-mixture members are sampled (fixed seed): the estimate is reproducible.
    mixture = Predictive(rng.normal(size=(4, 200, 2)), np.full((4, 200, 2), 0.5))
    assert metrics.energy_score(mixture, y) == metrics.energy_score(mixture, y)
    # D = 1: the energy score is the CRPS, and is returned exactly.
    pred, y1 = gaussian_case(0.8, n=300)
    assert metrics.energy_score(pred, y1) == metrics.crps(pred, y1)


def test_coverage_and_width_of_a_calibrated_gaussian():
    pred, y = gaussian_case(1.0)
    for level in (0.5, 0.9, 0.95):
        se = np.sqrt(level * (1 - level) / y.size)
        assert abs(metrics.coverage(pred, y, level) - level) < 4 * se
        assert metrics.interval_width(pred, level) == pytest.approx(2 * stats.norm.ppf(0.5 + level / 2), rel=1e-8)


def test_calibrated_mixture_has_uniform_pit_and_small_errors():
    pred, y = mixture_case()
    assert calibration.pit_test(pred, y)["pvalue"] > 1e-3
    assert calibration.miscalibration_area(pred, y) < 0.02
    assert calibration.calibration_error(pred, y) < 0.025
    levels, observed = calibration.coverage_curve(pred, y)
    assert np.all(np.abs(observed - levels) < 4 * np.sqrt(levels * (1 - levels) / y.size) + 1e-9)


@pytest.mark.parametrize("width", [0.5, 1.0, 2.0])
def test_calibration_curve_area_and_error_match_their_closed_forms(width):
    """Targets N(mu, 1), predictive N(mu, width^2): P(F(y) <= p) = Phi(width * Phi^-1(p)) exactly."""
    pred, y = gaussian_case(width, n=20000, seed=3)
    expected, observed = calibration.calibration_curve(pred, y, num_levels=99)
    truth = stats.norm.cdf(width * stats.norm.ppf(expected))
    se = np.sqrt(truth * (1 - truth) / y.size)
    assert np.all(np.abs(observed - truth) < 5 * se + 1e-12)
    gap = np.abs(truth - expected)
    assert calibration.miscalibration_area(pred, y) == pytest.approx(np.mean(gap), abs=5 * se.max())
    assert calibration.calibration_error(pred, y) == pytest.approx(np.sqrt(np.mean(gap**2)), abs=5 * se.max())


def test_randomised_pit_of_calibrated_samples_is_uniform():
    rng = np.random.default_rng(4)
    draws = rng.normal(size=(20, 3000, 1))  # coarse: 20 samples per point
    y = rng.normal(size=(3000, 1))
    assert calibration.pit_test(Predictive(draws), y)["pvalue"] > 1e-3


def test_ence_zero_when_errors_match_and_large_when_not():
    pred, y = gaussian_case(1.0, n=20000)
    assert calibration.ence(pred, y) < 0.05
    assert calibration.ence(gaussian_case(0.5, n=20000)[0], y) == pytest.approx(1.0, abs=0.05)  # RMSE = 2 RMV


@pytest.mark.parametrize("width, label", [(1.0, "calibrated"), (0.5, "over-confident"), (2.0, "under-confident")])
def test_verdict_reads_known_miscalibration(width, label):
    pred, y = gaussian_case(width)
    verdict = calibration.verdict(pred, y)
    assert verdict["label"] == label and label in verdict["text"].lower()
    assert verdict["spread_factor"] == pytest.approx(1 / width, rel=0.05)


def test_uncertainty_split_adds_up():
    rng = np.random.default_rng(5)
    pred = Predictive(rng.normal(size=(30, 10, 1)), np.full((30, 10, 1), 0.5))
    split = metrics.uncertainty_split(pred)
    assert split["aleatoric_var"] == pytest.approx(0.25)
    assert split["epistemic_var"] + split["aleatoric_var"] == pytest.approx(np.mean(pred.var))


def test_registry_long_names_aliases_and_levels():
    pred, y = gaussian_case(1.0, n=300)
    long = metrics.evaluate(pred, y, ["root_mean_squared_error", "coverage@0.8", "interval_score@0.5", "pinball_loss@0.1"])
    short = metrics.evaluate(pred, y, ["rmse", "cov@0.8", "is@0.5", "pinball@0.1"])
    assert list(long.values()) == list(short.values())
    assert metrics.evaluate(pred, y, ["coverage"])["coverage"] == metrics.coverage(pred, y, 0.9)
    everything = [m.alias for m in metrics.REGRESSION_METRICS.values()]
    assert set(metrics.evaluate(pred, y, everything)) == set(everything)


@pytest.mark.parametrize("name, match", [("nope", "unknown metric"), ("rmse@0.9", "takes no level"),
                                         ("coverage@1.5", "strictly between 0 and 1"), ("coverage@x", "a number after")])
def test_registry_rejects_bad_names(name, match):
    pred, y = gaussian_case(1.0, n=10)
    with pytest.raises(ValueError, match=match):
        metrics.evaluate(pred, y, [name])


def test_bad_targets_raise_clear_errors():
    pred, y = gaussian_case(1.0, n=10)
    with pytest.raises(ValueError, match=r"y: expected shape \(10, 1\)"):
        metrics.evaluate(pred, y[:5])
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="y: expected finite values"):
        metrics.crps(pred, y_nan)
    with pytest.raises(ValueError, match="levels"):
        calibration.coverage_curve(pred, y, [0.5, 1.0])
    with pytest.raises(TypeError, match="pred: expected a uqlab.Predictive"):
        metrics.rmse(np.zeros((1, 10, 1)), y)


def test_classification_metrics_against_closed_forms():
    rng = np.random.default_rng(6)
    probs = rng.dirichlet(np.ones(3), size=500)
    labels = np.array([rng.choice(3, p=p) for p in probs])  # calibrated by construction
    scores = evaluate_classification(probs, labels, ["negative_log_likelihood", "brier", "ece"])
    assert scores["negative_log_likelihood"] == pytest.approx(-np.mean(np.log(probs[np.arange(500), labels])))
    assert scores["brier"] == pytest.approx(np.mean(np.sum((probs - np.eye(3)[labels]) ** 2, axis=1)))
    assert scores["ece"] < 0.08
    confident = np.eye(3)[(labels + 1) % 3] * 0.97 + 0.01  # always wrong, 98% confident
    assert evaluate_classification(confident, labels, ["ece"])["ece"] == pytest.approx(0.98)
    with pytest.raises(ValueError, match="labels: expected values"):
        evaluate_classification(probs, labels + 3)


def test_verdict_names_heavy_tails_when_coverage_and_spread_disagree():
    # Errors: 98 % tiny (well inside the intervals), 2 % far out: coverage is too high, yet the
    # RMS standardised error is above 1.
    rng = np.random.default_rng(6)
    n = 20000
    far = rng.random(n) < 0.02
    y = np.where(far, 15.0, 0.1) * rng.standard_normal(n)
    pred = Predictive(np.zeros((1, n, 1)), np.ones((1, n, 1)))
    verdict = calibration.verdict(pred, y[:, None])
    assert verdict["label"] == "under-confident" and verdict["spread_factor"] > 1
    assert "heavy-tailed" in verdict["text"]
