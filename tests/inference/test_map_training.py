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


@pytest.mark.parametrize("likelihood", ["gaussian", "heteroscedastic"])
@pytest.mark.parametrize("method", ["ensemble", "mc_dropout", "vi_meanfield"])
def test_an_optimiser_that_diverges_does_not_succeed(method, likelihood):
    """A learning rate of 1e6 blows the loss up by orders of magnitude (or to inf/NaN): the fit
    raises and names the setting to lower instead of returning a posterior. With a heteroscedastic
    likelihood the loss stays finite (3 -> 2e20) and blows up within the first steps."""
    from uqlab.inference.registry import make_method
    from uqlab.models.likelihoods import Gaussian, Heteroscedastic

    noise = Heteroscedastic() if likelihood == "heteroscedastic" else Gaussian()
    data = tiny_data()
    model = tiny_mlp(dropout_rate=0.1, likelihood=noise)
    with pytest.raises(FloatingPointError, match="learning_rate"):
        uqlab.fit(model, data, make_method(method, num_steps=30, learning_rate=1e6, progress=False), key=0)


def test_the_driver_flags_a_loss_that_grows_by_orders_of_magnitude():
    from uqlab.inference.driver import Session
    from uqlab.inference.kernels.optimizers import DescentInfo
    from uqlab.inference.transform import Transform

    def grow(factor):
        """A kernel whose 'loss' is its state, multiplied by ``factor`` each step."""
        return Transform(lambda p, key=None: p, lambda key, s, batch: (s * factor, DescentInfo(s)))

    session = Session("Toy", progress=False)
    run = lambda factor: session.run(grow(factor), np.float32(1.0), np.array([0, 0], np.uint32), num_steps=20,  # noqa: E731
                                     loss=lambda infos: infos.loss, setting="step_size")
    run(1.0)  # a flat loss passes
    run(1.3)  # 30 % growth per step: x150 over the run, below 1 + BLOW_UP_FACTOR * 2
    with pytest.raises(FloatingPointError, match="the optimiser diverged; try a smaller step_size"):
        run(2.0)
    with pytest.raises(FloatingPointError, match="non-finite"):
        run(np.inf)
