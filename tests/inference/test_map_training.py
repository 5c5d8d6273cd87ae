"""The shared MAP trainer behind DeepEnsemble and MCDropout: member batching and step-size schedules."""

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import tiny_data, tiny_mlp
from uqlab.inference.ensemble import DeepEnsemble

SETTINGS = dict(num_members=3, num_steps=300, learning_rate=1e-2, progress=False)


def test_members_one_after_another_equal_members_under_vmap():
    data, model = tiny_data(), tiny_mlp()
    batched = uqlab.fit(model, data, DeepEnsemble(**SETTINGS), key=0).predict(data.x_test)
    looped = uqlab.fit(model, data, DeepEnsemble(vectorize=False, **SETTINGS), key=0).predict(data.x_test)
    np.testing.assert_allclose(looped.loc, batched.loc, rtol=1e-3, atol=1e-4)


def test_cosine_schedule_ends_with_small_steps():
    data, model = tiny_data(), tiny_mlp()
    losses = {
        schedule: uqlab.fit(model, data, DeepEnsemble(schedule=schedule, **SETTINGS), key=0).info["losses"]
        for schedule in ("constant", "cosine")
    }
    # With the step size decayed to 1 %, the last iterates barely move: their loss wobbles less.
    wobble = {k: np.abs(np.diff(v[-50:], axis=0)).mean() for k, v in losses.items()}
    assert wobble["cosine"] < wobble["constant"], wobble


@pytest.mark.parametrize("method", ["ensemble", "mc_dropout"])
def test_unknown_schedule_is_named(method):
    from uqlab.inference.registry import make_method

    with pytest.raises(ValueError, match="schedule: expected one of"):
        make_method(method, schedule="linear")
