"""The documentation site builds with ``mkdocs build --strict``: a broken link, a missing page or
an API reference to a name that does not exist fails the build."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (it is in the dev extra: pip install -e '.[dev]')")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-4000:]
    for page in ("index.html", "getting-started/index.html", "architecture/index.html", "api/inference/index.html",
                 "tutorials/01_quickstart/index.html"):
        assert (tmp_path / "site" / page).is_file(), page
    assert "uqlab.fit" in (tmp_path / "site" / "api" / "uqlab" / "index.html").read_text()
