"""The README holds on a fresh clone: CI runs its commands, its paths and links exist."""

import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _bash_blocks(text: str) -> list[str]:
    return [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()
            if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readme_install_and_test_command():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith(("#", "set ", "cd "))]
    first, test = _bash_blocks(README)[:2]
    venv, install, main_job = first.split(" && ")
    assert venv == ci[0], "README's venv step differs from .ci/run's"
    assert install.replace("pip install", "pip install -q") == ci[1], "README's install differs from .ci/run's"
    assert main_job == ".venv/bin/python -m uqlab compare"
    assert test == ci[-1], "README's test command differs from .ci/run's"


def test_report_command_uses_the_folder_compare_writes():
    from uqlab.__main__ import _parser

    default_out = _parser().parse_args(["compare"]).out
    paths = re.findall(r"-m uqlab report (\S+)", README)
    assert paths == [f"{default_out}/comparison-toy1d"]
    main_source = (ROOT / "uqlab" / "__main__.py").read_text()
    assert 'f"comparison-{problem.name}"' in main_source and 'f"report-{problem.name}.html"' in main_source


def test_links_stay_inside_the_repository():
    for text, where in ((README, "README.md"), *((p.read_text(), str(p.relative_to(ROOT))) for p in (ROOT / "uqlab").rglob("*.py"))):
        assert "../shared" not in text and "DESIGN.md" not in text, f"{where} points outside the repository"
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), target
    for path in re.findall(r"`((?:docs|uqlab|benchmarks|tutorials)/[\w./-]+|LICENSE|CHANGELOG\.md)`", README):
        assert (ROOT / path).exists(), f"README names {path}, which does not exist"


def test_architecture_note_exists():
    assert (ROOT / "docs" / "architecture.md").is_file()


def test_licence_changelog_and_typing_marker_ship():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"]["text"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "CHANGELOG.md").is_file()
    assert (ROOT / "uqlab" / "py.typed").is_file() and "py.typed" in project["tool"]["setuptools"]["package-data"]["uqlab"]


def test_readme_states_the_defaults_the_code_has():
    import dataclasses

    from uqlab.inference.registry import get_method

    nuts = {f.name: f.default for f in dataclasses.fields(get_method("nuts"))}
    assert f"{nuts['num_warmup']} warmup + {nuts['num_samples']} draws" in README
    assert f"NUTS: {nuts['num_chains']} chains" in README
