"""Classification scores from predicted class probabilities (no model needed).

``probs`` has shape ``(N, K)`` (rows sum to one; average member probabilities first for an
ensemble or posterior), ``labels`` shape ``(N,)`` with integers in ``[0, K)``.
References: Brier (1950); Guo et al. (2017) for the expected calibration error.
"""

from __future__ import annotations

import numpy as np

from uqlab._validate import check_finite, check_positive_int

__all__ = ["classification_nll", "brier_score", "expected_calibration_error", "CLASSIFICATION_METRICS", "evaluate_classification"]


def _check(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"probs: expected shape (N, K) with N >= 1, got {probs.shape}")
    check_finite("probs", probs)
    if probs.min() < 0 or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("probs: expected non-negative rows that sum to 1")
    if labels.shape != probs.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected {probs.shape[0]} integer labels, got shape {labels.shape} dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= probs.shape[1]:
        raise ValueError(f"labels: expected values in [0, {probs.shape[1]}), got range [{labels.min()}, {labels.max()}]")
    return probs, labels


def classification_nll(probs, labels) -> float:
    """Mean negative log probability of the true class, :math:`-\\frac1N\\sum_n \\log p_{n, y_n}`."""
    probs, labels = _check(probs, labels)
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], np.finfo(float).tiny))))


def brier_score(probs, labels) -> float:
    """Multi-class Brier score :math:`\\frac1N\\sum_n \\sum_k (p_{nk} - 1\\{y_n = k\\})^2`."""
    probs, labels = _check(probs, labels)
    onehot = np.eye(probs.shape[1])[labels]
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def expected_calibration_error(probs, labels, num_bins: int = 15) -> float:
    """Top-label ECE (Guo et al., 2017): :math:`\\sum_b \\frac{|B_b|}{N} |\\mathrm{acc}(B_b) - \\mathrm{conf}(B_b)|`
    over ``num_bins`` equal-width confidence bins."""
    probs, labels = _check(probs, labels)
    check_positive_int("num_bins", num_bins)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    bins = np.minimum((confidence * num_bins).astype(int), num_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        inside = bins == b
        total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


CLASSIFICATION_METRICS = {
    "negative_log_likelihood": classification_nll, "nll": classification_nll,
    "brier_score": brier_score, "brier": brier_score,
    "expected_calibration_error": expected_calibration_error, "ece": expected_calibration_error,
}


def evaluate_classification(probs, labels, metrics=("nll", "brier", "ece")) -> dict[str, float]:
    """Classification metrics by long name or alias, e.g. ``["nll", "brier_score", "ece"]``."""
    unknown = [m for m in metrics if m not in CLASSIFICATION_METRICS]
    if unknown:
        raise ValueError(f"metrics: unknown classification metric(s) {unknown}; expected one of {sorted(CLASSIFICATION_METRICS)}")
    return {name: CLASSIFICATION_METRICS[name](probs, labels) for name in metrics}
