"""Calibration diagnostics, comparisons and reports; everything here reads Predictives (numpy)."""

from uqlab.diagnostics.metrics import (
    DEFAULT_METRICS,
    calibration_curve,
    coverage,
    crps,
    evaluate,
    interval_width,
    miscalibration_area,
    nll,
    pit,
    rmse,
)

__all__ = [
    "DEFAULT_METRICS",
    "calibration_curve",
    "coverage",
    "crps",
    "evaluate",
    "interval_width",
    "miscalibration_area",
    "nll",
    "pit",
    "rmse",
]
