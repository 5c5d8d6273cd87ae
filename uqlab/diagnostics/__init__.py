"""Calibration diagnostics, comparisons and reports; everything here reads Predictives (numpy)."""

from uqlab.diagnostics.calibration import (
    calibration_curve,
    calibration_error,
    coverage_curve,
    ence,
    miscalibration_area,
    pit,
    pit_test,
    verdict,
)
from uqlab.diagnostics.metrics import (
    DEFAULT_METRICS,
    REGRESSION_METRICS,
    coverage,
    crps,
    energy_score,
    evaluate,
    interval_score,
    interval_width,
    mae,
    metric,
    nll,
    pinball,
    rmse,
    sharpness,
    uncertainty_split,
)
from uqlab.diagnostics.recalibration import conformal_interval, fit_isotonic, fit_variance_scaling

__all__ = [
    "DEFAULT_METRICS", "REGRESSION_METRICS", "calibration_curve", "calibration_error", "coverage",
    "coverage_curve", "crps", "ence", "energy_score", "evaluate", "interval_score", "interval_width",
    "mae", "metric", "miscalibration_area", "nll", "pinball", "pit", "pit_test", "rmse", "sharpness",
    "uncertainty_split", "verdict", "conformal_interval", "fit_isotonic", "fit_variance_scaling",
]
