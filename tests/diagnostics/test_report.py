"""Report rendering, its JSON twin, save/load round trip, sampler diagnostics and the CLI."""

import json
import re

import numpy as np
import pytest

from uqlab.diagnostics import report, sampler
from uqlab.diagnostics.compare import Comparison

SECTIONS = ("metadata", "summary", "verdicts", "coefficients", "regions", "calibration-table", "sampler", "bands",
            "reliability", "pit", "coverage", "sharpness", "split")


def test_report_has_every_section_and_problem_sections(written):
    html = written.read_text()
    for section in SECTIONS:
        assert f'<section id="section-{section}">' in html, section
    assert '<table id="summary">' in html and '<table id="sampler">' in html
    assert "<p id='extra'>extra</p>" in html and "Problem extra" in html
    assert html.count("data:image/png;base64,") == 7  # regions, bands, reliability, PIT, coverage, sharpness, split


def test_report_is_self_contained(written):
    html = written.read_text().lower()
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script[^>]*src", html) and not re.search(r"<link[^>]*href", html)


def test_report_verdicts_and_best_marks(written):
    data = json.loads(written.with_suffix(".json").read_text())
    labels = {m: d["observed"]["label"] for m, d in data["verdicts"].items()}
    assert labels == {"calibrated": "calibrated", "overconfident": "over-confident", "underconfident": "under-confident"}
    assert data["best"]["coverage@0.9"] == "calibrated" and data["best"]["nll"] == "calibrated"
    assert data["best"]["width@0.9"] is None  # descriptive: narrowest is not best
    assert data["sampler"]["calibrated"]["rhat_max"] == pytest.approx(1.002)
    assert data["meta"]["seeds"] == [0, 1] and "uqlab" in data["meta"]["versions"]
    html = written.read_text()
    assert "Over-confident: the 90% intervals cover" in html


def test_to_dict_numbers_match_the_summary(comparison):
    data = report.Report(comparison).to_dict()
    summary = comparison.summary()
    for method, columns in summary.items():
        assert data["summary"][method]["crps"]["mean"] == pytest.approx(columns["crps"][0])
    json.dumps(data, allow_nan=False)  # strict JSON


def test_save_load_round_trip(comparison, tmp_path):
    loaded = Comparison.load(comparison.save(tmp_path / "cmp"))
    assert loaded.rows == comparison.rows and loaded.metrics == comparison.metrics
    for name, pred in comparison.predictives.items():
        np.testing.assert_array_equal(loaded.predictives[name].loc, pred.loc)
        assert (loaded.predictives[name].scale is None) == (pred.scale is None)
    np.testing.assert_array_equal(loaded.quantities["calibrated"]["nu"].loc, comparison.quantities["calibrated"]["nu"].loc)
    np.testing.assert_array_equal(loaded.data.y_test, comparison.data.y_test)
    assert loaded.infos == comparison.infos and loaded.sections == comparison.sections
    assert loaded.to_text() == comparison.to_text()


def test_load_names_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="table.csv"):
        Comparison.load(tmp_path)


