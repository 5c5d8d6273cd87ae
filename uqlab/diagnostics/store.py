"""Save a :class:`~uqlab.diagnostics.compare.Comparison` to a folder and read it back.

Layout of the folder (each file written atomically):

- ``table.csv``: the tidy method x seed table (one row per fit, one column per metric and time).
- ``predictives.nc``: netCDF (h5netcdf) with, per method, ``loc``/``scale`` of the test-set
  Predictive and of each inferred quantity, plus the dataset arrays.
- ``meta.json``: problem, metric names, run metadata, sampler infos, truth, report sections;
  (format 2) ``format``, ``format_version`` and ``checksums``: SHA-256 of ``table.csv``, of every
  array in ``predictives.nc`` and of the rest of ``meta.json`` (canonical JSON).

Loading verifies the checksums (format 2; format-1 folders of uqlab 0.1.0 have none) and the
structure of ``meta.json``; any problem is one ``ValueError`` naming the folder and the file.
Temporary files of a killed write (``.<name>.<pid>.*.tmp``) are never read and are removed by the
next save.
"""

from __future__ import annotations

import csv
import io
import json
import pathlib

import numpy as np

from uqlab._io import array_digest, atomic_path, atomic_write, text_digest, verify
from uqlab.predictive import Predictive

__all__ = ["FORMAT", "FORMAT_VERSION", "save_comparison", "read_comparison", "jsonable"]

FORMAT = "uqlab-comparison"
FORMAT_VERSION = 2
_META_TYPES = {"problem": str, "metrics": list, "methods": list, "quantities": dict, "infos": dict, "meta": dict,
               "truth": dict, "sections": list}

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

    try:
        with xr.open_dataset(path, engine="h5netcdf", mask_and_scale=False, decode_times=False) as dataset:
            return {key.replace("__", "/"): dataset[key].values for key in dataset.data_vars}
    except Exception as err:  # h5py/xarray raise many types for a damaged file
        raise ValueError(f"path: {str(path)!r} is not a readable netCDF file: {type(err).__name__}: {err}") from None


def _canonical(meta: dict) -> str:
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))


def _digests(table: str, arrays: dict, meta: dict) -> dict:
    return {"table.csv": text_digest(table), "meta.json": text_digest(_canonical(meta)),
            **{f"predictives.nc:{key}": array_digest(value) for key, value in arrays.items()}}


def save_comparison(comparison, path) -> pathlib.Path:
    """Write ``comparison`` into the folder ``path`` (created if needed); returns the folder."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in comparison.rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(comparison.rows)
    table = buffer.getvalue()
    with atomic_write(path / "table.csv", encoding="utf-8", newline="") as handle:
        handle.write(table)
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
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
    }
    meta = json.loads(json.dumps(jsonable(meta)))
    meta["checksums"] = _digests(table, {k: np.asarray(v) for k, v in arrays.items()}, meta)
    with atomic_write(path / "meta.json", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=1)
    return path


def _cell(value: str):
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if value.lstrip("-").isdigit() else number


def _read_meta(path: pathlib.Path, where: str) -> dict:
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{where}: meta.json is not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: meta.json: expected a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"{where}: meta.json has an unreadable format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{where} has {FORMAT} format version {version}, newer than this uqlab reads "
                         f"(<= {FORMAT_VERSION}); upgrade uqlab")
    for name, kind in _META_TYPES.items():
        if not isinstance(meta.get(name), kind):
            raise ValueError(f"{where}: meta.json: expected {name!r} as a {kind.__name__}, got {meta.get(name)!r:.80}")
    return meta


def read_comparison(path) -> dict:
    """The fields of a comparison saved by :func:`save_comparison`, as keyword arguments of
    :class:`~uqlab.diagnostics.compare.Comparison` (which builds itself from them in ``load``).

    Raises:
        FileNotFoundError: ``path`` is not a saved comparison (names the missing file).
        ValueError: a damaged or edited file (checksums, JSON, structure), naming the folder and file.
    """
    from uqlab.data import Dataset

    path = pathlib.Path(path)
    if path.is_file():
        raise NotADirectoryError(f"path: {str(path)!r} is a file; expected a saved comparison folder")
    for name in ("table.csv", "predictives.nc", "meta.json"):
        if not (path / name).is_file():
            raise FileNotFoundError(f"path: expected a saved comparison folder with {name}, not found in {path}")
    where = f"path: {str(path)!r}"
    meta = _read_meta(path, where)
    table = (path / "table.csv").read_text(encoding="utf-8")
    arrays = _read_netcdf(path / "predictives.nc")
    if "checksums" in meta or meta.get("format_version", 1) >= 2:
        verify(where, meta.pop("checksums", None), _digests(table, arrays, meta))
    rows = [{k: (v if k == "method" else _cell(v)) for k, v in row.items()} for row in csv.DictReader(io.StringIO(table))]
    try:
        predictives = {m: _get(arrays, f"predictive/{m}") for m in meta["methods"]}
        quantities = {m: {q: _get(arrays, f"quantity/{m}/{q}") for q in names} for m, names in meta["quantities"].items()}
        data = None
        if "data/x" in arrays:
            fields = {f: arrays.get(f"data/{f}") for f in _DATA_FIELDS}
            data = Dataset(**fields, name=meta.get("data_name") or "data")
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{where}: predictives.nc does not match meta.json: {type(err).__name__}: {err}") from None
    return {"problem": meta["problem"], "rows": rows, "predictives": predictives, "infos": meta["infos"],
            "metrics": tuple(meta["metrics"]), "quantities": quantities, "data": data, "truth": meta["truth"],
            "meta": meta["meta"], "sections": meta["sections"]}
