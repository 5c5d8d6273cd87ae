"""The UCI folder-layout loader: a real dataset, a synthetic folder, bad inputs."""

import pathlib

import numpy as np
import pytest

import uqlab
from uqlab.problems.uci_data import num_splits, uci_settings

UCI = pathlib.Path("/work/shared/data/uci")
if not UCI.is_dir():  # the shared data beside the repository (CI checkouts keep it at ../shared)
    UCI = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "uci"


def make_folder(root: pathlib.Path, *, rows: int = 30, features: int = 2, splits: int = 3, seed: int = 0) -> pathlib.Path:
    """A tiny dataset in the UCI layout under ``root/<name>/data``; returns ``root/<name>``."""
    rng = np.random.default_rng(seed)
    folder = root / "tiny" / "data"
    folder.mkdir(parents=True)
    x = rng.normal(size=(rows, features))
    y = x @ np.arange(1, features + 1) + 0.1 * rng.normal(size=rows) + 50.0
    np.savetxt(folder / "data.txt", np.column_stack([x, 7 * y]))
    np.savetxt(folder / "index_features.txt", np.arange(features), fmt="%d")
    np.savetxt(folder / "index_target.txt", [features], fmt="%d")
    for i in range(splits):
        order = rng.permutation(rows)
        np.savetxt(folder / f"index_train_{i}.txt", order[: rows * 4 // 5], fmt="%d")
        np.savetxt(folder / f"index_test_{i}.txt", order[rows * 4 // 5:], fmt="%d")
    (folder / "n_splits.txt").write_text(f"{splits}\n")
    (folder / "n_hidden.txt").write_text("8\n")
    return folder.parent


def test_synthetic_folder_rows_and_standardisation(tmp_path):
    folder = make_folder(tmp_path)
    table = np.loadtxt(folder / "data" / "data.txt")
    train = np.loadtxt(folder / "data" / "index_train_1.txt", dtype=int)
    test = np.loadtxt(folder / "data" / "index_test_1.txt", dtype=int)
    for path in (folder, folder / "data"):
        data = uqlab.problems.uci(path, split=1)
        assert data.name == "tiny"
        np.testing.assert_array_equal(data.x, table[train, :2])
        np.testing.assert_array_equal(data.y_test[:, 0], table[test, 2])
    # training-split statistics, not the whole table's; predictions come back in these units
    np.testing.assert_allclose(data.scaler.y_shift, table[train, 2].mean())
    np.testing.assert_allclose(data.scaler.x_scale, table[train, :2].std(axis=0))
    assert num_splits(folder) == 3 and uci_settings(folder) == {"n_hidden": 8}


def test_real_dataset_split():
    if not UCI.is_dir():
        pytest.skip(f"the shared UCI data is not on this machine (looked in /work/shared/data/uci and {UCI})")
    data = uqlab.problems.uci(UCI / "bostonHousing", split=19)
    assert data.name == "bostonHousing" and data.dims == (13, 1)
    assert data.num_points + data.x_test.shape[0] == 506
    standardised_x, standardised_y = data.standardized()
    np.testing.assert_allclose(standardised_y.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(standardised_x.std(axis=0), 1.0)
    assert uci_settings(UCI / "bostonHousing")["tau_values"] == [0.1, 0.15, 0.2]


def test_bad_inputs(tmp_path):
    folder = make_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="folder: expected a UCI dataset folder.*lacks"):
        uqlab.problems.uci(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a directory"):
        uqlab.problems.uci(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"split: expected an integer in \[0, 2\].*got 3"):
        uqlab.problems.uci(folder, split=3)
    with pytest.raises(ValueError, match="split: expected an integer"):
        uqlab.problems.uci(folder, split=-1)
    np.savetxt(folder / "data" / "index_test_2.txt", [0, 99], fmt="%d")
    with pytest.raises(ValueError, match=r"index_test_2.txt: expected 0-based rows in \[0, 29\].*99"):
        uqlab.problems.uci(folder, split=2)
    (folder / "data" / "index_train_0.txt").unlink()
    with pytest.raises(FileNotFoundError, match="index_train_0.txt"):
        uqlab.problems.uci(folder, split=0)
