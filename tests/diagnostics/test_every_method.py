"""Comparison and report on what the registered methods produce.

Every registered method returns a Gaussian-mixture Predictive (S = 1 for the GP, SVGP and Laplace;
S members with per-member or shared scales for ensembles, dropout, VI and the samplers) and an info
dict of scalars, lists and arrays. One real ``uqlab.compare`` of two tiny methods (a sampler and a
heteroscedastic ensemble, each with its own model) runs end to end; the other output kinds are
synthetic, with info dicts shaped like the real ones.
"""

import json

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import tiny_data, tiny_mlp
from uqlab import Predictive
from uqlab.diagnostics import report
from uqlab.diagnostics.compare import Comparison
from uqlab.diagnostics.metrics import REGRESSION_METRICS
from uqlab.problems import Problem

METRICS = ("rmse", "mae", "nll", "crps", "coverage@0.9", "width@0.9", "is@0.9", "miscal_area", "ence")


@pytest.fixture(scope="module")
def real():
    from uqlab.inference.ensemble import DeepEnsemble
    from uqlab.inference.sgmcmc import SGLD
    from uqlab.models import Heteroscedastic

    problem = Problem("tiny", tiny_data(), tiny_mlp, description="tiny sine")
    methods = [SGLD(step_size=1e-3, batch_size=8, num_samples=10, num_burnin=20, num_chains=2, progress=False),
               DeepEnsemble(num_members=3, num_steps=30, progress=False)]
    return uqlab.compare(methods, {"ensemble": tiny_mlp(likelihood=Heteroscedastic())}, problem, seeds=(0, 1), metrics=METRICS)


def test_compare_of_real_fits_has_mean_and_standard_error_over_seeds(real):
    assert real.methods == ["sgld", "ensemble"] and len(real.rows) == 4
    summary = real.summary()
    for method in real.methods:
        rows = [row for row in real.rows if row["method"] == method]
        values = np.array([row["crps"] for row in rows])
        assert summary[method]["crps"][0] == pytest.approx(values.mean())
        assert summary[method]["crps"][1] == pytest.approx(values.std(ddof=1) / np.sqrt(2))
        assert all(row["fit_seconds"] > 0 and row["predict_seconds"] > 0 for row in rows)
    assert real.predictives["ensemble"].num_members == 3 and real.predictives["sgld"].num_members == 20


def _synthetic_kinds(data):
    """Predictives and infos shaped like those of the other registered methods."""
    rng = np.random.default_rng(0)
    n = len(data.x_test)
    f = np.sin(2 * data.x_test)
    return {
        "gp": Predictive(f[None], np.full((1, n, 1), 0.2)),  # S = 1 closed form (also SVGP, Laplace)
        # Samplers and VI: members share a noise scale per draw (homoscedastic likelihood).
        "nuts": Predictive(f[None] + 0.1 * rng.normal(size=(20, n, 1)), np.full((20, 1, 1), 0.1) * rng.uniform(0.8, 1.2, (20, 1, 1))),
        "recalibrated": Predictive(f[None] + 0.2 * rng.normal(size=(99, n, 1))),  # pure samples (isotonic)
    }, {
        "gp": {"fit_seconds": 0.1, "log_marginal_likelihood": -3.0, "converged": True, "num_iterations": 3},
        "nuts": {"fit_seconds": 1.0, "acceptance_rate": 0.8, "divergences": 2, "rhat_max": 1.3, "ess_bulk_min": 4.0,
                 "ess_tail_min": 3.0, "pred_rhat_max": float("nan"), "pred_ess_bulk_min": 5.0, "num_gradient_evals": 300},
        "recalibrated": {},
    }


def test_report_on_real_and_synthetic_outputs_of_every_kind(real, tmp_path):
    predictives, infos = _synthetic_kinds(real.data)
    y = real.data.y_test
    rows = list(real.rows)
    for name, pred in predictives.items():
        scores = uqlab.diagnostics.evaluate(pred, y, METRICS)
        rows += [{"method": name, "seed": seed, **scores, "fit_seconds": 0.5, "predict_seconds": 0.01} for seed in (0, 1)]
    mixed = Comparison("tiny", rows, {**real.predictives, **predictives}, {**real.infos, **infos}, METRICS,
                       data=real.data, truth={"f_test": np.sin(2 * real.data.x_test[:, 0])}, meta=dict(real.meta))
    loaded = Comparison.load(mixed.save(tmp_path / "cmp"))
    path = report.write_report(loaded, tmp_path / "report.html")
    html = path.read_text()
    for method in mixed.methods:
        assert f"<td>{method}</td>" in html
    data = json.loads(path.with_suffix(".json").read_text())
    assert set(data["diagnostics"]) == set(mixed.methods)
    assert data["sampler"]["nuts"]["divergences"] == 2 and data["sampler"]["nuts"]["pred_rhat_max"] is None
    assert data["best"]["crps"] in mixed.methods and data["best"]["width@0.9"] is None
    from uqlab.diagnostics.verdicts import latent_predictive

    for name, pred in mixed.predictives.items():  # the test targets are the noise-free sine: latent verdicts only
        assert data["verdicts"][name]["observed"] is None
        verdict, latent = data["verdicts"][name]["latent"], latent_predictive(pred)
        if latent is None:
            assert pred.num_members == 1 and verdict is None
            continue
        assert verdict["label"] in ("calibrated", "over-confident", "under-confident")
        assert verdict["coverage"] == pytest.approx(np.mean(np.abs(uqlab.diagnostics.pit(latent, y) - 0.5) <= 0.45))
    assert data["verdicts"]["nuts"]["convergence"]["status"] == "not converged" and not data["verdicts"]["nuts"]["judged"]
    assert data["verdicts"]["gp"]["convergence"] is None and data["verdicts"]["gp"]["latent"] is None  # S = 1


def test_every_registered_metric_reads_every_output_kind(real):
    predictives, _ = _synthetic_kinds(real.data)
    everything = [m.alias for m in REGRESSION_METRICS.values()]
    for pred in [*real.predictives.values(), *predictives.values()]:
        values = uqlab.diagnostics.evaluate(pred, real.data.y_test, everything)
        assert all(np.isfinite(v) for k, v in values.items() if k != "epi_frac" or pred.num_members > 1)


def test_compare_rejects_model_dict_for_unknown_methods_and_duplicate_methods():
    from uqlab.inference.sgmcmc import SGLD

    problem = Problem("tiny", tiny_data(), tiny_mlp)
    with pytest.raises(ValueError, match=r"model: dict keys must be names of the compared methods \['sgld'\], got \['gp'\]"):
        uqlab.compare([SGLD()], {"gp": object()}, problem)
    with pytest.raises(ValueError, match="methods: each method must appear once"):
        uqlab.compare([SGLD(), SGLD(step_size=1e-4)], None, problem)
