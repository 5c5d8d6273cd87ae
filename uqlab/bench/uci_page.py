"""The UCI benchmark as one self-contained HTML page in the calibration report's style.

The page borrows the report's stylesheet (the ``<style>`` element of
``uqlab/diagnostics/templates/report.html``) and renders its own jinja2 template,
``uqlab/bench/templates/uci.html``: per dataset, our mean ± standard error over splits beside the
published numbers, with the two-standard-error verdict, then each method's protocol and the
citations.
"""

from __future__ import annotations

import pathlib
import re
from importlib import resources

from uqlab._io import atomic_write

__all__ = ["render_page", "write_page"]


def _report_style() -> str:
    text = resources.files("uqlab.diagnostics").joinpath("templates/report.html").read_text()
    match = re.search(r"<style>.*?</style>", text, re.S)
    if match is None:
        raise RuntimeError("uqlab/diagnostics/templates/report.html has no <style> element to borrow")
    return match.group(0)


def render_page(table_rows: list[dict], run: dict, *, protocols: dict, sources: dict) -> str:
    """The HTML text of the benchmark page.

    Args:
        table_rows: :func:`uqlab.bench.uci.rows` of a summary (ours, published, verdicts).
        run: the run metadata written to ``uci-run.json``.
        protocols: method name -> protocol text.
        sources: source key -> ``{"citation", "note"}`` of the published numbers shown.
    """
    import jinja2

    from uqlab._version import __version__

    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("uqlab.bench").joinpath("templates/uci.html").read_text()
    )
    return template.render(style=_report_style(), rows=table_rows, run=run, protocols=protocols, sources=sources,
                           version=__version__)


def write_page(table_rows: list[dict], run: dict, path, *, protocols: dict, sources: dict) -> pathlib.Path:
    """Write :func:`render_page` to ``path`` atomically; returns the path."""
    path = pathlib.Path(path)
    with atomic_write(path, encoding="utf-8") as handle:
        handle.write(render_page(table_rows, run, protocols=protocols, sources=sources))
    return path
