"""Posteriors on disk: one netCDF file of arrays plus JSON settings, loadable without running code.

Layout of a ``uqlab-posterior`` file (netCDF4/HDF5 through xarray's ``h5netcdf`` engine, the
format ArviZ uses for its InferenceData):

* one variable per array leaf of the posterior's state (``particles``, ``params``, keys, per-draw
  sample statistics, array-valued info), named ``<field>.<pytree path>``;
* global attributes ``format`` (``"uqlab-posterior"``), ``format_version`` (int) and ``uqlab``,
  a JSON document with the posterior kind, method and model settings, scaler, JSON-safe info
  and, per state field, a *skeleton*: the field's pytree with each array replaced by the name
  of its variable (so empty containers and list/dict nesting survive exactly);
* (format 2) global attribute ``checksums``: JSON ``{"uqlab": digest of the metadata string,
  "arrays": {variable: digest}}`` (SHA-256, :func:`uqlab._io.array_digest`).

Settings objects (methods, models, likelihoods) are frozen dataclasses, encoded recursively as
``{"__class__": "module:Name", field: value, ...}``; a registered method (format 2) as
``{"__method__": "<registry name>", field: value, ...}``, so moving its module breaks no file.
Loading rebuilds them only from registered methods and dataclasses defined in ``uqlab`` modules:
no pickle, and a file can never make the loader run other code. A model that is a plain function
(a NumPyro model, a log density) is recorded by name and must be handed back to
:func:`load_posterior`.

Loading checks, in order: a regular file; netCDF; the format name and a known version; the
checksums (format 2); the metadata's structure; the rebuilt classes; the array shapes against the
model (``model.init``) and the chain count; and that the posterior predicts, at one input row of
the scaler's width, the scaler's number of outputs. Any failure is one ``ValueError`` naming the
file and what is wrong. Format-1 files (uqlab 0.1.0, no checksums, methods by module path) still
load, with every check but the checksums.

Writes are atomic (temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pathlib

import numpy as np

from uqlab._io import array_digest, atomic_path, check_file, text_digest, verify

__all__ = ["FORMAT", "FORMAT_VERSION", "save_posterior", "load_posterior", "to_config", "from_config", "leaf_names"]

FORMAT = "uqlab-posterior"
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_JSON_TYPES = (type(None), bool, int, float, str)


def to_config(obj):
    """JSON-safe form of settings: dataclasses, tuples, lists, dicts, numbers, strings, functions."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        registered = _registry_name(obj)
        config = {"__method__": registered} if registered else {"__class__": f"{type(obj).__module__}:{type(obj).__qualname__}"}
        for field in dataclasses.fields(obj):
            config[field.name] = to_config(getattr(obj, field.name))
        return config
    if isinstance(obj, tuple):
        return {"__tuple__": [to_config(v) for v in obj]}
    if isinstance(obj, list):
        return [to_config(v) for v in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise TypeError(f"settings: dict keys must be strings to be saved, got {list(obj)!r}")
        return {k: to_config(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray) or (hasattr(obj, "__array__") and hasattr(obj, "dtype")):
        obj = np.asarray(obj)
        return {"__array__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, _JSON_TYPES):
        return obj
    if callable(obj):
        return {"__callable__": f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"}
    raise TypeError(f"settings: cannot save a {type(obj).__name__} ({obj!r}); expected dataclasses, numbers, strings")


def _registry_name(obj) -> str | None:
    """The registry name of a registered Method instance (its class's ``name``, if the registry
    maps that name to exactly this class), else None."""
    from uqlab.inference.registry import METHODS

    name = getattr(type(obj), "name", None)
    if isinstance(name, str) and METHODS.get(name) == f"{type(obj).__module__}:{type(obj).__qualname__}":
        return name
    return None


def _build(cls: type, config: dict, tag: str):
    """``cls(**fields)`` from a config; unknown or invalid fields become a ValueError."""
    fields = {k: from_config(v) for k, v in config.items() if k != tag}
    try:
        return cls(**fields)
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot rebuild {config[tag]!r} from its saved settings: {err}") from None


def _is_posterior(cls) -> bool:
    """Whether ``cls`` is a Posterior class: it has the persistence hooks ``_state``/``_from_state``.

    Checked by protocol rather than ``issubclass(cls, base.Posterior)``: ``base.py`` imports this
    module (``Posterior.save``), so importing it back would be an import cycle.
    """
    return isinstance(cls, type) and callable(getattr(cls, "_state", None)) and callable(getattr(cls, "_from_state", None))


def _allowed_class(path: str, posterior: bool = False) -> type:
    """The class at ``"module:Name"`` if it is a uqlab dataclass (and a Posterior if ``posterior``)."""
    if not isinstance(path, str):
        raise ValueError(f"a class must be named by a 'module:Name' string, got {path!r}")
    module, _, name = path.partition(":")
    if not (module == "uqlab" or module.startswith("uqlab.")) or not name.isidentifier():
        raise ValueError(f"{path!r} is not a uqlab class; only uqlab dataclasses can be loaded")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"{path!r} does not exist in this uqlab ({err})") from None
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)) or (posterior and not _is_posterior(cls)):
        raise ValueError(f"{path!r} is not a loadable uqlab {'Posterior' if posterior else 'dataclass'}")
    return cls


def from_config(config):
    """Inverse of :func:`to_config`, restricted to uqlab dataclasses.

    Raises:
        ValueError: a class outside uqlab, or a function (which cannot be restored from a name).
    """
    if isinstance(config, list):
        return [from_config(v) for v in config]
    if not isinstance(config, dict):
        return config
    if "__method__" in config:
        from uqlab.inference.registry import get_method

        return _build(get_method(config["__method__"]), config, "__method__")
    if "__class__" in config:
        return _build(_allowed_class(config["__class__"]), config, "__class__")
    if "__tuple__" in config:
        return tuple(from_config(v) for v in config["__tuple__"])
    if "__array__" in config:
        return np.asarray(config["__array__"], dtype=config["dtype"])
    if "__callable__" in config:
        raise ValueError(f"the function {config['__callable__']} cannot be restored from a file")
    return {k: from_config(v) for k, v in config.items()}


def leaf_names(tree, prefix: str = "") -> tuple[object, dict]:
    """Name every array leaf of ``tree`` by its path, e.g. ``"net.0.w"``.

    Returns:
        ``(skeleton, arrays)``: the tree with each leaf replaced by its name (dicts, lists, tuples
        and None kept), and ``{name: numpy array}``.
    """
    arrays: dict[str, np.ndarray] = {}

    def walk(node, path):
        if node is None:
            return None
        if isinstance(node, dict):
            return {str(k): walk(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            items = [walk(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(node)]
            return items if isinstance(node, list) else {"__tuple__": items}
        name = path or "value"
        while name in arrays:
            name += "_"
        arrays[name] = np.asarray(node)
        return {"__leaf__": name}

    return walk(tree, prefix), arrays


def _rebuild(skeleton, arrays: dict):
    if isinstance(skeleton, list):
        return [_rebuild(v, arrays) for v in skeleton]
    if not isinstance(skeleton, dict):
        return skeleton
    if "__leaf__" in skeleton:
        return arrays[skeleton["__leaf__"]]
    if "__tuple__" in skeleton:
        return tuple(_rebuild(v, arrays) for v in skeleton["__tuple__"])
    return {k: _rebuild(v, arrays) for k, v in skeleton.items()}


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and np.ndim(value) > 0


def _json_default(value):
    if isinstance(value, np.generic) or (hasattr(value, "shape") and np.ndim(value) == 0):
        return np.asarray(value).item()
    return repr(value)


def save_posterior(posterior, path) -> pathlib.Path:
    """Write ``posterior`` to ``path`` (netCDF) atomically; see the module docstring for the layout."""
    import xarray as xr

    if not _is_posterior(type(posterior)):
        raise TypeError(f"posterior: expected a uqlab Posterior, got {type(posterior).__name__}")
    path = pathlib.Path(path)
    state_json, skeletons, variables = {}, {}, {}
    fields = dict(posterior._state())
    info = dict(posterior.info)
    fields["info"] = {k: info.pop(k) for k in list(info) if _is_array(info[k])}
    for name, value in fields.items():
        if isinstance(value, _JSON_TYPES):
            state_json[name] = value
            continue
        skeletons[name], arrays = leaf_names(value, name)
        for var, array in arrays.items():
            variables[var] = xr.Variable([f"{var}__d{i}" for i in range(array.ndim)], array)
    meta = {
        "kind": f"{type(posterior).__module__}:{type(posterior).__qualname__}",
        "method": to_config(posterior.method),
        "model": to_config(posterior.model),
        "scaler": None if posterior.scaler is None else posterior.scaler.to_dict(),
        "info": info,
        "state": state_json,
        "arrays": skeletons,
    }
    text = json.dumps(meta, default=_json_default)
    checksums = {"uqlab": text_digest(text), "arrays": {name: array_digest(var.values) for name, var in variables.items()}}
    attrs = {"format": FORMAT, "format_version": FORMAT_VERSION, "uqlab": text, "checksums": json.dumps(checksums)}
    with atomic_path(path) as tmp:
        xr.Dataset(variables, attrs=attrs).to_netcdf(tmp, engine="h5netcdf")
    return path


def _read(path: pathlib.Path) -> tuple[dict, dict]:
    """``(attrs, {variable: numpy array})`` of a uqlab posterior file, or a ValueError saying why not."""
    import xarray as xr

    try:
        with xr.open_dataset(path, engine="h5netcdf", mask_and_scale=False, decode_times=False) as ds:
            return dict(ds.attrs), {name: var.values for name, var in ds.variables.items()}
    except Exception as err:  # h5py/xarray raise many types for a damaged file
        raise ValueError(
            f"path: {str(path)!r} is not a readable netCDF file (truncated or not a {FORMAT} file): "
            f"{type(err).__name__}: {err}"
        ) from None


def _version(attrs: dict, where: str) -> int:
    """The file's format version, checked against the versions this uqlab reads."""
    raw = attrs.get("format_version")
    if isinstance(raw, np.ndarray) and raw.size == 1:
        raw = raw.item()
    try:
        if isinstance(raw, (bool, float)) or (isinstance(raw, str) and not raw.strip().isdigit()):
            raise ValueError
        version = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{where} has an unreadable format_version {raw!r} (expected an integer)") from None
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{where} has {FORMAT} format version {version}, newer than this uqlab reads "
            f"(<= {FORMAT_VERSION}); upgrade uqlab"
        )
    if version not in _READABLE_VERSIONS:
        raise ValueError(f"{where} has unknown {FORMAT} format version {version} (this uqlab reads {_READABLE_VERSIONS})")
    return version


def _checksums(attrs: dict, arrays: dict, where: str) -> None:
    try:
        table = json.loads(attrs["checksums"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}: format {FORMAT_VERSION} file without a readable checksum table") from None
    actual = {"uqlab": text_digest(attrs["uqlab"]), "arrays": {n: array_digest(a) for n, a in arrays.items()}}
    verify(where, {"metadata": table.get("uqlab")}, {"metadata": actual["uqlab"]})
    verify(where, table.get("arrays"), actual["arrays"])


def _meta(text, where: str) -> dict:
    """The metadata document, with the entries every format has."""
    try:
        meta = json.loads(text)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: the metadata is not valid JSON ({err})") from None
    need = {"kind": str, "method": dict, "model": (dict, str, type(None)), "scaler": (dict, type(None)),
            "info": dict, "state": dict, "arrays": dict}
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: expected a JSON object as metadata, got {type(meta).__name__}")
    for name, kind in need.items():
        if name not in meta:
            raise ValueError(f"{where}: the metadata has no {name!r} entry")
        if not isinstance(meta[name], kind):
            raise ValueError(f"{where}: the metadata's {name!r} entry has the wrong type ({type(meta[name]).__name__})")
    return meta


def load_posterior(path, *, model=None):
    """Read a posterior written by :func:`save_posterior`.

    Args:
        path: the file.
        model: the model to attach; required when the saved model was a function (a NumPyro
            model or a log density), optional otherwise (default: rebuilt from the file).

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: ``path`` is a folder.
        ValueError: anything wrong with the file (see the module docstring), naming the file.
    """
    from uqlab.data import Scaler

    path = check_file(path, FORMAT)
    where = f"path: {str(path)!r}"
    attrs, arrays = _read(path)
    if attrs.get("format") != FORMAT or "uqlab" not in attrs:
        raise ValueError(f"path: expected a {FORMAT} file, got {str(path)!r} with format {attrs.get('format')!r}")
    if _version(attrs, where) >= 2:
        _checksums(attrs, arrays, where)
    meta = _meta(attrs["uqlab"], where)
    try:
        cls = _allowed_class(meta["kind"], posterior=True)
        method = from_config(meta["method"])
        if model is None:
            model = from_config(meta["model"])
    except ValueError as err:
        hint = " (pass it as load(path, model=...))" if "function" in str(err) else ""
        raise ValueError(f"path: cannot rebuild the posterior in {str(path)!r}: {err}{hint}") from None
    try:
        state = dict(meta["state"])
        state.update({name: _rebuild(skeleton, arrays) for name, skeleton in meta["arrays"].items()})
        info = {**meta["info"], **state.pop("info", {})}
        scaler = None if meta["scaler"] is None else Scaler.from_dict(meta["scaler"])
        posterior = cls._from_state({"method": method, "model": model, "scaler": scaler, "info": info}, state)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{where}: the saved state does not fit {meta['kind']!r}: {type(err).__name__}: {err}") from None
    from uqlab.inference._load_checks import check_posterior

    check_posterior(posterior, where)
    return posterior
