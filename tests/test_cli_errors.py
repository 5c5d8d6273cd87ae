"""Every user error on the command line is one ``error:`` line and exit status 2 (issue 13)."""

from __future__ import annotations

import pathlib
import shutil

import pytest

from uqlab.__main__ import main

DATA = pathlib.Path(__file__).resolve().parent / "data"


def _one_error_line(capsys, match):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert match in err[0]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--methods", ","], "--methods: expected comma-separated method names, got ','"),
        (["--methods", "ensemble,bogus"], "--methods: expected one of"),
        (["--seeds", "0"], "--seeds: expected an integer >= 1, got 0"),
        (["--problem", "bogus"], "problem"),
    ],
)
def test_compare_bad_arguments(args, match, capsys, tmp_path):
    assert main(["compare", "--quick", "--out", str(tmp_path), *args]) == 2
    _one_error_line(capsys, match)


def test_compare_checks_the_output_folder_before_fitting(capsys, tmp_path, monkeypatch):
    import uqlab.study as compare_module

    monkeypatch.setattr(compare_module, "compare", lambda *a, **k: pytest.fail("fitted before checking --out"))
    (tmp_path / "file").write_text("x")
    assert main(["compare", "--quick", "--methods", "ensemble", "--out", str(tmp_path / "file" / "out")]) == 2
    _one_error_line(capsys, "--out: cannot write to the folder")


@pytest.fixture
def saved(tmp_path):
    folder = tmp_path / "cmp"
    shutil.copytree(DATA / "comparison_v1", folder)
    return folder


def test_report_of_an_old_comparison(saved, capsys):
    assert main(["report", str(saved)]) == 0
    assert (saved / "report-tiny.html").is_file()


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda f: (f / "meta.json").write_text('{"problem": '), "meta.json is not valid JSON"),
        (lambda f: (f / "meta.json").write_text('{"problem": "x"}'), "meta.json: expected 'metrics' as a list"),
        (lambda f: (f / "predictives.nc").write_bytes(b"nope"), "predictives.nc' is not a readable netCDF file"),
        (lambda f: (f / "table.csv").unlink(), "expected a saved comparison folder with table.csv"),
    ],
)
def test_report_of_a_damaged_comparison(saved, damage, match, capsys):
    damage(saved)
    assert main(["report", str(saved)]) == 2
    _one_error_line(capsys, match)


def test_report_out_not_writable(saved, capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    assert main(["report", str(saved), "--out", str(tmp_path / "file" / "r.html")]) == 2
    _one_error_line(capsys, "--out: cannot write to the folder")


def test_report_of_a_file(saved, capsys):
    assert main(["report", str(saved / "meta.json")]) == 2
    _one_error_line(capsys, "is a file; expected a saved comparison folder")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--methods", ","], "--methods: expected comma-separated method names, got ','"),
        (["--out", "FILE/out"], "--out: cannot write to the folder"),
    ],
)
def test_study_bad_arguments_before_any_fit(args, match, capsys, tmp_path, monkeypatch):
    import uqlab.coverage

    monkeypatch.setattr(uqlab.coverage, "coverage_study", lambda *a, **k: pytest.fail("ran before checking arguments"))
    (tmp_path / "FILE").write_text("x")
    args = [a.replace("FILE", str(tmp_path / "FILE")) for a in args]
    assert main(["study", "coverage", "--quick", *args]) == 2
    _one_error_line(capsys, match)
