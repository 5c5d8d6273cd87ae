"""Atomic file writes: write to a temporary file in the same folder, then rename over the target.

``tempfile.mkstemp`` creates its file with mode 0600; before the rename the file gets the mode a
plain ``open(path, "w")`` would leave: the existing file's permission bits when ``path`` is
replaced, else ``0o666`` minus the process umask.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import stat
import tempfile

__all__ = ["atomic_path", "atomic_write", "current_umask"]


def current_umask() -> int:
    """The process umask, read without changing it where Linux exposes it (``/proc/self/status``).

    Elsewhere it falls back to setting and restoring it with ``os.umask``, which is briefly visible
    to other threads.
    """
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _target_mode(path: pathlib.Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success fsync it and rename it to ``path``.

    For writers that need a file name rather than a handle (netCDF, ``np.savez``): a reader
    never sees a half-written ``path``, and a failed write leaves the old file in place. The
    written file has the permissions ``open(path, "w")`` would give (see the module docstring).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _target_mode(path))
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
