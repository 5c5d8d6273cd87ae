"""Report rendering, its JSON twin, save/load round trip, sampler diagnostics and the CLI."""

import json
import re

import numpy as np
import pytest

from uqlab.diagnostics import report, sampler
from uqlab.diagnostics.compare import Comparison

SECTIONS = ("metadata", "summary", "verdicts", "calibration-table", "sampler", "bands", "reliability", "pit",
            "coverage", "sharpness", "split")


@pytest.fixture(scope="module")
def written(comparison, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    report.write_report(comparison, path)
    return path


def test_report_has_every_section_and_problem_sections(written):
    html = written.read_text()
    for section in SECTIONS:
        assert f'<section id="section-{section}">' in html, section
    assert '<table id="summary">' in html and '<table id="sampler">' in html
    assert "<p id='extra'>extra</p>" in html and "Problem extra" in html
    assert html.count("data:image/png;base64,") == 6  # bands, reliability, PIT, coverage, sharpness, split


def test_report_is_self_contained(written):
    html = written.read_text().lower()
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script[^>]*src", html) and not re.search(r"<link[^>]*href", html)


def test_report_verdicts_and_best_marks(written):
    data = json.loads(written.with_suffix(".json").read_text())
    labels = {m: d["verdict"]["label"] for m, d in data["diagnostics"].items()}
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