def test_cli_report_rerenders_a_saved_comparison(comparison, tmp_path):
    from uqlab.__main__ import main

    comparison.save(tmp_path / "cmp")
    assert main(["report", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "report-synthetic.html").is_file()
    assert (tmp_path / "cmp" / "report-synthetic.json").is_file()
    assert main(["report", str(tmp_path / "missing")]) == 2


def test_function_space_and_arviz_sampler_diagnostics():
    import arviz as az

    rng = np.random.default_rng(0)
    good = sampler.function_space_diagnostics(rng.normal(size=(4 * 200, 3, 1)), 4)
    assert good["pred_rhat_max"] < 1.02 and good["pred_ess_bulk_min"] > 400
    stuck = rng.normal(size=(4, 200, 3, 1)) + np.arange(4)[:, None, None, None]  # chains disagree
    assert sampler.function_space_diagnostics(stuck.reshape(800, 3, 1), 4)["pred_rhat_max"] > 1.5
    idata = az.from_dict(posterior={"w": rng.normal(size=(2, 100, 3))},
                         sample_stats={"diverging": np.arange(200).reshape(2, 100) < 3, "acceptance_rate": np.full((2, 100), 0.8)})
    out = sampler.inference_data_diagnostics(idata)
    assert out["divergences"] == 3 and out["acceptance_rate"] == pytest.approx(0.8) and out["rhat_max"] < 1.05


def _with(comparison, **changes):
    import dataclasses

    return dataclasses.replace(comparison, **changes)


def test_threshold_breaches_are_highlighted_and_unmixed_chains_are_not_judged(comparison, monkeypatch):
    """R-hat 2.84 / ESS 4.7 (the numbers the issue saw unmarked) turn red and gate the verdict."""
    monkeypatch.setattr(report.Report, "_figures", [])  # tables only: figures are tested above
    monkeypatch.setattr(report.plots, "region_coverage", lambda table: report.plots._pyplot().figure(figsize=(1, 1)))
    infos = {**comparison.infos, "overconfident": {"pred_rhat_max": 2.84, "pred_ess_bulk_min": 4.7, "divergences": 3},
             "underconfident": {"pred_rhat_max": 1.03, "pred_ess_bulk_min": 900.0}}
    rep = report.Report(_with(comparison, infos=infos))
    html = rep.to_html()
    assert '<td class="fail">2.84</td>' in html and '<td class="fail">4.7</td>' in html
    assert '<td class="warn">3</td>' in html and '<td class="warn">1.03</td>' in html
    assert "1.002</td>" in html and '<td class="fail">1.002' not in html and '<td class="warn">1.002' not in html
    verdicts = rep.to_dict()["verdicts"]
    assert verdicts["overconfident"]["convergence"]["status"] == "not converged" and not verdicts["overconfident"]["judged"]
    assert verdicts["underconfident"]["convergence"]["status"] == "doubtful" and verdicts["underconfident"]["judged"]
    assert verdicts["calibrated"]["convergence"]["status"] == "converged"
    table = html.split('<table id="verdicts">')[1].split("</table>")[0]
    row = table.split("<td>overconfident</td>")[1].split("</tr>")[0]
    assert "Not converged" in row and "Not judged" in row and "Over-confident" not in row


def test_coefficients_json_with_chain_diagnostics(comparison):
    from uqlab import Predictive

    rng = np.random.default_rng(1)
    mixed = rng.normal(0.5, 0.01, size=(4 * 300, 1, 1))
    stuck = (rng.normal(0.0, 0.01, size=(4, 300)) + np.array([0.4, 0.5, 0.6, 0.7])[:, None]).reshape(-1, 1, 1)
    quantities = {"calibrated": {"nu": Predictive(mixed)}, "overconfident": {"nu": Predictive(stuck)},
                  "underconfident": {"nu": Predictive(np.full((1, 1, 1), 0.55))}}
    infos = {**comparison.infos, "calibrated": {**comparison.infos["calibrated"], "num_chains": 4},
             "overconfident": {"num_chains": 4}}
    data = report.Report(_with(comparison, quantities=quantities, infos=infos, truth={**comparison.truth, "nu": 0.5})).to_dict()
    coefficients = data["coefficients"]
    assert set(coefficients["calibrated"]["nu"]) == {"mean", "lower", "upper", "level", "truth", "rhat", "ess_bulk"}
    good, bad, point = coefficients["calibrated"]["nu"], coefficients["overconfident"]["nu"], coefficients["underconfident"]["nu"]
    assert good["truth"] == 0.5 and good["level"] == 0.95 and good["lower"] < 0.5 < good["upper"]
    assert good["mean"] == pytest.approx(0.5, abs=4 * 0.01 / np.sqrt(1200))
    assert good["rhat"] < 1.01 and good["ess_bulk"] > 800
    assert bad["rhat"] > 2 and data["verdicts"]["overconfident"]["convergence"]["status"] == "not converged"
    assert point["rhat"] is None and point["lower"] == point["upper"] == 0.55
    unknown = report.Report(_with(comparison, quantities=quantities, infos=infos)).to_dict()["coefficients"]
    assert unknown["calibrated"]["nu"]["truth"] is None


def test_region_coverage_from_problem_regions_and_from_distance(comparison):
    from uqlab.diagnostics import regions

    truth = {**comparison.truth, "regions": {"left": [[None, 0.0]], "right": [[0.0, None]]}}
    table = regions.region_coverage(_with(comparison, truth=truth), level=0.9)
    x, y = comparison.data.x_test[:, 0], comparison.data.y_test
    pred = comparison.predictives["overconfident"]
    lower, upper = pred.interval(0.9)
    inside = ((lower <= y) & (y <= upper))[:, 0]
    assert table["regions"]["left"]["n"] == int(np.sum(x <= 0)) and table["targets"] == "observed targets"
    assert table["regions"]["left"]["methods"]["overconfident"]["coverage"] == pytest.approx(inside[x <= 0].mean())
    assert table["regions"]["right"]["methods"]["overconfident"]["width"] == pytest.approx((upper - lower)[x > 0, 0].mean())
    by_distance = regions.region_coverage(comparison)
    assert len(by_distance["regions"]) == regions.NUM_DISTANCE_BINS and "nearest training input" in by_distance["how"]
    counts = [r["n"] for r in by_distance["regions"].values()]
    assert sum(counts) == len(x) and max(counts) - min(counts) <= len(x) // 10


def test_noise_free_targets_get_only_the_latent_verdict_and_it_matches_the_pde_table(comparison):
    """PDE problems score the noise-free field: no observed-target verdict; the report's latent
    verdict and the PDE confidence table give the same label."""
    from uqlab.problems.pde import confidence_summary

    f = comparison.truth["f_test"][:, None]
    data = comparison.data
    latent = _with(comparison, data=type(data)(data.x, data.y, data.x_test, f, name="syn"))
    verdicts = report.Report(latent).to_dict()["verdicts"]
    table = confidence_summary(latent)
    for method, v in verdicts.items():
        assert v["observed"] is None
        if v["latent"] is not None:
            assert table[method]["verdict"].startswith(v["latent"]["label"])
    assert verdicts["calibrated"]["latent"]["label"] == "under-confident"  # member spread 0.02 vs exact f: wide
    assert verdicts["overconfident"]["latent"] is None  # one member: no epistemic spread


def test_report_displays_inline_in_a_notebook(report_object):
    fragment = report_object._repr_html_()
    assert fragment.lstrip().startswith("<style>") and "<html" not in fragment and "<body" not in fragment
    assert ".uqlab-report table" in fragment and 'id="section-verdicts"' in fragment
