"""Shared conformance checks applied to every registered inference method."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import CASES


def test_every_registered_method_has_a_conformance_case():
    assert sorted({name.split("[")[0] for name in CASES}) == uqlab.methods()


@pytest.fixture(scope="module", params=sorted(CASES))
def fitted(request):
    method, model, data = CASES[request.param]()
    return {
        "name": request.param,
        "data": data,
        "model": model,
        "method": method,
        "first": uqlab.fit(model, data, method, key=0),
        "again": uqlab.fit(model, data, method, key=0),
        "other": uqlab.fit(model, data, method, key=1),
    }


def test_fit_predict_shapes_and_finite(fitted):
    data = fitted["data"]
    pred = fitted["first"].predict(data.x_test)
    assert isinstance(pred, uqlab.Predictive)
    assert pred.shape == (len(data.x_test), data.y.shape[1])
    assert pred.num_members >= 1
    for array in (pred.mean, pred.var, pred.logpdf(data.y_test), pred.cdf(data.y_test)):
        assert np.all(np.isfinite(array))
    assert np.all(pred.var > 0)


def test_same_key_same_numbers(fitted):
    x = fitted["data"].x_test
    a, b = fitted["first"].predict(x), fitted["again"].predict(x)
    np.testing.assert_array_equal(a.loc, b.loc)
    if a.scale is not None:
        np.testing.assert_array_equal(a.scale, b.scale)


def test_different_key_different_numbers(fitted):
    x = fitted["data"].x_test
    a, b = fitted["first"].predict(x), fitted["other"].predict(x)
    assert not np.allclose(a.mean, b.mean)


def test_repeated_predict_is_deterministic(fitted):
    x = fitted["data"].x_test
    post = fitted["first"]
    np.testing.assert_array_equal(post.predict(x).loc, post.predict(x).loc)


def test_info_has_fit_seconds(fitted):
    assert fitted["first"].info["fit_seconds"] > 0


class Interrupted(Exception):
    pass


def test_interrupted_then_resumed_equals_uninterrupted(fitted, tmp_path, monkeypatch):
    """Every resumable method: a fit killed after its third checkpoint write, then run again with
    the same checkpoint, predicts bit for bit what the uninterrupted fit predicts."""
    from uqlab.inference.checkpoint import Checkpoint

    method = fitted["method"]
    if not method.capabilities.resumable:
        assert "checkpoint" not in method.settings()
        return
    path = tmp_path / "run.ckpt"
    resumable = method.replace(checkpoint=str(path))
    original, saves = Checkpoint.save, []

    def save(self, *args):
        original(self, *args)
        saves.append(args[:2])
        if len(saves) == 3:
            raise Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(Checkpoint, "save", save)
        with pytest.raises(Interrupted):
            uqlab.fit(fitted["model"], fitted["data"], resumable, key=0)
    assert path.exists()
    resumed = uqlab.fit(fitted["model"], fitted["data"], resumable, key=0)
    assert not path.exists(), "a completed run removes its checkpoint"
    x = fitted["data"].x_test
    a, b = fitted["first"].predict(x), resumed.predict(x)
    np.testing.assert_array_equal(a.loc, b.loc)
    if a.scale is not None:
        np.testing.assert_array_equal(a.scale, b.scale)


def test_info_is_typed_and_reads_like_a_dict(fitted):
    from uqlab.info import FitInfo

    info, capabilities = fitted["first"].info, fitted["method"].capabilities
    assert isinstance(info, FitInfo)
    assert info["fit_seconds"] == info.fit_seconds and dict(info)["fit_seconds"] == info.fit_seconds
    if capabilities.resumable:  # run by the driver: gradients counted, chain diagnostics for several chains
        assert info.total_gradient_evals > 0
        several_chains = capabilities.draws and getattr(fitted["first"], "num_chains", 1) > 1
        assert (info.rhat_max is not None) == several_chains


def test_to_arviz_for_every_method(fitted):
    """Every posterior exports to ArviZ: draws where it has them, else draws of its predictive."""
    x = fitted["data"].x[:5]
    idata = fitted["first"].to_arviz(x=x, num_samples=50)
    sizes = idata.posterior.sizes
    assert sizes["chain"] >= 1 and sizes["draw"] >= 1
    assert idata.posterior_predictive["y"].shape[2:] == (5, 1)
    assert np.all(np.isfinite(idata.posterior_predictive["y"].values))


def test_num_samples_thins_members(fitted):
    post, x = fitted["first"], fitted["data"].x_test
    wanted = min(2, post.num_members)
    assert post.predict(x, num_samples=wanted).num_members == wanted
