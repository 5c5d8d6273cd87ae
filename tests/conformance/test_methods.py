"""Shared conformance checks applied to every registered inference method."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import CASES


def test_every_registered_method_has_a_conformance_case():
    assert sorted(CASES) == uqlab.methods()


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


def test_num_samples_thins_members(fitted):
    post, x = fitted["first"], fitted["data"].x_test
    wanted = min(2, post.num_members)
    assert post.predict(x, num_samples=wanted).num_members == wanted
