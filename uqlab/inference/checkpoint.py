"""Checkpoint and resume for the chunked scan driver (:func:`~uqlab.inference.transform.scan_with_progress`).

A run is a sequence of named phases (``"NUTS warmup"``, ``"NUTS sampling"``, ...), each a scan
whose step ``i`` is driven by ``xs[i]`` (its key, its schedule entry). The state of a phase after
``k`` steps is therefore fully described by ``(carry, k, outputs so far)``: restoring that and
continuing at step ``k`` gives bit-for-bit the draws of an uninterrupted run with the same key.
:class:`Checkpoint` keeps these per phase in one ``.npz`` file, rewritten atomically after every
chunk, with a JSON *fingerprint* of the run (method and model settings, a hash of the data, the
key) so that a checkpoint is never resumed by another run. Loading uses ``allow_pickle=False``.

Every method with a ``checkpoint`` setting resumes: the fit template builds the run's
``Checkpoint`` (:meth:`uqlab.inference.driver.Session.for_fit`), the driver passes it to every
phase, and the session calls :meth:`Checkpoint.finish` when the fit is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pathlib

import numpy as np

from uqlab._io import array_digest, atomic_write, verify

__all__ = ["Checkpoint", "check_checkpoint_path", "run_fingerprint"]

FORMAT = "uqlab-checkpoint"
FORMAT_VERSION = 2
"""2: the metadata holds SHA-256 checksums of every array (``checksums``), verified on resume."""
_EXCLUDED_SETTINGS = ("checkpoint", "progress")


def _data_hash(data) -> str:
    """SHA-256 over the data's arrays (a Dataset's x and y, or a pytree of arrays), or over the
    settings of a task generator (neural processes)."""
    from uqlab.inference.serialization import leaf_names, to_config

    if hasattr(data, "sample") and not hasattr(data, "x"):
        return hashlib.sha256(json.dumps(to_config(data), sort_keys=True, default=str).encode()).hexdigest()
    if hasattr(data, "x") and hasattr(data, "y"):
        data = {"x": data.x, "y": data.y}
    digest = hashlib.sha256()
    for name, array in sorted(leaf_names(data)[1].items()):
        array = np.ascontiguousarray(array)
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def check_checkpoint_path(value) -> str | None:
    """A method's ``checkpoint`` setting as a ``str`` path (or None); ``TypeError`` for anything else."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"checkpoint: expected a file path or None, got {type(value).__name__}")
    return None if value is None else os.fspath(value)


def run_fingerprint(method, model, data, key) -> dict:
    """What identifies a run: method settings (without checkpoint/progress), model, data, key."""
    from uqlab._convert import as_key
    from uqlab.inference.serialization import to_config

    settings = to_config(method)
    for name in _EXCLUDED_SETTINGS:
        settings.pop(name, None)
    return {
        "method": settings,
        "model": to_config(model),
        "data": _data_hash(data),
        "key": np.asarray(as_key(key)).tolist(),
    }


class Checkpoint:
    """Per-phase scan state of one run in an ``.npz`` file.

    Args:
        path: the checkpoint file; if it exists, the run resumes from it.
        fingerprint: the run's :func:`run_fingerprint`; must equal the file's.

    Raises:
        ValueError: the file is not a uqlab checkpoint, is from a newer format, or belongs to
            another run (the message names the part that differs).
    """

    def __init__(self, path, fingerprint: dict):
        self.path = pathlib.Path(path)
        self.fingerprint = json.loads(json.dumps(fingerprint))
        self._phases: dict[str, int] = {}
        self._arrays: dict[str, np.ndarray] = {}
        if self.path.exists():
            self._read()

    def _read(self) -> None:
        where = f"checkpoint: {str(self.path)!r}"
        try:
            with np.load(self.path, allow_pickle=False) as f:
                arrays = {name: f[name] for name in f.files}
            meta = json.loads(str(arrays.pop("__meta__")))
        except Exception as err:  # zip/npz/json errors of a damaged or foreign file
            raise ValueError(f"{where} is not a readable {FORMAT} file (truncated or another kind): {err}") from None
        if not isinstance(meta, dict):
            raise ValueError(f"{where}: expected a {FORMAT} file, its metadata is a {type(meta).__name__}")
        if meta.get("format") != FORMAT:
            raise ValueError(f"{where}: expected a {FORMAT} file, got format {meta.get('format')!r}")
        version = meta.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"{where} has an unreadable format_version {version!r}")
        if version > FORMAT_VERSION:
            raise ValueError(f"{where} has format version {version} > {FORMAT_VERSION}; upgrade uqlab")
        if version >= 2:
            verify(where, meta.get("checksums"), {name: array_digest(a) for name, a in arrays.items()})
        if not isinstance(meta.get("fingerprint"), dict) or not isinstance(meta.get("phases"), dict):
            raise ValueError(f"{where}: the metadata lacks its fingerprint or phases")
        for part in ("method", "model", "data", "key"):
            if meta["fingerprint"].get(part) != self.fingerprint[part]:
                raise ValueError(
                    f"{where} belongs to another run: its {part} differs "
                    f"(checkpoint: {meta['fingerprint'].get(part)!r}, this run: {self.fingerprint[part]!r}); "
                    "use another checkpoint path or delete the file"
                )
        self._phases, self._arrays = meta["phases"], arrays

    def restore(self, phase: str, carry, outs_structure):
        """``(start_step, carry, outs)`` of ``phase``: ``(0, carry, None)`` if it never ran.

        Args:
            phase: the phase name.
            carry: the phase's initial carry (gives the structure, shapes and dtypes).
            outs_structure: treedef of the per-step outputs, or None if they are not collected.
        """
        import jax

        if phase not in self._phases:
            return 0, carry, None
        leaves, treedef = jax.tree_util.tree_flatten(carry)
        saved = [self._arrays[f"{phase}/carry/{i}"] for i in range(len(leaves))]
        for i, (want, got) in enumerate(zip(leaves, saved)):
            if np.shape(want) != got.shape or np.asarray(want).dtype != got.dtype:
                raise ValueError(
                    f"checkpoint: {str(self.path)!r} phase {phase!r} state leaf {i} has shape {got.shape} "
                    f"{got.dtype}, expected {np.shape(want)} {np.asarray(want).dtype}"
                )
        outs = None
        if outs_structure is not None:
            outs = jax.tree_util.tree_unflatten(
                outs_structure, [self._arrays[f"{phase}/outs/{i}"] for i in range(outs_structure.num_leaves)]
            )
        return self._phases[phase], jax.tree_util.tree_unflatten(treedef, saved), outs

    def save(self, phase: str, step: int, carry, outs) -> None:
        """Record that ``phase`` has done ``step`` steps with this carry and these outputs; write atomically."""
        import jax

        for name in [n for n in self._arrays if n.startswith(f"{phase}/")]:
            del self._arrays[name]
        for i, leaf in enumerate(jax.tree_util.tree_leaves(jax.device_get(carry))):
            self._arrays[f"{phase}/carry/{i}"] = np.asarray(leaf)
        for i, leaf in enumerate(jax.tree_util.tree_leaves(outs) if outs is not None else []):
            self._arrays[f"{phase}/outs/{i}"] = np.asarray(leaf)
        self._phases[phase] = int(step)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "fingerprint": self.fingerprint, "phases": self._phases,
                "checksums": {name: array_digest(a) for name, a in self._arrays.items()}}
        with atomic_write(self.path, "wb") as handle:
            np.savez(handle, __meta__=np.asarray(json.dumps(meta)), **self._arrays)

    def finish(self) -> None:
        """The run completed: remove the checkpoint file."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
