"""Repeated-data coverage study: replicates redraw the noise only, intervals are recorded, the
binomial interval is Clopper-Pearson, and a saved study resumes without refitting."""

import json

import numpy as np
import pytest
from scipy.stats import beta

from uqlab import coverage, problems


def test_noise_seed_redraws_noise_and_keeps_the_design():
    a = problems.load("diffusion-reaction-inverse", noise_seed=1)
    b = problems.load("diffusion-reaction-inverse", noise_seed=2)
    np.testing.assert_array_equal(a.data.x, b.data.x)
    assert not np.array_equal(a.data.y, b.data.y)
    np.testing.assert_array_equal(a.data.y, problems.load("diffusion-reaction-inverse", noise_seed=1).data.y)


def test_summary_is_clopper_pearson():
    """19 of 20 covered: the exact interval is [Beta(0.025; 19, 2), Beta(0.975; 20, 1)]."""
    cell = lambda covers: {"x": {"mean": 1.1, "lower": 0.9, "upper": 1.3, "truth": 1.0, "covers": covers,  # noqa: E731
                                 "rhat": None, "ess_bulk": None, "fit_seconds": 1.0}}
    state = {"methods": ["m"], "replicates": [{"noise_seed": i, "m": cell(i != 3)} for i in range(20)]}
    s = coverage.summarize(state)["m"]["x"]
    assert (s["covered"], s["replicates"], s["coverage"]) == (19, 20, 0.95)
    assert s["ci_low"] == pytest.approx(beta.ppf(0.025, 19, 2), rel=1e-6)
    assert s["ci_high"] == pytest.approx(beta.ppf(0.975, 20, 1), rel=1e-6)
    assert s["mean_relative_error"] == pytest.approx(0.1) and s["mean_width"] == pytest.approx(0.4)


def test_tiny_study_writes_and_resumes(tmp_path):
    out = tmp_path / "cov.json"
    lines = []
    settings = {"ensemble": {"num_members": 2, "num_steps": 30}}
    state = coverage.coverage_study("diffusion-reaction-inverse", ["ensemble"], replicates=1, quick=True, out=out,
                                    settings=settings, progress=lines.append)
    assert [r["noise_seed"] for r in state["replicates"]] == [0] and len(lines) == 1
    row = state["replicates"][0]["ensemble"]["k"]
    assert row["lower"] <= row["mean"] <= row["upper"] and row["truth"] == 0.7
    assert row["covers"] == (row["lower"] <= 0.7 <= row["upper"])
    assert json.loads(out.read_text())["summary"]["ensemble"]["k"]["replicates"] == 1
    again = coverage.coverage_study("diffusion-reaction-inverse", ["ensemble"], replicates=1, quick=True, out=out,
                                    settings=settings, progress=lines.append)
    assert len(lines) == 1 and again["summary"] == state["summary"]  # nothing refitted
    assert "Clopper-Pearson" in coverage.to_html(state) and "ensemble" in coverage.to_text(state)


def test_cli_rejects_bad_input(capsys):
    from uqlab.__main__ import main

    assert main(["study", "coverage", "--problem", "nope", "--replicates", "1"]) == 2
    assert "--problem" in capsys.readouterr().err
    assert main(["study", "coverage", "--replicates", "0"]) == 2
    assert "--replicates" in capsys.readouterr().err
    assert main(["study", "coverage", "--problem", "toy1d", "--replicates", "1", "--methods", "ensemble"]) == 2
