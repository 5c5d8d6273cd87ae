"""Checkpoint and resume: an interrupted-then-resumed run equals an uninterrupted one, bit for bit."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import uqlab
from tests.conformance.cases import tiny_data, tiny_mlp
from uqlab.inference.checkpoint import Checkpoint
from uqlab.inference.nuts import NUTS
from uqlab.inference.sgmcmc import SGHMC, SGLD


class Interrupted(Exception):
    pass


def _watch_saves(monkeypatch, stop_after: int | None = None) -> list:
    """Record each checkpoint write as ``(phase, steps done)``; with ``stop_after``, make the run
    stop (as if killed) right after that many writes."""
    original, saves = Checkpoint.save, []

    def save(self, phase, step, *args):
        original(self, phase, step, *args)
        saves.append((phase, step))
        if len(saves) == stop_after:
            raise Interrupted

    monkeypatch.setattr(Checkpoint, "save", save)
    return saves


def _fit_interrupted_then_resumed(model, data, make_method, path, stop_after: int, key: int):
    """Interrupt a checkpointed fit, resume it, and check that the resumed run did not start over."""
    with pytest.MonkeyPatch.context() as patch:
        before = _watch_saves(patch, stop_after)
        with pytest.raises(Interrupted):
            uqlab.fit(model, data, make_method(path), key=key)
    assert path.exists()
    with pytest.MonkeyPatch.context() as patch:
        after = _watch_saves(patch)
        resumed = uqlab.fit(model, data, make_method(path), key=key)
    assert not set(after) & set(before), "the resumed run redid chunks instead of continuing"
    assert not path.exists(), "a completed run removes its checkpoint"
    return resumed


def _method(path):
    return NUTS(num_warmup=12, num_samples=8, num_chains=2, max_tree_depth=3, progress=False,
                checkpoint=None if path is None else str(path))


@pytest.fixture(scope="module")
def nuts_whole():
    return uqlab.fit(tiny_mlp(), tiny_data(), _method(None), key=3)


@pytest.mark.parametrize("saves", [5, 16])  # inside warmup; inside sampling
def test_resume_equals_uninterrupted(saves, tmp_path, nuts_whole):
    model, data, whole = tiny_mlp(), tiny_data(), nuts_whole
    path = tmp_path / "run.ckpt"
    resumed = _fit_interrupted_then_resumed(model, data, _method, path, saves, key=3)
    for a, b in zip(*(np.asarray(p.particles["net"][0]["w"]) for p in (whole, resumed))):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.predict(data.x_test).loc, resumed.predict(data.x_test).loc)


def test_checkpoint_of_another_model_or_key(tmp_path, monkeypatch):
    data, path = tiny_data(), tmp_path / "run.ckpt"
    with monkeypatch.context() as patch:
        _watch_saves(patch, 3)
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


SGMCMC = {
    "sgld": lambda path: SGLD(step_size=1e-3, batch_size=8, num_samples=6, num_burnin=10, thinning=2, num_chains=2,
                              progress=False, checkpoint=path),
    "sghmc": lambda path: SGHMC(step_size=1e-3, batch_size=8, num_samples=6, num_burnin=4, num_chains=2,
                                num_integration_steps=2, schedule="cyclical", num_cycles=2, progress=False,
                                checkpoint=path),
}


@pytest.mark.parametrize("name", sorted(SGMCMC))
def test_sgmcmc_resume_equals_uninterrupted(name, tmp_path):
    model, data, path = tiny_mlp(), tiny_data(), tmp_path / "run.ckpt"
    whole = uqlab.fit(model, data, SGMCMC[name](None), key=3)
    # stop after 4 of about 20 chunks: during burn-in (sgld) or the first cycle (sghmc)
    resumed = _fit_interrupted_then_resumed(model, data, SGMCMC[name], path, 4, key=3)
    for a, b in zip(*(jax.tree_util.tree_leaves(p.particles) for p in (whole, resumed))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_sgmcmc_checkpoint_of_another_model(tmp_path, monkeypatch):
    data, path = tiny_data(), tmp_path / "run.ckpt"
    with monkeypatch.context() as patch:
        _watch_saves(patch, 2)
        with pytest.raises(Interrupted):
            uqlab.fit(tiny_mlp(), data, SGMCMC["sgld"](path), key=0)
    with pytest.raises(ValueError, match="checkpoint: .* belongs to another run: its model differs"):
        uqlab.fit(tiny_mlp(activation="relu"), data, SGMCMC["sgld"](path), key=0)
    with pytest.raises(ValueError, match="its method differs"):
        uqlab.fit(tiny_mlp(), data, SGMCMC["sgld"](path).replace(step_size=2e-3), key=0)
    with pytest.raises(TypeError, match="checkpoint: expected a file path"):
        SGLD(checkpoint=3)


@pytest.mark.parametrize("method", [NUTS, SGLD])
def test_checkpoint_setting_is_stored_as_a_string(method, tmp_path):
    """A ``pathlib.Path`` is kept as ``str`` (saved posteriors store the settings as JSON)."""
    assert method(checkpoint=tmp_path / "run.ckpt").checkpoint == str(tmp_path / "run.ckpt")
    with pytest.raises(TypeError, match="checkpoint: expected a file path or None, got int"):
        method(checkpoint=3)
