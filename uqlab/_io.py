"""Atomic file writes and checksums of saved arrays and metadata.

Writes go to a temporary file in the same folder, then rename over the target.
``tempfile.mkstemp`` creates its file with mode 0600; before the rename the file gets the mode a
plain ``open(path, "w")`` would leave: the existing file's permission bits when ``path`` is
replaced, else ``0o666`` minus the process umask. A temporary file is named
``.<target>.<pid>.<random>.tmp``; a process killed mid-write leaves it behind, and the next write
of the same target removes it (its process is gone, or it is over a day old). Readers only ever
open the target names, so such leftovers are never read.

Checksums (:func:`array_digest`, :func:`text_digest`, :func:`verify`) are SHA-256 hex digests;
an array's covers its dtype, shape and bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import stat
import tempfile
import time

import numpy as np

__all__ = ["atomic_path", "atomic_write", "current_umask", "array_digest", "text_digest", "verify", "check_file", "check_writable_folder"]

_STALE_SECONDS = 86400.0
"""A temporary file this old is removed even if its process id is alive (ids are reused)."""


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
    if path.is_dir():
        raise IsADirectoryError(f"path: {str(path)!r} is a folder; expected a file name to write")
    _remove_leftovers(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove_leftovers(path: pathlib.Path) -> None:
    """Delete temporary files of earlier, killed writes of ``path`` (see the module docstring)."""
    prefix = f".{path.name}."
    with contextlib.suppress(OSError):
        for tmp in path.parent.iterdir():
            name = tmp.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid = name[len(prefix):].split(".", 1)[0]
            with contextlib.suppress(OSError):
                old = time.time() - tmp.stat().st_mtime > _STALE_SECONDS
                if old or not pid.isdigit() or not _alive(int(pid)):
                    tmp.unlink()


def array_digest(array) -> str:
    """SHA-256 of an array's dtype, shape and bytes (C order)."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def text_digest(text: str) -> str:
    """SHA-256 of a string's UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


def verify(where: str, expected: dict, actual: dict) -> None:
    """Compare ``{name: digest}`` tables; ``ValueError`` naming ``where`` and what differs.

    Args:
        where: the file, as the message should name it (e.g. ``"path: '/x/post.nc'"``).
        expected: the digests recorded in the file.
        actual: the digests of what was read.
    """
    if not isinstance(expected, dict):
        raise ValueError(f"{where}: the checksum table is damaged (expected a mapping, got {type(expected).__name__})")
    missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
    if missing or extra:
        raise ValueError(f"{where}: the file's parts do not match its checksum table (missing {missing}, unexpected {extra})")
    changed = sorted(name for name in expected if expected[name] != actual[name])
    if changed:
        raise ValueError(
            f"{where}: checksum mismatch in {changed}: the file was changed or damaged after it was written"
        )


def check_file(path, what: str) -> pathlib.Path:
    """``path`` as a Path to an existing regular file; ``FileNotFoundError`` / ``IsADirectoryError`` naming it."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"path: {str(path)!r} is a folder; expected a {what} file")
    if not path.is_file():
        raise FileNotFoundError(f"path: no such file {str(path)!r} (expected a {what} file)")
    return path


def check_writable_folder(folder, option: str) -> pathlib.Path:
    """Create ``folder`` if needed and write (then remove) a probe file in it.

    For command lines that write results after long runs: checked before the runs start.

    Raises:
        ValueError: naming ``option``, the folder and why it cannot be written.
    """
    folder = pathlib.Path(folder)
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ValueError(f"{option}: cannot write to the folder {str(folder)!r}: {str(blocker)!r} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".uqlab-probe-"):
            pass
    except OSError as error:
        raise ValueError(f"{option}: cannot write to the folder {str(folder)!r} ({error.strerror or error})") from None
    return folder
