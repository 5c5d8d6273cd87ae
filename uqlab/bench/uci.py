"""The UCI regression benchmark: (dataset, split, method) cells, their summary and the published numbers.

``python -m uqlab bench uci --data DIR`` builds one :class:`~uqlab.bench.executors.Cell` per
dataset folder, split and method (:func:`uci_cells`), runs them with the local or Ray executor
into ``OUT/cells/`` (resumable), and summarises them (:func:`summarise`) as::

    {dataset: {method: {"rmse": {"mean", "se"}, "ll": {"mean", "se"}, "splits": n, "protocol": str}}}

with ``se = sd / sqrt(n)`` over splits (sd with ``ddof=1``). :func:`published` gives the papers'
numbers (package data, with citations) in the same form; :func:`agreement` says whether ours is
within two standard errors of the difference, ``|ours - published| <= 2 sqrt(se_ours^2 + se_pub^2)``.
"""

from __future__ import annotations

import json
import math
import pathlib
from importlib import resources

import numpy as np

from uqlab.bench.executors import Cell
from uqlab.bench.uci_protocols import PROTOCOLS, REVISIONS

__all__ = ["METHODS", "agreement", "dataset_folders", "parse_splits", "published", "rows", "run_uci", "summarise", "table",
           "uci_cells"]

METHODS = tuple(PROTOCOLS)
METRICS = ("rmse", "ll")


def dataset_folders(data, datasets=None) -> dict[str, pathlib.Path]:
    """Dataset folders under ``data`` by name: ``data`` itself when it is one, else its subfolders in the layout.

    Args:
        data: a dataset folder, or a folder of dataset folders.
        datasets: names to keep (None: all found).

    Raises:
        FileNotFoundError: ``data`` is not a folder, or holds no dataset in the layout.
        ValueError: a name in ``datasets`` that ``data`` does not hold.
    """
    from uqlab.problems.uci_data import data_folder, dataset_name

    data = pathlib.Path(data)
    try:
        found = {dataset_name(data): data_folder(data)}
    except FileNotFoundError:
        if not data.is_dir():
            raise
        found = {}
        for child in sorted(p for p in data.iterdir() if p.is_dir()):
            try:
                found[child.name] = data_folder(child)
            except FileNotFoundError:
                continue
        if not found:
            data_folder(data)  # raises, naming the layout and the missing files
    if datasets is None:
        return found
    unknown = [name for name in datasets if name not in found]
    if unknown:
        raise ValueError(f"datasets: expected names from {sorted(found)} (folders in {str(data)!r}), got unknown {unknown}")
    return {name: found[name] for name in datasets}


def parse_splits(text: str | None, total: int) -> list[int]:
    """``"0-19"``, ``"0,3,5"`` or ``"0-4,10"`` as split indices (None: all ``total``).

    Raises:
        ValueError: unparsable text or an index outside ``[0, total)``.
    """
    if text is None:
        return list(range(total))
    splits = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            splits.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise ValueError(f"splits: expected indices like '0-19', '0,3,5' or '0-4,10', got {text!r}") from None
    bad = [s for s in splits if not 0 <= s < total]
    if bad or not splits:
        raise ValueError(f"splits: expected indices in [0, {total - 1}], got {text!r}")
    return sorted(set(splits))


def uci_cells(folders: dict, methods, splits: str | None = None, *, seed: int = 0, quick: bool = False) -> list[Cell]:
    """One cell per dataset, split and method, named ``<dataset>/<method>/split-<ii>``.

    Raises:
        ValueError: an unknown method or bad ``splits`` (see :func:`parse_splits`).
    """
    from uqlab.problems.uci_data import num_splits

    unknown = [m for m in methods if m not in PROTOCOLS]
    if unknown or not methods:
        raise ValueError(f"methods: expected names from {list(METHODS)}, got {list(methods)}")
    cells = []
    for name, folder in folders.items():
        for split in parse_splits(splits, num_splits(folder)):
            for method in methods:
                args = {"folder": str(pathlib.Path(folder).resolve()), "split": split, "method": method,
                        "seed": seed, "quick": quick, "revision": REVISIONS[method]}
                cells.append(Cell(f"{name}/{method}/split-{split:02d}", "uqlab.bench.uci_protocols:run_protocol", args))
    return cells


def _mean_se(values) -> dict:
    values = np.asarray(values, dtype=float)
    se = float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else None
    return {"mean": float(values.mean()), "se": se}


def summarise(records: dict) -> dict:
    """``{dataset: {method: {"rmse", "ll", "splits", "protocol", "fit_seconds"}}}`` from cell records."""
    groups: dict = {}
    for record in records.values():
        args = record["args"]
        dataset = record["name"].split("/")[0]
        groups.setdefault(dataset, {}).setdefault(args["method"], []).append(record)
    summary = {}
    for dataset, methods in sorted(groups.items()):
        summary[dataset] = {}
        for method, rows in sorted(methods.items()):
            protocol = PROTOCOLS[method] + (" QUICK SMOKE SETTINGS, not benchmark numbers." if rows[0]["args"]["quick"] else "")
            summary[dataset][method] = {
                **{m: _mean_se([r["result"][m] for r in rows]) for m in METRICS},
                "splits": len(rows),
                "protocol": protocol,
                "fit_seconds": float(sum(r["result"]["fit_seconds"] for r in rows)),
            }
    return summary


