"""Save a :class:`~uqlab.diagnostics.compare.Comparison` to a folder and read it back.

Layout of the folder (each file written atomically):

- ``table.csv``: the tidy method x seed table (one row per fit, one column per metric and time).
- ``predictives.nc``: netCDF (h5netcdf) with, per method, ``loc``/``scale`` of the test-set
  Predictive and of each inferred quantity, plus the dataset arrays.
- ``meta.json``: problem, metric names, run metadata, sampler infos, truth, report sections.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib

import numpy as np

from uqlab._io import atomic_path, atomic_write
from uqlab.predictive import Predictive

__all__ = ["save_comparison", "read_comparison", "jsonable"]

_DATA_FIELDS = ("x", "y", "x_test", "y_test")


def jsonable(value):
    """numpy scalars and arrays as plain Python (for meta.json)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _put(arrays: dict, name: str, pred: Predictive) -> None:
    arrays[f"{name}/loc"] = pred.loc
    if pred.scale is not None:
        arrays[f"{name}/scale"] = pred.scale


def _get(arrays: dict, name: str) -> Predictive:
    return Predictive(arrays[f"{name}/loc"], arrays.get(f"{name}/scale"))


def _write_netcdf(path: pathlib.Path, arrays: dict) -> None:
    import xarray as xr

    variables = {
        key.replace("/", "__"): (tuple(f"{key.replace('/', '__')}_dim{i}" for i in range(v.ndim)), np.asarray(v))
        for key, v in arrays.items()
    }
    with atomic_path(path) as tmp:
        xr.Dataset(variables).to_netcdf(tmp, engine="h5netcdf")


def _read_netcdf(path: pathlib.Path) -> dict:
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as dataset:
        return {key.replace("__", "/"): dataset[key].values for key in dataset.data_vars}


def save_comparison(comparison, path) -> pathlib.Path:
    """Write ``comparison`` into the folder ``path`` (created if needed); returns the folder."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in comparison.rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(comparison.rows)
    with atomic_write(path / "table.csv", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
    arrays = {}
    for method, pred in comparison.predictives.items():
        _put(arrays, f"predictive/{method}", pred)
    for method, quantities in comparison.quantities.items():
        for name, pred in quantities.items():
            _put(arrays, f"quantity/{method}/{name}", pred)
    data = comparison.data
    if data is not None:
        arrays.update({f"data/{field}": getattr(data, field) for field in _DATA_FIELDS if getattr(data, field) is not None})
    _write_netcdf(path / "predictives.nc", arrays)
    meta = {
        "problem": comparison.problem,
        "metrics": list(comparison.metrics),
        "methods": list(comparison.predictives),
        "quantities": {m: list(q) for m, q in comparison.quantities.items()},
        "infos": comparison.infos,
        "meta": comparison.meta,
        "truth": comparison.truth,
        "sections": comparison.sections,
        "data_name": getattr(data, "name", None),
    }
    with atomic_write(path / "meta.json", encoding="utf-8") as handle:
        json.dump(jsonable(meta), handle, indent=1)
    return path


def _cell(value: str):
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if value.lstrip("-").isdigit() else number


def read_comparison(path) -> dict:
    """The fields of a comparison saved by :func:`save_comparison`, as keyword arguments of
    :class:`~uqlab.diagnostics.compare.Comparison` (which builds itself from them in ``load``).

    Raises:
        FileNotFoundError: ``path`` is not a saved comparison (names the missing file).
    """
    from uqlab.data import Dataset

    path = pathlib.Path(path)
    for name in ("table.csv", "predictives.nc", "meta.json"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"path: expected a saved comparison folder with {name}, not found in {path}")
    with open(path / "table.csv", encoding="utf-8", newline="") as handle:
        rows = [{k: (v if k == "method" else _cell(v)) for k, v in row.items()} for row in csv.DictReader(handle)]
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    arrays = _read_netcdf(path / "predictives.nc")
    predictives = {m: _get(arrays, f"predictive/{m}") for m in meta["methods"]}
    quantities = {m: {q: _get(arrays, f"quantity/{m}/{q}") for q in names} for m, names in meta["quantities"].items()}
    data = None
    if "data/x" in arrays:
        fields = {f: arrays.get(f"data/{f}") for f in _DATA_FIELDS}
        data = Dataset(**fields, name=meta.get("data_name") or "data")
    return {"problem": meta["problem"], "rows": rows, "predictives": predictives, "infos": meta["infos"],
            "metrics": tuple(meta["metrics"]), "quantities": quantities, "data": data, "truth": meta["truth"],
            "meta": meta["meta"], "sections": meta["sections"]}
