"""The UCI benchmark as one self-contained HTML page in the calibration report's style.

The page includes the report's stylesheet (``uqlab/diagnostics/templates/_style.html``, the block
that ``report.html`` includes too) from its own jinja2 template, ``uqlab/bench/templates/uci.html``,
inside the report's ``uqlab-report`` container: per dataset, our mean ± standard error over splits beside the
published numbers, with the two-standard-error verdict, then each method's protocol and the
citations.
"""

from __future__ import annotations

import pathlib

from uqlab._io import atomic_write

__all__ = ["render_page", "write_page"]


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

    loader = jinja2.ChoiceLoader([jinja2.PackageLoader("uqlab.bench", "templates"),
                                  jinja2.PackageLoader("uqlab.diagnostics", "templates")])  # the report's _style.html
    template = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined).get_template("uci.html")
    return template.render(rows=table_rows, run=run, protocols=protocols, sources=sources,
                           version=__version__)


def write_page(table_rows: list[dict], run: dict, path, *, protocols: dict, sources: dict) -> pathlib.Path:
    """Write :func:`render_page` to ``path`` atomically; returns the path."""
    path = pathlib.Path(path)
    with atomic_write(path, encoding="utf-8") as handle:
        handle.write(render_page(table_rows, run, protocols=protocols, sources=sources))
    return path
