"""Shared construction and reporting of neural-PDE problems (forward and inverse).

A PDE problem is a reference field on a space-time grid (from :mod:`uqlab.problems.burgers` or
:mod:`uqlab.problems.navier_stokes`), ``num_obs`` grid points observed with Gaussian noise of
standard deviation ``noise * std(field)``, random collocation points for the residual, and a
subsampled grid as the test set with the *noise-free* field as ``y_test``. The forward problem
knows ``nu``; the inverse problem infers it (``quantities=("nu",)``).

The report sections answer the question of the neural-PDE UQ study (HMC, MC dropout and deep
ensembles on Burgers and Navier-Stokes): does each method recover the coefficient, and is it
over- or under-confident about the field? A method is *over-confident* at level ``p`` when its
central ``p`` intervals for the field ``f`` (epistemic: the spread of its member means) cover
less than ``p`` of the true noise-free field (coverage gap ``< 0``).
"""

from __future__ import annotations

import html

import numpy as np

from uqlab._validate import check_positive_int
from uqlab.data import Dataset
from uqlab.problems import Problem

__all__ = ["MODES", "WIDTHS", "method_settings", "mode_of", "subgrid", "check_options", "build", "coefficient_summary", "confidence_summary", "report_sections"]

MODES = ("quick", "default", "full")
LEVELS = (0.5, 0.9, 0.95)
_NOISE_STREAM = 0x0B5
"""Second word of the seed of a separate observation-noise generator (``noise_seed``)."""

_MODE_SETTINGS = {  # mode -> Adam learning rate, NUTS run, ensemble size, extra MC dropout settings
    "quick": (1e-2, {"num_warmup": 40, "num_samples": 30, "num_chains": 2, "max_tree_depth": 4}, 3, {"num_passes": 30}),
    "default": (5e-3, {"num_warmup": 200, "num_samples": 100, "num_chains": 2, "max_tree_depth": 5}, 5, {}),
    "full": (2e-3, {"num_warmup": 1000, "num_samples": 1000, "num_chains": 4, "max_tree_depth": 8}, 10, {}),
}

_MCLMC_SETTINGS = {  # mode -> MCLMC run (its starts are NUTS's)
    "quick": {"num_chains": 2, "num_samples": 30, "thinning": 10},
    "default": {"num_chains": 4, "num_samples": 200, "thinning": 10},
    "full": {"num_chains": 4, "num_samples": 1000, "thinning": 10},
}


def method_settings(mode: str, map_steps: int, train_steps: int, *, lbfgs_steps: int = 0,
                    num_warmup: int | None = None, dropout_rate: float = 0.001) -> dict:
    """Settings of NUTS, MCLMC, the deep ensemble and MC dropout for a physics-informed problem.

    NUTS starts each chain from an Adam-optimised prior draw (``init="map"``, ``map_steps``
    steps): from prior draws its warmup spends itself far from the typical set of a posterior
    with thousands of precise observations. Ensembles and dropout train ``train_steps`` Adam steps
    with cosine decay, members one after another (on CPU batching slows PINN gradients). Chains
    also run one after another for the same reason. ``lbfgs_steps`` L-BFGS steps on the sampled
    posterior itself then carry each start from Adam's noise floor to the mode. MCLMC
    (``uqlab.inference.mclmc``) starts from the same optimised points.

    Args:
        mode: one of :data:`MODES`: quick (seconds to a minute per method), default (a problem in
            about 15 minutes on 2 cores), full (paper-quality, hours).
        map_steps: Adam steps of the NUTS starting points.
        train_steps: Adam steps of each ensemble member and of the dropout network.
        lbfgs_steps: L-BFGS steps of the NUTS starting points after Adam.
        num_warmup: NUTS warmup steps (None: the mode's).
        dropout_rate: MC dropout rate. Every dropped unit adds noise to the PDE residual, which
            biases the coefficient (for Burgers the smeared shock asks for a larger nu; for
            Navier-Stokes the noisy Laplacian attenuates nu), so the default is small (the
            measured biases and coverages: ``docs/measurements.md``).
    """
    learning_rate, nuts, members, dropout_extra = _MODE_SETTINGS[mode]
    nuts = {**nuts, "num_warmup": nuts["num_warmup"] if num_warmup is None else num_warmup}
    train = {"num_steps": train_steps, "learning_rate": learning_rate, "schedule": "cosine"}
    starts = {"init": "map", "vectorize": False, "init_steps": map_steps, "init_learning_rate": learning_rate,
              "init_lbfgs_steps": lbfgs_steps}
    return {
        "nuts": {**starts, **nuts},
        "mclmc": {**starts, **_MCLMC_SETTINGS[mode]},
        "ensemble": {"num_members": members, **train, "vectorize": False},
        "mc_dropout": {**train, "dropout_rate": dropout_rate, **dropout_extra},
    }


