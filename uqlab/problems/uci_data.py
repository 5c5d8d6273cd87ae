"""UCI regression sets in the layout of the PBP / MC-dropout / deep-ensemble papers.

A dataset folder (``<name>/`` holding ``data/``, or the ``data/`` folder itself) has::

    data.txt                 whitespace-separated table, one row per example
    index_features.txt       0-based column numbers of the inputs, one per line
    index_target.txt         0-based column number of the target
    index_train_<i>.txt      0-based row numbers of split i's training set
    index_test_<i>.txt       0-based row numbers of split i's test set
    n_splits.txt             (optional) number of splits; else counted from index_train_*.txt
    n_hidden.txt, n_epochs.txt, dropout_rates.txt, tau_values.txt
                             (optional) the papers' per-dataset settings, see :func:`uci_settings`

This is the layout of Hernandez-Lobato & Adams (2015) and Gal & Ghahramani (2016)'s public
``UCI_Datasets`` folders. :func:`load_uci` returns split ``i`` as a :class:`~uqlab.data.Dataset`
with ``standardize=True``: methods fit on inputs and targets standardised with the *training*
split's means and standard deviations, and every prediction comes back in the original target
units, so RMSE and test log-likelihood are in those units, as the papers report them.
"""

from __future__ import annotations

import pathlib

import numpy as np

from uqlab.data import Dataset

__all__ = ["REQUIRED_FILES", "data_folder", "load_uci", "num_splits", "uci_settings"]

REQUIRED_FILES = ("data.txt", "index_features.txt", "index_target.txt")
_SETTINGS = {"n_hidden": int, "n_epochs": int, "dropout_rates": float, "tau_values": float}


def data_folder(folder) -> pathlib.Path:
    """The folder that holds ``data.txt`` and the index files: ``folder`` itself or ``folder/data``.

    Raises:
        FileNotFoundError: ``folder`` does not exist, or holds neither the layout nor a ``data/``
            folder with it (the message lists the missing files).
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder: expected a UCI dataset folder, got {str(folder)!r}, which is not a directory")
    for candidate in (folder, folder / "data"):
        if all((candidate / name).is_file() for name in REQUIRED_FILES) and any(candidate.glob("index_train_*.txt")):
            return candidate
    missing = [name for name in (*REQUIRED_FILES, "index_train_0.txt", "index_test_0.txt") if not (folder / name).is_file()]
    raise FileNotFoundError(
        f"folder: expected a UCI dataset folder in the PBP/MC-dropout layout ({', '.join(REQUIRED_FILES)}, "
        f"index_train_<i>.txt, index_test_<i>.txt, in it or in its data/ subfolder); {str(folder)!r} lacks {missing}"
    )


def dataset_name(folder) -> str:
    """The dataset's name: the folder's name (its parent's when the folder is ``data/``)."""
    path = pathlib.Path(folder).resolve()
    return path.parent.name if path.name == "data" else path.name


def num_splits(folder) -> int:
    """Number of train/test splits: ``n_splits.txt`` if present, else the ``index_train_<i>.txt`` count."""
    path = data_folder(folder)
    if (path / "n_splits.txt").is_file():
        return int(_read_numbers(path / "n_splits.txt", int)[0])
    return len(list(path.glob("index_train_*.txt")))


def uci_settings(folder) -> dict:
    """The papers' per-dataset settings stored in the folder, where present.

    Returns:
        dict with any of ``n_hidden`` (int), ``n_epochs`` (int), ``dropout_rates`` (list of float)
        and ``tau_values`` (list of float: MC-dropout model precisions in *original* target units,
        Gal & Ghahramani, 2016); missing files are left out.
    """
    path = data_folder(folder)
    settings = {}
    for name, kind in _SETTINGS.items():
        if (path / f"{name}.txt").is_file():
            values = _read_numbers(path / f"{name}.txt", kind)
            settings[name] = values[0] if name.startswith("n_") else values
    return settings


def load_uci(folder, *, split: int = 0) -> Dataset:
    """Split ``split`` of the UCI dataset in ``folder`` as a standardised :class:`~uqlab.data.Dataset`.

    Args:
        folder: a dataset folder in the layout above (``.../bostonHousing`` or ``.../bostonHousing/data``).
        split: split index, ``0 <= split < num_splits(folder)``.

    Returns:
        Dataset with the training rows as ``x, y``, the test rows as ``x_test, y_test`` (original
        units), ``standardize=True`` (training-split statistics) and the folder's name as ``name``.

    Raises:
        FileNotFoundError: the folder or one of the split's index files is missing.
        ValueError: ``split`` out of range; index files naming rows or columns that ``data.txt``
            does not have; a test row also in the training rows.
    """
    path = data_folder(folder)
    total = num_splits(path)
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)) or not 0 <= split < total:
        raise ValueError(f"split: expected an integer in [0, {total - 1}] ({total} splits in {str(path)!r}), got {split!r}")
    table = np.loadtxt(path / "data.txt", ndmin=2)
    features = _indices(path / "index_features.txt", table.shape[1], "columns")
    target = _indices(path / "index_target.txt", table.shape[1], "columns")
    train = _indices(path / f"index_train_{split}.txt", table.shape[0], "rows")
    test = _indices(path / f"index_test_{split}.txt", table.shape[0], "rows")
    overlap = np.intersect1d(train, test)
    if overlap.size:
        raise ValueError(f"index_test_{split}.txt: test rows must not be training rows; {overlap.size} are, e.g. {overlap[:5].tolist()}")
    return Dataset(
        x=table[np.ix_(train, features)],
        y=table[np.ix_(train, target)],
        x_test=table[np.ix_(test, features)],
        y_test=table[np.ix_(test, target)],
        name=dataset_name(path),
        standardize=True,
    )


def _read_numbers(path: pathlib.Path, kind) -> list:
    try:
        values = np.loadtxt(path, ndmin=1)
    except ValueError as error:
        raise ValueError(f"{path.name}: expected numbers, one per line, in {str(path)!r}: {error}") from None
    if values.size == 0:
        raise ValueError(f"{path.name}: expected at least one number, got an empty file {str(path)!r}")
    return [kind(v) for v in values.ravel()]


def _indices(path: pathlib.Path, size: int, what: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path.name}: expected the file {str(path)!r} of the UCI layout; it does not exist")
    values = np.asarray(_read_numbers(path, float))
    index = values.astype(np.int64)
    if np.any(index != values) or np.any(index < 0) or np.any(index >= size):
        bad = values[(index != values) | (index < 0) | (index >= size)]
        raise ValueError(f"{path.name}: expected 0-based {what} in [0, {size - 1}] of data.txt, got {bad[:5].tolist()}")
    return index
