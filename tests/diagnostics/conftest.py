"""Synthetic Predictives whose calibration is known exactly."""

import numpy as np
import pytest

from uqlab import Dataset, Predictive
from uqlab.diagnostics.compare import Comparison
from uqlab.diagnostics.metrics import evaluate

N = 4000


def gaussian_case(width: float, n: int = N, seed: int = 0):
    """Targets ~ N(mu, 1); the Predictive says N(mu, width**2): 1 calibrated, <1 over-, >1 under-confident."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=(1, n, 1))
    y = mu[0] + rng.standard_normal((n, 1))
    return Predictive(mu, np.full_like(mu, width)), y


def mixture_case(n: int = N, members: int = 8, seed: int = 0):
    """Targets drawn from the very mixture the Predictive describes: calibrated by construction."""
    rng = np.random.default_rng(seed)
    pred = Predictive(rng.normal(size=(members, n, 1)), rng.uniform(0.3, 1.0, (members, n, 1)))
    return pred, pred.sample(1, rng=rng)[0]


@pytest.fixture(scope="session")
def comparison():
    """A Comparison built directly from synthetic Predictives (no fitting)."""
    rng = np.random.default_rng(0)
    x, xt = rng.uniform(-3, 3, (200, 1)), np.linspace(-3, 3, 300)[:, None]
    y, yt = np.sin(x) + 0.3 * rng.normal(size=x.shape), np.sin(xt) + 0.3 * rng.normal(size=xt.shape)
    ft = np.sin(xt)
    preds = {
        "calibrated": Predictive(ft[None] + 0.02 * rng.normal(size=(10, 300, 1)), np.full((10, 300, 1), 0.3)),
        "overconfident": Predictive(ft[None], np.full((1, 300, 1), 0.1)),
        "underconfident": Predictive(ft[None] + 0.9 * rng.normal(size=(50, 300, 1))),
    }
    metrics = ("rmse", "nll", "crps", "coverage@0.9", "width@0.9", "miscal_area")
    rows = [{"method": m, "seed": s, **evaluate(p, yt, metrics), "fit_seconds": 1.0 + s, "predict_seconds": 0.1}
            for m, p in preds.items() for s in (0, 1)]
    infos = {"calibrated": {"rhat_max": 1.002, "divergences": 0, "acceptance_rate": 0.85}, "overconfident": {}, "underconfident": {}}
    sections = [{"title": "Problem extra", "caption": "from the problem", "html": "<p id='extra'>extra</p>"}]
    quantities = {m: {"nu": Predictive(rng.normal(size=(5, 1, 1)))} for m in preds}
    return Comparison("synthetic", rows, preds, infos, metrics, quantities, Dataset(x, y, xt, yt, name="syn"),
                      {"f_test": ft[:, 0]}, {"seeds": [0, 1], "description": "synthetic check", "quick": True}, sections)


@pytest.fixture(scope="session")
def report_object(comparison):
    """The synthetic comparison's Report (its figures are drawn once and shared)."""
    from uqlab.diagnostics.report import Report

    return Report(comparison)


@pytest.fixture(scope="session")
def written(report_object, tmp_path_factory):
    """The synthetic comparison's report written to a file (HTML and JSON)."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    report_object.write(path)
    return path
