"""Run a grid of independent cells in-process or as Ray tasks, resumably.

A :class:`Cell` names a function (``"module:attribute"``) and the JSON-able keyword arguments it
is called with; the function returns a JSON-able dict. :func:`run_cells` runs the cells that are
not finished yet:

- ``executor="local"``: one after another in this process;
- ``executor="ray"``: one Ray task per cell (Moritz et al., 2018), on a local Ray started for the
  run (``num_cpus`` workers, bound to 127.0.0.1, no dashboard, no usage statistics) or on an
  existing cluster given by ``address`` (its workers must be able to import uqlab).

With a ``store`` folder each cell's result is written atomically to ``store/<cell.name>.json`` as
soon as it finishes, and a cell whose file already holds a result for the same function and
arguments is skipped: rerunning the same command after a crash or Ctrl-C computes only the
missing cells. A cell's numbers depend only on its arguments (seeds included), so both executors
give the same results.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pathlib
import time

from uqlab._io import atomic_write

__all__ = ["EXECUTORS", "Cell", "call_cell", "finished", "run_cells"]

EXECUTORS = ("local", "ray")


@dataclasses.dataclass(frozen=True)
class Cell:
    """One unit of work: ``function(**args)`` returning a JSON-able dict.

    Args:
        name: unique label; with a store, the result file's path relative to the store folder
            (e.g. ``"bostonHousing/ensemble/split-03"``).
        function: ``"module:attribute"`` of a module-level function (importable by Ray workers).
        args: JSON-able keyword arguments.
    """

    name: str
    function: str
    args: dict

    def __post_init__(self):
        if not isinstance(self.function, str) or self.function.count(":") != 1:
            raise ValueError(f"function: expected 'module:attribute', got {self.function!r}")
        if not self.name or pathlib.PurePath(self.name).is_absolute() or ".." in pathlib.PurePath(self.name).parts:
            raise ValueError(f"name: expected a non-empty relative path without '..', got {self.name!r}")


def call_cell(function: str, args: dict) -> dict:
    """Import ``function`` and call it with ``args``; returns its dict and the wall time in seconds."""
    module, attribute = function.split(":")
    start = time.perf_counter()
    result = getattr(importlib.import_module(module), attribute)(**args)
    return {"result": result, "seconds": time.perf_counter() - start}


def _path(store: pathlib.Path, cell: Cell) -> pathlib.Path:
    return store / f"{cell.name}.json"


def _load(store: pathlib.Path | None, cell: Cell) -> dict | None:
    """The stored record of ``cell`` if it is finished with the same function and arguments."""
    if store is None or not _path(store, cell).is_file():
        return None
    try:
        record = json.loads(_path(store, cell).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    same = record.get("function") == cell.function and record.get("args") == json.loads(json.dumps(cell.args))
    return record if same and "result" in record else None


def _save(store: pathlib.Path | None, cell: Cell, outcome: dict, executor: str) -> dict:
    record = {"name": cell.name, "function": cell.function, "args": cell.args, "executor": executor, **outcome}
    if store is not None:
        with atomic_write(_path(store, cell)) as handle:
            json.dump(record, handle, indent=1)
    return record


def finished(cells, store) -> dict[str, dict]:
    """Records of the ``cells`` already finished in the ``store`` folder (same function and arguments)."""
    store = pathlib.Path(store)
    return {cell.name: record for cell in cells if (record := _load(store, cell)) is not None}


def run_cells(cells, *, store=None, executor: str = "local", address: str | None = None,
              num_cpus: int | None = None, progress: bool | None = None, desc: str = "cells") -> dict[str, dict]:
    """Run every cell not yet finished in ``store``; return all records by cell name.

    Args:
        cells: :class:`Cell` objects with distinct names.
        store: folder for the result files (None: keep results in memory only, nothing resumes).
        executor: "local" (in-process) or "ray" (one Ray task per cell).
        address: Ray cluster address to join (``"auto"``, ``"ray://host:10001"``, ...); None starts a
            local Ray for this run and shuts it down afterwards. Ray executor only.
        num_cpus: CPUs of the local Ray (None: all of this machine's); each cell takes one.
        progress: progress bar over cells (None: on unless ``UQLAB_PROGRESS=0``).
        desc: progress-bar label.

    Returns:
        ``{name: record}``, each record ``{"name", "function", "args", "executor", "result",
        "seconds"}``, for finished cells (stored ones included).

    Raises:
        ValueError: unknown executor, duplicate cell names, ``address`` or ``num_cpus`` with the
            local executor.
        ImportError: ``executor="ray"`` without Ray installed.
        RuntimeError: cells raised (the first error is chained), after every other cell has run
            and been stored. Ctrl-C stops at once; the cells finished so far stay stored.
    """
    cells = list(cells)
    if executor not in EXECUTORS:
        raise ValueError(f"executor: expected one of {list(EXECUTORS)}, got {executor!r}")
    if executor == "local" and (address is not None or num_cpus is not None):
        raise ValueError("address, num_cpus: only the 'ray' executor takes them; got executor='local'")
    names = [cell.name for cell in cells]
    if len(set(names)) != len(names):
        raise ValueError(f"cells: expected distinct names, got duplicates {sorted({n for n in names if names.count(n) > 1})}")
    store = None if store is None else pathlib.Path(store)
    records = {} if store is None else finished(cells, store)
    pending = [cell for cell in cells if cell.name not in records]
    bar = _bar(len(cells), len(records), progress, desc)
    failures = []
    try:
        run = _run_ray if executor == "ray" else _run_local
        for cell, outcome in run(pending, address=address, num_cpus=num_cpus):
            if isinstance(outcome, Exception):
                failures.append((cell, outcome))
                continue
            records[cell.name] = _save(store, cell, outcome, executor)
            bar.update(1)
    finally:
        bar.close()
    if failures:
        cell, error = failures[0]
        names = [c.name for c, _ in failures]
        raise RuntimeError(f"{len(failures)} of {len(cells)} cells failed ({names}); the first, {cell.name!r} "
                           f"({cell.function} with {cell.args}): {type(error).__name__}: {error}") from error
    return records


def _bar(total: int, done: int, progress: bool | None, desc: str):
    from tqdm.auto import tqdm

    if progress is None:
        progress = os.environ.get("UQLAB_PROGRESS", "1") != "0"
    return tqdm(total=total, initial=done, desc=desc, unit="cell", disable=not progress, dynamic_ncols=True)


def _run_local(cells, **_):
    for cell in cells:
        try:
            outcome = call_cell(cell.function, cell.args)
        except Exception as error:
            outcome = error
        yield cell, outcome


def import_ray():
    """``ray``, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError("executor: 'ray' needs the Ray package, which is not installed; "
                          "install it with pip install 'uqlab[ray]' (or use executor='local')") from None
    return ray


def _run_ray(cells, *, address, num_cpus):
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address is not None:
            ray.init(address=address, log_to_driver=True)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), _node_ip_address="127.0.0.1", include_dashboard=False,
                     object_store_memory=256 * 2**20, log_to_driver=True)
    remote = ray.remote(num_cpus=1, max_retries=0)(call_cell)
    futures = {remote.remote(cell.function, cell.args): cell for cell in cells}
    try:
        while futures:
            ready, _ = ray.wait(list(futures), num_returns=1)
            cell = futures.pop(ready[0])
            try:
                outcome = ray.get(ready[0])
            except ray.exceptions.RayTaskError as error:
                outcome = error.cause if isinstance(error.cause, Exception) else error
            yield cell, outcome
    finally:
        for future in futures:
            ray.cancel(future, force=True)
        if started:
            ray.shutdown()
