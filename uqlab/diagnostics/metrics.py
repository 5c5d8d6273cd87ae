"""Regression scores that read only a :class:`~uqlab.predictive.Predictive` and targets (numpy).

Every score averages over points and outputs. Each metric is registered under a long name and a
short alias, optionally with a level: ``evaluate(pred, y, ["nll", "coverage@0.9", "pinball@0.1"])``.
References: Gneiting & Raftery (2007) for proper scoring rules, the mixture CRPS, the energy score
and the interval score; Kuleshov et al. (2018) and Levi et al. (2022) for calibration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy import special

from uqlab._mixture import blockwise
from uqlab._validate import check_level, check_positive_int
from uqlab.diagnostics import calibration
from uqlab.diagnostics._checks import interval as _interval
from uqlab.diagnostics._checks import interval_levels as _interval_levels
from uqlab.diagnostics._checks import memoised as _memoised
from uqlab.diagnostics._checks import quantile as _quantile
from uqlab.diagnostics._checks import quantiles as _quantiles
from uqlab.diagnostics._checks import targets as _targets
from uqlab.predictive import Predictive

__all__ = [
    "rmse", "mae", "nll", "crps", "crps_values", "energy_score", "interval_score", "pinball",
    "coverage", "interval_width", "sharpness", "uncertainty_split", "Metric", "REGRESSION_METRICS",
    "metric", "evaluate", "DEFAULT_METRICS",
]

DEFAULT_METRICS = ("rmse", "nll", "crps", "coverage@0.5", "coverage@0.9", "coverage@0.95", "width@0.9", "miscal_area")


def rmse(pred: Predictive, y) -> float:
    """Root mean squared error of the predictive mean."""
    y = _targets(pred, y)
    return float(np.sqrt(np.mean((pred.mean - y) ** 2)))


def mae(pred: Predictive, y) -> float:
    """Mean absolute error of the predictive median (the CRPS-optimal point forecast for L1)."""
    y = _targets(pred, y)
    return float(np.mean(np.abs(_quantile(pred, 0.5) - y)))


def nll(pred: Predictive, y) -> float:
    """Mean negative log predictive density of the mixture (nats per point and output)."""
    return float(-np.mean(pred.logpdf(_targets(pred, y))))


def _expected_abs_normal(mu, var):
    """``E|Z|`` for ``Z ~ N(mu, var)``: ``2 s phi(mu/s) + mu (2 Phi(mu/s) - 1)`` (float64, exact)."""
    s = np.sqrt(var)
    z = mu / s
    return 2.0 * s * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi) + mu * (2.0 * special.ndtr(z) - 1.0)


# h(z) = E|N(z, 1)| - z = 2 (phi(z) - z (1 - Phi(z))) for z >= 0, as a (6, 6) rational function on
# [0, 5] (weighted least-squares fit refined towards minimax): |error| <= 3.4e-8, 1.4e-7 when evaluated
# in float32; h(z) < h(5) = 1.07e-7 beyond, where z is clamped to 5. Coefficients from z^0 upwards.
_H_P = tuple(np.float32(c) for c in (
    0.7978845270854121, -1.0018757466248873, 0.5301076754339614, -0.15117247235655112, 0.024485170481440846,
    -0.002133766699505435, 7.808987402768697e-05))
_H_Q = tuple(np.float32(c) for c in (
    1.0, -0.002354465954670532, 0.1614901897278085, 0.013840839844960647, 0.009688892403786283,
    0.0013026039096425465, 0.0005267530855239421))
_Z_CLAMP = np.float32(5.0)


def _horner(coefficients, z, out):
    np.multiply(z, coefficients[-1], out=out)
    for c in coefficients[-2:0:-1]:
        out += c
        out *= z
    out += coefficients[0]
    return out


def _expected_abs_f32(d: np.ndarray, s: np.ndarray, z: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """:math:`E|N(d, s^2)| = d + s\\,h(d/s)` for float32 ``d >= 0``, ``s > 0``, in place (result in ``d``).

    No exponential (numpy's is not vectorised here and costs as much as 25 multiplications): ``h``
    is the rational function above, absolute error :math:`\\le 1.5\\times10^{-7}` on
    :math:`h \\le 0.8`, so with :math:`E|N(d, s^2)| \\ge 0.798 s` the relative error is below
    :math:`2\\times10^{-7}` plus float32 rounding. ``z``, ``p`` and ``q`` are scratch buffers.
    """
    np.divide(d, s, out=z)
    np.minimum(z, _Z_CLAMP, out=z)
    _horner(_H_P, z, p)
    p /= _horner(_H_Q, z, q)
    p *= s
    d += p
    return d


def _pair_sum_f32(m: np.ndarray, v: np.ndarray, work: list[np.ndarray]) -> np.ndarray:
    """:math:`\\sum_{i<j} E|N(m_j - m_i, v_i + v_j)|` per column of float32 ``(S, B)`` blocks (float64 out).

    Row i has S-1-i pairs (j > i); rows i and S-2-i together have S, so they are stacked into one
    ``(S, B)`` batch: half as many numpy calls, all on arrays of one cache-sized shape.
    ``work``: five flat float32 buffers of at least ``S * B`` elements (see
    :func:`_expected_abs_f32` for the pair kernel).
    """
    s, b = m.shape
    out = np.zeros(b)
    for i in range(s // 2):
        partner = s - 2 - i  # rows i and partner share the batch (partner == i: the middle row alone)
        k = s - 1 - i
        rows = k if partner <= i else s
        d, sd, *scratch = (w[: rows * b].reshape(-1, b) for w in work)
        np.subtract(m[i + 1:], m[i], out=d[:k])
        np.add(v[i + 1:], v[i], out=sd[:k])
        if partner > i:
            np.subtract(m[partner + 1:], m[partner], out=d[k:])
            np.add(v[partner + 1:], v[partner], out=sd[k:])
        np.abs(d, out=d)
        np.sqrt(sd, out=sd)
        out += _expected_abs_f32(d, sd, *scratch).sum(axis=0)
    return out


def crps_values(pred: Predictive, y, *, block_elements: int = 2**16) -> np.ndarray:
    """CRPS per point and output, ``(N, D)``: the Gaussian-mixture closed form, or the sample estimator.

    :math:`\\mathrm{CRPS}(F, y) = E|X - y| - \\tfrac12 E|X - X'|` with X, X' independent draws of F.
    For a mixture of S Gaussians both expectations are sums of
    :math:`A(m, v) = E|N(m, v)| = 2\\sqrt v\\,\\varphi(m/\\sqrt v) + m\\,(2\\Phi(m/\\sqrt v) - 1)` terms
    (Grimit et al., 2006): :math:`E|X-y| = \\frac1S\\sum_s A(\\mu_s - y, \\sigma_s^2)` and
    :math:`E|X-X'| = \\frac1{S^2}\\sum_{i,j} A(\\mu_i - \\mu_j, \\sigma_i^2 + \\sigma_j^2)`, which is quadratic
    in S. How it is kept in bounds (100,000 points x 100 members: 495 million pairs):

    - symmetry: only the S(S-1)/2 pairs i < j (the diagonal is :math:`2\\sigma_i/\\sqrt\\pi`), in
      batches of two rows of S pairs (:func:`_pair_sum_f32`);
    - float32 on blocks of ``block_elements // S`` points, standardised per point by the mixture
      mean and standard deviation (so float32 keeps its relative precision in any units), with
      the members of a block in cache (flat buffers of ``block_elements`` floats, 256 KB each);
    - no transcendental function per pair: :math:`A = d + s\\,h(d/s)` with a (6, 6) rational
      :math:`h` (:func:`_expected_abs_f32`), as numpy's exp is not vectorised on the 2-core box this
      was tuned on and costs as much as 25 multiplications (``benchmarks/metrics_scale.py`` times
      it against float64 with ``scipy.special.ndtr`` side by side);
    - the blocks run on up to ``os.cpu_count()`` threads (numpy releases the GIL).

    Error bound: each A is within :math:`2\\times10^{-7} A` (the rational) plus float32 rounding
    (a few :math:`10^{-7} A`), and each batch of at most S pairs is summed in float32
    (:math:`\\le S\\,2^{-24}` relative) into a float64 total: the pair term is within
    :math:`S\\,2^{-24} + 10^{-6}` relative (:math:`10^{-5}` for S <= 100; far less in practice, as
    rounding errors cancel) and the first term within :math:`10^{-6}`. As
    :math:`\\tfrac12 E|X - X'| \\le E|X - y|`, the CRPS is off by at most :math:`1.1\\times10^{-5} E|X - y|`
    per target (tested against float64 all-pairs sums and properscoring's quadrature), far below the
    Monte Carlo error :math:`\\mathrm{sd}/\\sqrt N` of a mean CRPS. A single Gaussian (S = 1) uses the
    exact float64 closed form. For pure samples the same formula is the sample estimator,
    O(S log S) from sorted samples.
    """
    y = _targets(pred, y)
    check_positive_int("block_elements", block_elements)
    if pred.scale is None:
        return _crps_samples(pred.loc, y)
    # Memoised: the mean CRPS and the one-output energy score read the same values.
    return _memoised(pred, "crps", y, lambda: _crps_mixture(pred, y, block_elements))


def _crps_mixture(pred: Predictive, y: np.ndarray, block_elements: int) -> np.ndarray:
    s = pred.num_members
    loc, scale, y = pred.loc.reshape(s, -1), pred.scale.reshape(s, -1), y.reshape(-1)
    if s == 1:  # a single Gaussian: exact closed form, no pairs
        return (_expected_abs_normal(loc[0] - y, scale[0] ** 2) - scale[0] / np.sqrt(np.pi)).reshape(pred.shape)
    center, spread = pred.mean.ravel(), pred.std.ravel()
    out = np.empty_like(y)

    def block(cols: slice) -> None:
        # Standardised per point: float32 keeps its relative precision in any units.
        m = ((loc[:, cols] - center[cols]) / spread[cols]).astype(np.float32)
        sd = (scale[:, cols] / spread[cols]).astype(np.float32)
        target = ((y[cols] - center[cols]) / spread[cols]).astype(np.float32)
        work = [np.empty(m.size, np.float32) for _ in range(5)]
        first = _expected_abs_f32(np.abs(m - target), sd, *(w.reshape(m.shape) for w in work[:3]))
        pairs = 2.0 * _pair_sum_f32(m, sd**2, work) + 2.0 * sd.sum(axis=0, dtype=np.float64) / np.sqrt(np.pi)
        out[cols] = spread[cols] * (first.sum(axis=0, dtype=np.float64) / s - 0.5 * pairs / s**2)

    blockwise(block, y.size, max(1, block_elements // s), work=s * s * y.size)
    return out.reshape(pred.shape)


def _crps_samples(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    s = samples.shape[0]
    first = np.mean(np.abs(samples - y[None]), axis=0)
    # E|X - X'| = 2 / S^2 * sum_i (2 i - S - 1) x_(i) for sorted samples (i = 1..S).
    ordered = np.sort(samples, axis=0)
    weights = (2 * np.arange(1, s + 1) - s - 1).reshape(-1, 1, 1)
    second = 2.0 * np.sum(weights * ordered, axis=0) / s**2
    return first - 0.5 * second


def crps(pred: Predictive, y) -> float:
    """Mean continuous ranked probability score (same units as y)."""
    return float(np.mean(crps_values(pred, y)))


def energy_score(pred: Predictive, y, *, num_samples: int = 100, seed: int = 0) -> float:
    """Energy score for multi-output targets (Gneiting & Raftery, 2007), mean over points.

    :math:`\\mathrm{ES}(F, y) = E\\|X - y\\| - \\tfrac12 E\\|X - X'\\|` with Euclidean norms over the D
    outputs. For D = 1 it *is* the CRPS, returned exactly (:func:`crps`). For D > 1 it is estimated
    from the members when they are samples, else from ``num_samples`` draws (fixed ``seed``); the
    second expectation uses the circular-permutation estimator
    :math:`\\frac1M\\sum_i \\|x_i - x_{i+1 \\bmod M}\\|`, unbiased and O(M) instead of O(M^2).
    """
    y = _targets(pred, y)
    check_positive_int("num_samples", num_samples, minimum=2)
    if pred.shape[1] == 1:
        return crps(pred, y)
    draws = pred.loc if pred.is_sample else pred.sample(num_samples, rng=seed)
    if len(draws) < 2:
        raise ValueError(f"pred: the energy score needs at least 2 samples, got {len(draws)} member")
    first = np.mean(np.linalg.norm(draws - y[None], axis=-1), axis=0)
    second = np.mean(np.linalg.norm(draws - np.roll(draws, 1, axis=0), axis=-1), axis=0)
    return float(np.mean(first - 0.5 * second))


def coverage(pred: Predictive, y, level: float = 0.9) -> float:
    """Fraction of targets inside the central ``level`` interval (via the PIT; see ``coverage_curve``)."""
    check_level("level", level)
    return float(calibration.coverage_curve(pred, y, [level])[1][0])


def interval_width(pred: Predictive, level: float = 0.9) -> float:
    """Mean width of the central ``level`` interval."""
    lower, upper = _interval(pred, level)
    return float(np.mean(upper - lower))


def interval_score(pred: Predictive, y, level: float = 0.9) -> float:
    """Interval score of the central ``level`` interval :math:`[l, u]` (Gneiting & Raftery, 2007, eq. 43).

    With :math:`\\alpha = 1 - \\ell`: :math:`(u - l) + \\frac2\\alpha (l - y)\\,1\\{y < l\\} +
    \\frac2\\alpha (y - u)\\,1\\{y > u\\}`; proper for the central interval, lower is better.
    """
    y = _targets(pred, y)
    lower, upper = _interval(pred, level)
    alpha = 1.0 - level
    penalty = np.maximum(lower - y, 0) + np.maximum(y - upper, 0)
    return float(np.mean(upper - lower + 2.0 / alpha * penalty))


def pinball(pred: Predictive, y, level: float = 0.5) -> float:
    """Pinball (check) loss of the ``level`` quantile :math:`q`: :math:`\\max(\\tau (y - q), (\\tau - 1)(y - q))`."""
    y = _targets(pred, y)
    check_level("level", level)
    residual = y - _quantile(pred, level)
    return float(np.mean(np.maximum(level * residual, (level - 1) * residual)))


def sharpness(pred: Predictive) -> float:
    """Root mean predictive variance :math:`\\sqrt{\\overline{\\sigma^2}}` (uncertainty-toolbox's sharpness)."""
    return float(np.sqrt(np.mean(pred.var)))


def uncertainty_split(pred: Predictive) -> dict[str, float]:
    """Mean epistemic and aleatoric variance and the epistemic share of the total variance.

    Law of total variance: :math:`\\mathrm{Var}[y] = \\mathrm{Var}_s[\\mu_s] + E_s[\\sigma_s^2]`
    (Depeweg et al., 2018). Pure samples have no aleatoric part.
    """
    epistemic, aleatoric = float(np.mean(pred.epistemic_var)), float(np.mean(pred.aleatoric_var))
    total = epistemic + aleatoric
    return {"epistemic_var": epistemic, "aleatoric_var": aleatoric, "epistemic_fraction": epistemic / total if total > 0 else float("nan")}


@dataclasses.dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes:
        name: long name; ``alias``: short name.
        fn: ``fn(pred, y)`` or, for levelled metrics, ``fn(pred, y, level)``.
        goal: how the report picks the best value: "min", "max", "level" (closest to the level),
            or None (descriptive, no best).
        default_level: the level used when a levelled metric is asked for without ``@LEVEL``;
            None for metrics that take no level.
        quantiles: ``quantiles(level)`` gives the predictive quantile levels the metric reads, so
            :func:`evaluate` solves all of them in one pass; None when it reads none.
    """

    name: str
    alias: str
    fn: Callable
    goal: str | None = "min"
    default_level: float | None = None
    quantiles: Callable | None = None


def _no_y(fn):
    return lambda pred, y, *args: fn(pred, *args)


REGRESSION_METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("root_mean_squared_error", "rmse", rmse),
    Metric("mean_absolute_error", "mae", mae, quantiles=lambda level: (0.5,)),
    Metric("negative_log_likelihood", "nll", nll),
    Metric("continuous_ranked_probability_score", "crps", crps),
    Metric("energy_score", "es", energy_score),
    Metric("interval_score", "is", interval_score, default_level=0.9, quantiles=_interval_levels),
    Metric("pinball_loss", "pinball", pinball, default_level=0.5, quantiles=lambda level: (level,)),
    Metric("coverage", "cov", coverage, goal="level", default_level=0.9),
    Metric("interval_width", "width", _no_y(interval_width), goal=None, default_level=0.9, quantiles=_interval_levels),
    Metric("sharpness", "sharp", _no_y(sharpness), goal=None),
    Metric("miscalibration_area", "miscal_area", calibration.miscalibration_area),
    Metric("calibration_error", "rmsce", calibration.calibration_error),
    Metric("expected_normalized_calibration_error", "ence", calibration.ence),
    Metric("pit_ks_statistic", "pit_ks", lambda pred, y: calibration.pit_test(pred, y)["statistic"]),
    Metric("pit_ks_pvalue", "pit_p", lambda pred, y: calibration.pit_test(pred, y)["pvalue"], goal="max"),
    Metric("epistemic_variance", "epistemic", lambda pred, y: uncertainty_split(pred)["epistemic_var"], goal=None),
    Metric("aleatoric_variance", "aleatoric", lambda pred, y: uncertainty_split(pred)["aleatoric_var"], goal=None),
    Metric("epistemic_fraction", "epi_frac", lambda pred, y: uncertainty_split(pred)["epistemic_fraction"], goal=None),
]}
_BY_NAME = {key: m for m in REGRESSION_METRICS.values() for key in (m.name, m.alias)}


def metric(name: str) -> tuple[Metric, float | None]:
    """Resolve ``"NAME"`` or ``"NAME@LEVEL"`` (long name or alias) to ``(Metric, level)``.

    Raises:
        ValueError: unknown name, a level on a metric that takes none, or a level outside (0, 1).
    """
    if not isinstance(name, str):
        raise TypeError(f"metrics: expected metric names as strings, got {name!r}")
    base, at, arg = name.partition("@")
    if base not in _BY_NAME:
        known = ", ".join(f"{m.name} ({m.alias}{'@LEVEL' if m.default_level else ''})" for m in REGRESSION_METRICS.values())
        raise ValueError(f"metrics: unknown metric {name!r}; expected one of {known}")
    spec = _BY_NAME[base]
    if not at:
        return spec, spec.default_level
    if spec.default_level is None:
        raise ValueError(f"metrics: {spec.name!r} takes no level, got {name!r}")
    try:
        level = float(arg)
    except ValueError:
        raise ValueError(f"metrics: expected a number after '@' in {name!r}, got {arg!r}") from None
    check_level(f"level in metric {name!r}", level)
    return spec, level


def evaluate(pred: Predictive, y, metrics=DEFAULT_METRICS) -> dict[str, float]:
    """Compute several metrics by name, e.g. ``evaluate(pred, y, ["nll", "coverage@0.9"])``.

    Returns:
        ``{requested name: value}`` in the requested order.
    """
    resolved = {name: metric(name) for name in metrics}
    y = _targets(pred, y)
    # One Newton pass for every quantile level the requested metrics read.
    _quantiles(pred, [q for spec, level in resolved.values() if spec.quantiles for q in spec.quantiles(level)])
    return {name: float(spec.fn(pred, y) if level is None else spec.fn(pred, y, level))
            for name, (spec, level) in resolved.items()}
