"""Checkpoint and resume: an interrupted-then-resumed run equals an uninterrupted one, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import tiny_data, tiny_mlp
from uqlab.inference.checkpoint import Checkpoint
from uqlab.inference.nuts import NUTS


class Interrupted(Exception):
    pass


def _interrupt_after(monkeypatch, saves: int):
    """Make the run stop (as if killed) right after its ``saves``-th checkpoint write."""
    original, count = Checkpoint.save, [0]

    def save(self, *args):
        original(self, *args)
        count[0] += 1
        if count[0] == saves:
            raise Interrupted

    monkeypatch.setattr(Checkpoint, "save", save)


def _method(path):
    return NUTS(num_warmup=12, num_samples=8, num_chains=2, max_tree_depth=3, progress=False, checkpoint=str(path))


@pytest.mark.parametrize("saves", [5, 16])  # inside warmup; inside sampling
def test_resume_equals_uninterrupted(saves, tmp_path, monkeypatch):
    model, data = tiny_mlp(), tiny_data()
    path = tmp_path / "run.ckpt"
    whole = uqlab.fit(model, data, _method(None), key=3)
    with monkeypatch.context() as patch:
        _interrupt_after(patch, saves)
        with pytest.raises(Interrupted):
            uqlab.fit(model, data, _method(path), key=3)
    assert path.exists()
    resumed = uqlab.fit(model, data, _method(path), key=3)
    for a, b in zip(*(np.asarray(p.particles["net"][0]["w"]) for p in (whole, resumed))):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.predict(data.x_test).loc, resumed.predict(data.x_test).loc)
    assert not path.exists(), "a completed run removes its checkpoint"


def test_checkpoint_of_another_model_or_key(tmp_path, monkeypatch):
    data, path = tiny_data(), tmp_path / "run.ckpt"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 3)
        with pytest.raises(Interrupted):
            uqlab.fit(tiny_mlp(), data, _method(path), key=0)
    with pytest.raises(ValueError, match="checkpoint: .* belongs to another run: its model differs"):
        uqlab.fit(tiny_mlp(activation="relu"), data, _method(path), key=0)
    with pytest.raises(ValueError, match="its key differs"):
        uqlab.fit(tiny_mlp(), data, _method(path), key=1)


def test_checkpoint_file_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "junk.ckpt"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="checkpoint: .* not a readable uqlab-checkpoint"):
        uqlab.fit(tiny_mlp(), tiny_data(), _method(path), key=0)