def published() -> dict:
    """The papers' numbers as ``{dataset: {method: {"rmse", "ll", "splits", "source", "citation"}}}``.

    Standard deviations over splits are converted to standard errors; NLL columns to LL.
    """
    raw = json.loads(resources.files("uqlab.bench").joinpath("data/uci_published.json").read_text())
    out: dict = {}
    for dataset, methods in raw["results"].items():
        for method, entry in methods.items():
            source = raw["sources"][entry["source"]]
            factor = 1.0 if source["error"] == "se" else 1.0 / math.sqrt(entry["splits"])
            ll = entry["ll"] if "ll" in entry else [-entry["nll"][0], entry["nll"][1]]
            out.setdefault(dataset, {})[method] = {
                "rmse": {"mean": entry["rmse"][0], "se": entry["rmse"][1] * factor},
                "ll": {"mean": ll[0], "se": ll[1] * factor},
                "splits": entry["splits"], "source": entry["source"], "citation": source["citation"], "note": source["note"],
            }
    return out


def agreement(ours: dict, theirs: dict) -> bool | None:
    """Whether ``ours`` is within 2 standard errors of the difference from ``theirs`` (None without an se)."""
    if ours["se"] is None:
        return None
    return abs(ours["mean"] - theirs["mean"]) <= 2.0 * math.hypot(ours["se"], theirs["se"])


def _text(value: dict | None) -> str:
    if value is None:
        return "-"
    se = "" if value["se"] is None else f" ± {value['se']:.3f}"
    return f"{value['mean']:.3f}{se}"


def rows(summary: dict) -> list[dict]:
    """One row per dataset and method: ours, published and the 2-SE verdict per metric."""
    reference = published()
    out = []
    for dataset, methods in summary.items():
        for method, ours in methods.items():
            theirs = reference.get(dataset, {}).get(method)
            row = {"dataset": dataset, "method": method, "splits": ours["splits"], "source": theirs and theirs["source"]}
            for m in METRICS:
                row[m] = ours[m]
                row[f"{m}_published"] = theirs and theirs[m]
                row[f"{m}_within"] = None if theirs is None else agreement(ours[m], theirs[m])
            out.append(row)
    return out


def table(summary: dict) -> str:
    """A text table of ours beside the published numbers (mean ± se over splits)."""
    verdict = {True: "yes", False: "NO", None: "-"}
    header = f"{'dataset':18} {'method':11} {'n':>3}  {'RMSE ours':>16} {'RMSE published':>16} {'2SE':>3}  " \
             f"{'LL ours':>16} {'LL published':>16} {'2SE':>3}"
    lines = [header, "-" * len(header)]
    for row in rows(summary):
        lines.append(
            f"{row['dataset']:18} {row['method']:11} {row['splits']:>3}  {_text(row['rmse']):>16} "
            f"{_text(row['rmse_published']):>16} {verdict[row['rmse_within']]:>3}  {_text(row['ll']):>16} "
            f"{_text(row['ll_published']):>16} {verdict[row['ll_within']]:>3}"
        )
    lines.append("mean ± standard error over splits; 2SE: |ours - published| <= 2 sqrt(se_ours^2 + se_published^2). "
                 "Published: Gal & Ghahramani 2016 (mc_dropout), Lakshminarayanan et al. 2017 (ensemble; sd / sqrt(20)).")
    return "\n".join(lines)


def run_uci(data, *, datasets=None, methods=("mc_dropout", "ensemble"), splits=None, executor="local", address=None,
            num_cpus=None, out="uqlab-out", seed: int = 0, quick: bool = False, progress=None,
            finished_only: bool = False) -> dict:
    """Run the benchmark grid and write ``OUT/uci.json``, ``OUT/uci-run.json`` and ``OUT/uci.html``.

    Cells already in ``OUT/cells`` with the same arguments are not run again; ``finished_only``
    runs none and summarises those finished (a grid stopped partway). Arguments as in
    ``python -m uqlab bench uci --help``; returns the summary written to ``uci.json``.
    """
    import datetime
    import os
    import time

    from uqlab._io import atomic_write
    from uqlab.bench.executors import finished, run_cells
    from uqlab.bench.uci_page import write_page

    cells = uci_cells(dataset_folders(data, datasets), list(methods), splits, seed=seed, quick=quick)
    out = pathlib.Path(out)
    start = time.perf_counter()
    if finished_only:
        records = finished(cells, out / "cells")
        cells = [cell for cell in cells if cell.name in records]
        if not cells:
            raise ValueError(f"finished_only: no finished cells of this grid in {str(out / 'cells')!r}")
    else:
        stored = len(finished(cells, out / "cells"))
        records = run_cells(cells, store=out / "cells", executor=executor, address=address, num_cpus=num_cpus,
                            progress=progress, desc="uci cells")
    wall = time.perf_counter() - start
    summary = summarise({cell.name: records[cell.name] for cell in cells})
    run = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "finished_only": finished_only,
           "executor": "+".join(sorted({records[c.name]["executor"] for c in cells})) if finished_only else executor,
           "address": address, "num_cpus": num_cpus, "wall_seconds": None if finished_only else wall, "cells": len(cells),
           "cells_run": 0 if finished_only else len(cells) - stored,
           "seed": seed, "quick": quick, "loadavg": os.getloadavg(),
           "cell_seconds": sum(records[c.name]["seconds"] for c in cells)}
    for name, content in (("uci.json", summary), ("uci-run.json", run)):
        with atomic_write(out / name) as handle:
            json.dump(content, handle, indent=1)
    reference = published()
    sources = {e["source"]: e for methods in reference.values() for e in methods.values()}
    protocols = {method: entry["protocol"] for methods in summary.values() for method, entry in methods.items()}
    write_page(rows(summary), run, out / "uci.html", protocols=protocols, sources=sources)
    return summary