WIDTHS = {"quick": (16, 16), "default": (32, 32), "full": (64, 64, 64)}
"""Hidden widths of the field network per mode."""


def mode_of(quick: bool, full: bool) -> str:
    """``"quick"``, ``"default"`` or ``"full"`` (``quick`` and ``full`` together is an error)."""
    if quick and full:
        raise ValueError("full: expected quick or full, not both")
    return "quick" if quick else "full" if full else "default"


def check_options(*, num_obs, noise, num_collocation) -> None:
    """Validate the common problem options, naming the bad one."""
    check_positive_int("num_obs", num_obs)
    check_positive_int("num_collocation", num_collocation)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise: expected a finite relative noise level >= 0, got {noise!r}")


def build(
    name: str,
    *,
    points: np.ndarray,
    field: np.ndarray,
    grid_shape: tuple[int, ...],
    test_index: np.ndarray,
    collocation: np.ndarray,
    num_obs: int,
    noise: float,
    rng: np.random.Generator,
    make_model,
    mode: str,
    nu: float,
    inverse: bool,
    description: str,
    settings: dict | None = None,
    widths: tuple[int, ...] | None = None,
    observations: dict | None = None,
    noise_seed: int | None = None,
) -> Problem:
    """Assemble a :class:`~uqlab.problems.Problem` from a reference field.

    Args:
        name: registry name.
        points: all grid points ``(G, d_in)`` in physical units.
        field: the reference field at ``points`` ``(G,)``.
        grid_shape: shape of the grid (``prod == G``), time first.
        test_index: indices into ``points`` of the test grid (a sub-grid, in grid order).
        collocation: residual points ``(M, d_in)``.
        num_obs: observed points, drawn without replacement from the grid.
        noise: observation noise relative to the field's standard deviation.
        rng: the data generator.
        make_model: ``(collocation, noise_scale, nu or None, output_scale, widths) -> model``.
        mode: one of :data:`MODES` (method settings and network size).
        nu: the true coefficient.
        inverse: infer ``nu`` (else it is given to the model).
        description: one line for reports.
        settings: per method name, its settings (see :func:`method_settings`); become
            ``Problem.method_settings``.
        widths: hidden widths of the field network (None: :data:`WIDTHS` of ``mode``).
        observations: the user's own measurements ``{"x": (n, d_in), "y": (n, 1)}`` in place of
            the generated ones (points inside the grid's box; ``noise`` still sets the model's
            noise scale, relative to the reference field).
        noise_seed: draw the observation noise from its own generator with this seed (the
            points stay those of ``rng``): replicates of the same design for coverage studies.
    """
    from uqlab.problems.observations import check_observations

    widths = WIDTHS[mode] if widths is None else tuple(widths)
    if num_obs > len(points):
        raise ValueError(f"num_obs: expected at most the {len(points)} grid points, got {num_obs}")
    noise_scale = float(noise * field.std())
    observed = rng.choice(len(points), num_obs, replace=False)
    noise_rng = rng if noise_seed is None else np.random.default_rng([noise_seed, _NOISE_STREAM])
    x, y = points[observed], field[observed] + noise_scale * noise_rng.standard_normal(num_obs)
    if observations is not None:
        box = (points.min(axis=0), points.max(axis=0))
        checked = check_observations(observations, {"x": points.shape[1], "y": 1}, (("x", "y"),), inputs={"x": box})
        x, y = checked["x"], checked["y"]
    data = Dataset(x, y, points[test_index], field[test_index], name=name, standardize=False,
                   extras={"collocation": collocation})
    output_scale = float(field.std())
    model_noise = max(noise_scale, 1e-3 * output_scale)

    def model():
        return make_model(collocation, model_noise, None if inverse else nu, output_scale, widths)

    test_shape = _test_shape(grid_shape, test_index)
    truth = {"nu": nu, "noise_scale": noise_scale, "f_test": field[test_index], "test_grid_shape": test_shape}
    return Problem(
        name, data, model, settings, truth, description, quantities=("nu",) if inverse else (),
        report_sections=report_sections,
    )


def _test_shape(grid_shape, test_index) -> tuple[int, ...]:
    """Shape of the test sub-grid (``test_index`` must be a product of per-axis index sets)."""
    coords = np.unravel_index(test_index, grid_shape)
    return tuple(len(np.unique(c)) for c in coords)


