"""The main job, ``python -m uqlab compare``, in quick mode."""

import re

from uqlab.__main__ import main


def test_quick_compare_writes_report_with_table(tmp_path, capsys):
    assert main(["compare", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    for method in ("nuts", "ensemble", "mc_dropout"):
        assert re.search(rf"^{method}\s+\d", out, re.MULTILINE), out
    path = re.search(r"report written to (\S+)", out).group(1)
    html = open(path, encoding="utf-8").read()
    assert '<table id="summary">' in html and "fit_seconds" in html
    assert html.count("data:image/png;base64,") >= 2
    assert "http://" not in html and "https://" not in html


def test_help_and_bad_arguments(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "--quick" in capsys.readouterr().out
    assert main(["compare", "--methods", "nuts,bogus"]) == 2
    assert "--methods: expected one of" in capsys.readouterr().err


def test_problem_gives_each_method_its_kind_of_model():
    import uqlab
    from uqlab.models import GP, BayesianMLP

    problem = uqlab.problems.load("toy1d", quick=True)
    assert all(isinstance(problem.model_for(name), GP) for name in ("gp", "gp_nuts", "svgp"))
    assert isinstance(problem.model_for("nuts"), BayesianMLP)
