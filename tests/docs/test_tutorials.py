"""Tutorials: each jupytext source and its committed notebook hold the same cells, the notebook
carries its outputs, and each source runs top to bottom in a fresh kernel in smoke mode
(``UQLAB_TUTORIAL_SMOKE=1``: the same code with tiny run sizes)."""

import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tutorials"))
import regenerate  # noqa: E402

SOURCES = regenerate.sources()


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_there_are_tutorials():
    names = [s.stem for s in SOURCES]
    assert len(names) >= 5 and names[0] == "01_quickstart", names


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_notebook_is_in_sync_with_its_source_and_has_outputs(source):
    import jupytext
    import nbformat

    target = source.with_suffix(".ipynb")
    assert target.is_file(), f"{target.name} is missing: run python tutorials/regenerate.py {source.stem}"
    committed = nbformat.read(target, as_version=4)
    assert _cells(committed) == _cells(jupytext.read(source)), (
        f"{target.name} differs from {source.name}: run python tutorials/regenerate.py {source.stem}")
    code = [cell for cell in committed.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in code), f"{target.name} was not executed top to bottom"
    figures = [output for cell in code for output in cell.outputs
               if output.get("data", {}).get("image/png") or "data:image/png;base64," in output.get("data", {}).get("text/html", "")]
    assert figures, f"{target.name} has no figure output (a PNG, or a report with embedded PNGs)"
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"{target.name} holds an error output"


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.stem)
def test_tutorial_runs_in_smoke_mode(source, tmp_path):
    notebook = regenerate.execute(source, smoke=True, cwd=tmp_path, timeout=600)
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors
