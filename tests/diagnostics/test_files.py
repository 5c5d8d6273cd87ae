"""Files written by the diagnostics (atomic writes): permissions follow the umask like open(path, "w")."""

import os
import stat

import pytest

from uqlab._io import atomic_path, atomic_write, current_umask


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    def set_mask(mask):
        os.umask(mask)
        return mask

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_files_respect_the_umask(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    with atomic_write(tmp_path / "a.txt") as handle:
        handle.write("x")
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    with open(tmp_path / "plain.txt", "w") as handle:  # what a non-atomic write gives
        handle.write("x")
    assert _mode(tmp_path / "a.txt") == _mode(tmp_path / "b.bin") == _mode(tmp_path / "plain.txt") == 0o666 & ~mask


def test_replacing_a_file_keeps_its_permissions_and_content_is_atomic(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "kept.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    with atomic_write(target) as handle:
        handle.write("new")
    assert target.read_text() == "new" and _mode(target) == 0o640
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]  # no temporary left behind


def test_saved_comparison_files_are_not_private(comparison, tmp_path, umask):
    umask(0o022)
    folder = comparison.save(tmp_path / "cmp")  # CSV and JSON via atomic_write, netCDF via atomic_path
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "predictives.nc", "table.csv"]
    for path in folder.iterdir():
        assert _mode(path) == 0o644, path
