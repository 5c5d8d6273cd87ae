"""Benchmarks at scale: grids of independent cells run in-process or spread over Ray.

:mod:`uqlab.bench.executors` runs cells (a JSON-able argument dict for a named function) with
``executor="local"`` (in-process, one after another) or ``executor="ray"`` (one Ray task per cell),
writes each cell's result atomically as it finishes, and skips cells already written, so an
interrupted run resumes where it stopped. :mod:`uqlab.bench.uci` is the UCI regression benchmark
(``python -m uqlab bench uci``) built on it.
"""

from uqlab.bench.executors import EXECUTORS, Cell, run_cells

__all__ = ["EXECUTORS", "Cell", "run_cells"]
