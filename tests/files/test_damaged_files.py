"""Damaged or edited files give one ValueError naming the file and what is wrong (issue 13).

Format-2 posteriors carry SHA-256 checksums of their metadata and arrays; the shape checks that
follow them are exercised on edits whose checksums were recomputed (what checksums cannot catch).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import numpy as np
import pytest

import uqlab
from uqlab._io import atomic_path, text_digest

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def saved(tmp_path):
    """A format-2 copy of the SGLD fixture (2 chains x 3 draws of a 1-3-1 BNN)."""
    path = uqlab.load(DATA / "posterior_v1_sgld.nc").save(tmp_path / "post.nc")
    return path


def _edit(path, change, *, resign):
    import h5py

    with h5py.File(path, "r+") as f:
        meta = json.loads(f.attrs["uqlab"])
        change(meta)
        f.attrs["uqlab"] = text = json.dumps(meta)
        if resign:
            table = json.loads(f.attrs["checksums"])
            table["uqlab"] = text_digest(text)
            f.attrs["checksums"] = json.dumps(table)


def test_saved_files_name_methods_by_registry_name_and_version(saved):
    import h5py

    with h5py.File(saved, "r") as f:
        meta = json.loads(f.attrs["uqlab"])
        assert np.asarray(f.attrs["format_version"]).item() == 2
        assert set(json.loads(f.attrs["checksums"])["arrays"]) == {n for n in f.keys() if "__d" not in n}
    assert meta["method"]["__method__"] == "sgld" and "__class__" not in meta["method"]


def test_overwritten_weight_bytes_are_caught(saved):
    import h5py

    with h5py.File(saved, "r") as f:
        offset = f["particles.net.0.w"].id.get_offset()
    with open(saved, "r+b") as handle:
        handle.seek(offset + 4)
        handle.write(b"\x12\x34\x56\x78")
    with pytest.raises(ValueError, match=r"post.nc': checksum mismatch in \['particles.net.0.w'\]"):
        uqlab.load(saved)


def test_edited_metadata_is_caught(saved):
    _edit(saved, lambda m: m["scaler"].update(y_scale=[1000.0]), resign=False)
    with pytest.raises(ValueError, match=r"post.nc': checksum mismatch in \['metadata'\]"):
        uqlab.load(saved)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m["state"].update(num_chains=4), "num_chains=4 does not divide the 6 saved draws"),
        (lambda m: m["state"].update(num_chains=3), "num_chains=3 differs from the method's setting num_chains=2"),
        (lambda m: m["model"].update(widths={"__tuple__": [5]}), r"particles\['net'\]\[0\]\['b'\] has shape \(6, 3\)"),
        (lambda m: m["scaler"].update(x_shift=[0.0, 0.0]), "scaler: x: expected a shift and a scale per column"),
        (lambda m: m.pop("kind"), "the metadata has no 'kind' entry"),
        (lambda m: m["method"].update(bogus=1), "cannot rebuild 'sgld' from its saved settings: .*bogus"),
        (lambda m: m["arrays"]["particles"].update(lik={"log_noise": {"__leaf__": "nope"}}), "KeyError: 'nope'"),
    ],
)
def test_consistent_looking_edits_are_caught_by_shape_checks(saved, change, match):
    _edit(saved, change, resign=True)
    with pytest.raises(ValueError, match=match) as info:
        uqlab.load(saved)
    assert str(saved) in str(info.value)


def test_format_version_problems(saved):
    import h5py

    for version, match in [("abc", "unreadable format_version 'abc'"), (0, r"unknown uqlab-posterior format version 0"),
                           (3, "format version 3, newer than this uqlab reads")]:
        with h5py.File(saved, "r+") as f:
            f.attrs["format_version"] = version
        with pytest.raises(ValueError, match=match):
            uqlab.load(saved)


def test_folder_and_missing_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder; expected a uqlab-posterior file"):
        uqlab.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        uqlab.load(tmp_path / "missing.nc")


def test_leftover_temp_files_of_dead_writers_are_removed(tmp_path):
    dead = tmp_path / ".out.txt.999999999.abc.tmp"  # no such process id
    alive = tmp_path / f".out.txt.{os.getpid()}.abc.tmp"  # a write in progress in this process
    other = tmp_path / ".other.txt.999999999.abc.tmp"  # another target's
    for p in (dead, alive, other):
        p.write_text("half")
    with atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name, "out.txt"])
    with pytest.raises(IsADirectoryError, match="is a folder; expected a file name"):
        with atomic_path(tmp_path):
            pass


@pytest.fixture
def comparison(tmp_path):
    from uqlab.diagnostics.compare import load_comparison

    folder = tmp_path / "cmp"
    shutil.copytree(DATA / "comparison_v1", folder)
    load_comparison(folder).save(folder)
    return folder


def test_comparison_checksums(comparison):
    import h5py

    from uqlab.diagnostics.compare import load_comparison

    assert json.loads((comparison / "meta.json").read_text())["format_version"] == 2
    with h5py.File(comparison / "predictives.nc", "r") as f:
        offset = f["predictive__a__loc"].id.get_offset()
    with open(comparison / "predictives.nc", "r+b") as handle:
        handle.seek(offset + 8)
        handle.write(b"\x7f")
    with pytest.raises(ValueError, match=r"cmp.*checksum mismatch in \['predictives.nc:predictive/a/loc'\]"):
        load_comparison(comparison)


@pytest.mark.parametrize(
    ("text", "match"),
    [("{oops", "meta.json is not valid JSON"), ("[]", "meta.json: expected a JSON object"),
     (None, r"checksum mismatch in \[.meta.json.\]")],
)
def test_comparison_damaged_meta(comparison, text, match):
    from uqlab.diagnostics.compare import load_comparison

    meta_path = comparison / "meta.json"
    if text is None:
        meta = json.loads(meta_path.read_text())
        meta["problem"] = "other"
        text = json.dumps(meta)
    meta_path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_comparison(comparison)


def test_comparison_table_edit(comparison):
    from uqlab.diagnostics.compare import load_comparison

    table = comparison / "table.csv"
    table.write_text(table.read_text().replace("1.5", "0.5"))
    with pytest.raises(ValueError, match=r"checksum mismatch in \['table.csv'\]"):
        load_comparison(comparison)


def test_checkpoint_checksums(tmp_path):
    import jax.numpy as jnp

    from uqlab.inference.checkpoint import Checkpoint

    path = tmp_path / "ckpt.npz"
    fingerprint = {"method": {}, "model": {}, "data": "d", "key": [0, 0]}
    Checkpoint(path, fingerprint).save("phase", 3, {"a": jnp.arange(8.0)}, None)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["phase/carry/0"] = arrays["phase/carry/0"] + 1  # rewritten with valid zip CRCs: only our checksum sees it
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"ckpt.npz'.*checksum mismatch in \['phase/carry/0'\]"):
        Checkpoint(path, fingerprint)