def subgrid(grid_shape: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """Flat indices of every ``strides``-th grid point per axis (the last point of each axis kept)."""
    axes = [np.unique(np.r_[np.arange(0, n, s), n - 1]) for n, s in zip(grid_shape, strides)]
    return np.ravel_multi_index(np.meshgrid(*axes, indexing="ij"), grid_shape).ravel()


# ---------------------------------------------------------------------------------------------
# Scoring and report sections
# ---------------------------------------------------------------------------------------------


def coefficient_summary(comparison, level: float = 0.95) -> dict:
    """Per method and inferred coefficient: posterior mean, central ``level`` interval, the truth
    (None when unknown), whether the interval covers it, the relative error, and the chains'
    R-hat and bulk ESS of the coefficient where the method has chains (else None).

    Returns ``{method: {name: {mean, lower, upper, level, truth, covers, relative_error, rhat,
    ess_bulk}}}``, the numbers of :func:`uqlab.diagnostics.verdicts.coefficients` (the report's
    table) with ``covers`` and ``relative_error`` added (None when the truth is unknown). A point
    estimate (MC dropout learns a coefficient as a single parameter) has a zero-width interval.
    """
    from uqlab.diagnostics.verdicts import coefficients

    out = {}
    for method, rows in coefficients(comparison, level).items():
        out[method] = {}
        for name, row in rows.items():
            truth, known = row["truth"], row["truth"] is not None
            out[method][name] = {
                **row, "covers": bool(row["lower"] <= truth <= row["upper"]) if known else None,
                "relative_error": abs(row["mean"] - truth) / abs(truth) if known else None,
            }
    return out


def confidence_summary(comparison) -> dict:
    """Per method and level: coverage of the true field, gap to nominal and a verdict at 90%.

    The truth is the noise-free field ``f``, so it is scored against the method's uncertainty
    about ``f`` (epistemic): the central interval ``mean +- z sd_f`` with ``sd_f^2`` the variance
    of the member means (a Gaussian approximation of the members' spread). Scoring ``f`` with the
    full predictive, whose intervals also hold the observation noise, would call every method
    under-confident whenever the noise exceeds the field error. For reference,
    ``noisy_coverage_90`` scores the full predictive (noise included) on ``f`` plus simulated
    observation noise (``truth["noise_scale"]``, seed 0), which is what those intervals claim to cover.
    The verdict at 90% is the report's latent-function verdict
    (:func:`uqlab.diagnostics.calibration.verdict` on :func:`~uqlab.diagnostics.verdicts.latent_predictive`:
    a gap counts beyond two binomial standard errors), so the two never disagree.
    """
    from scipy.special import ndtri

    from uqlab.diagnostics.calibration import verdict
    from uqlab.diagnostics.verdicts import latent_predictive

    f = np.asarray(comparison.truth["f_test"], dtype=float).reshape(-1)
    noisy = f + comparison.truth.get("noise_scale", 0.0) * np.random.default_rng(0).standard_normal(f.shape)
    out = {}
    for method, pred in comparison.predictives.items():
        mean, sd_f = pred.mean[:, 0], np.sqrt(pred.epistemic_var[:, 0])
        row = {}
        for level in LEVELS:
            half = ndtri((1 + level) / 2) * sd_f
            coverage = float(np.mean(np.abs(f - mean) <= half))
            row[f"coverage_{round(level * 100)}"] = coverage
            row[f"gap_{round(level * 100)}"] = coverage - level
        lower, upper = pred.interval(0.9)
        row["noisy_coverage_90"] = float(np.mean((lower[:, 0] <= noisy) & (noisy <= upper[:, 0])))
        judged = None if latent_predictive(pred) is None else verdict(latent_predictive(pred), f[:, None], 0.9)
        row["verdict"] = (
            "not judged (a single member has no spread)" if judged is None
            else "calibrated" if judged["label"] == "calibrated"
            else f"{judged['label']} by {abs(judged['gap']) * 100:.1f} points"
        )
        row["relative_l2"] = float(np.linalg.norm(mean - f) / np.linalg.norm(f))
        row["mean_sd_f"] = float(sd_f.mean())
        out[method] = row
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _confidence_section(comparison) -> dict:
    from uqlab.diagnostics.verdicts import coefficients, convergence

    summary = confidence_summary(comparison)
    coefficient_table = coefficients(comparison)

    def judged(method, text):
        status = convergence(comparison.infos.get(method, {}), coefficient_table.get(method))
        return "not converged: not judged" if status and status["status"] == "not converged" else text

    rows = [
        [m, *(f"{100 * s[f'coverage_{p}']:.1f}%" for p in (50, 90, 95)), f"{100 * s['gap_90']:+.1f}",
         judged(m, s["verdict"]), f"{100 * s['relative_l2']:.2f}%", f"{s['mean_sd_f']:.3g}",
         f"{100 * s['noisy_coverage_90']:.1f}%"]
        for m, s in summary.items()
    ]
    return {
        "title": "Over- or under-confidence over the latent field",
        "caption": "Coverage of the noise-free field f by central intervals mean +- z sd_f of each method's "
        "uncertainty about f (sd_f: spread of member means), against nominal. A negative gap at 90% means "
        "intervals too narrow (over-confident). The verdict is the report's latent-function verdict (no claim "
        "for chains that have not mixed). Last column: the full predictive's 90% intervals (noise "
        "included) on f plus simulated observation noise.",
        "html": _table(["method", "cov 50%", "cov 90%", "cov 95%", "gap at 90% (points)", "verdict",
                        "rel. L2 of mean", "mean sd_f", "predictive cov 90% (noisy)"], rows),
    }


def _field_section(comparison) -> dict:
    from matplotlib.figure import Figure  # object-oriented API: no pyplot state, no backend switch

    from uqlab.diagnostics.plots import figure_to_base64

    shape = comparison.truth["test_grid_shape"]
    truth = np.asarray(comparison.truth["f_test"]).reshape(shape)
    methods = list(comparison.predictives)
    if len(shape) == 1:
        return _line_section(comparison, truth, methods, Figure)
    x_test = np.asarray(comparison.data.x_test)
    if len(shape) == 3:  # grid (t, x, y), input columns (x, y, t): the last snapshot, x across, y up
        last, (across, up), labels = (lambda a: a[-1].T), (x_test[:, 0], x_test[:, 1]), ("x", "y")
    else:  # grid (t, x), input columns (x, t): t across, x up
        last, (across, up), labels = (lambda a: a.T), (x_test[:, 1], x_test[:, 0]), ("t", "x")
    extent = (across.min(), across.max(), up.min(), up.max())
    fig = Figure(figsize=(13, 2.9 * len(methods)))
    axes = fig.subplots(len(methods), 4, squeeze=False)
    for row, method in zip(axes, methods):
        pred = comparison.predictives[method]
        mean, std = pred.mean[:, 0].reshape(shape), pred.std[:, 0].reshape(shape)
        panels = [("truth", truth, "RdBu_r"), ("mean", mean, "RdBu_r"), ("|error|", np.abs(mean - truth), "magma"),
                  ("predictive std", std, "magma")]
        for ax, (label, values, cmap) in zip(row, panels):
            image = ax.imshow(last(values), origin="lower", aspect="auto", cmap=cmap, extent=extent)
            fig.colorbar(image, ax=ax, fraction=0.046)
            ax.set_title(f"{method}: {label}", fontsize=10)
            ax.set_xlabel(labels[0])
            ax.set_ylabel(labels[1])
    fig.tight_layout()
    where = "the last time snapshot (x across, y up)" if len(shape) == 3 else "the (t, x) plane (t across, x up)"
    return {"title": "Field: mean, error and predictive std", "caption": f"Over {where} of the test grid.",
            "png": figure_to_base64(fig)}


def _line_section(comparison, truth, methods, Figure) -> dict:
    """1-D fields: truth, mean and the central 95% epistemic band per method, with the observations."""
    from uqlab.diagnostics.plots import figure_to_base64

    x = np.asarray(comparison.data.x_test)[:, 0]
    fig = Figure(figsize=(4.2 * len(methods), 3))
    for ax, method in zip(fig.subplots(1, len(methods), squeeze=False)[0], methods):
        pred = comparison.predictives[method]
        mean, sd = pred.mean[:, 0], np.sqrt(pred.epistemic_var[:, 0])
        ax.fill_between(x, mean - 1.96 * sd, mean + 1.96 * sd, color="C0", alpha=0.3, label="95% band")
        ax.plot(x, truth, "k--", lw=1, label="truth")
        ax.plot(x, mean, "C0", lw=1.2, label="mean")
        ax.plot(comparison.data.x[:, 0], comparison.data.y[:, 0], "k.", label="observations")
        ax.set_title(method, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"title": "Field: mean and 95% band", "caption": "Truth (dashed), posterior mean and central 95% "
            "band of the epistemic uncertainty, with the noisy observations.", "png": figure_to_base64(fig)}


def report_sections(comparison) -> list[dict]:
    """Confidence verdicts over the latent field and field plots, when the field is known (the report
    itself shows the inferred coefficients of every problem with quantities)."""
    return [_confidence_section(comparison), _field_section(comparison)] if "f_test" in comparison.truth else []
