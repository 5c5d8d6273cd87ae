"""Atomic file writes: write to a temporary file in the same folder, then rename over the target."""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile

__all__ = ["atomic_path", "atomic_write"]


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success fsync it and rename it to ``path``.

    For writers that need a file name rather than a handle (netCDF, ``np.savez``): a reader
    never sees a half-written ``path``, and a failed write leaves the old file in place.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", **kwargs):
    """Open a temporary file beside ``path``; on success rename it to ``path`` (never half-written)."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
