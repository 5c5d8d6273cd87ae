"""NUTS/HMC chain initialisation: ``init="map"`` optimises each chain's start before warmup."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from uqlab.inference.nuts import NUTS
from uqlab.inference.targets import LogDensity

MODE, SD = 5.0, 0.1


def _log_density(params):
    import jax.numpy as jnp

    return -0.5 * jnp.sum(((params["z"] - MODE) / SD) ** 2)


def _start():
    return {"z": np.zeros(3, np.float32)}


@pytest.mark.parametrize("vectorize", [True, False])
def test_map_init_starts_chains_at_the_mode_and_samples_correctly(vectorize):
    target = LogDensity(_log_density, _start(), init_jitter=1.0)
    post = uqlab.fit(target, None, "nuts", key=0, num_warmup=100, num_samples=100, num_chains=2, init="map",
                     init_steps=300, init_learning_rate=0.1, progress=False, vectorize=vectorize)
    # from |z - 5| ~ 5 (log density ~ -3800) the optimiser must reach the mode, where log p = 0;
    # Adam's last steps oscillate by about the learning rate around it: |dz| <= 0.1 gives >= -1.5
    assert np.all(np.asarray(post.info["init_log_density"]) > -1.5), post.info["init_log_density"]
    assert post.info["init_gradient_evals"] == 600
    draws = post.samples()["z"].reshape(-1, 3)
    # 200 draws of a N(5, 0.1^2): the mean's s.e. is <= 0.1 / sqrt(ESS); ESS >= 50 is conservative
    assert np.all(np.abs(draws.mean(0) - MODE) < 4 * SD / np.sqrt(50))
    assert np.all(np.abs(draws.std(0) - SD) < 0.5 * SD)


def test_zero_init_steps_keeps_the_prior_start():
    from uqlab.inference.nuts import optimize_starts

    start = {"z": np.zeros((2, 3), np.float32)}
    positions, final, evals = optimize_starts(_log_density, start, num_steps=0, learning_rate=0.1, progress=False)
    np.testing.assert_array_equal(positions["z"], start["z"])
    np.testing.assert_allclose(final, -0.5 * 3 * (MODE / SD) ** 2, rtol=1e-6)
    assert evals == 0


def test_a_stochastic_objective_is_climbed_and_the_log_density_reported():
    """``objective`` (a training objective with its own per-step key) moves the starts; the reported
    log densities are ``logdensity_fn``'s. Here the objective's optimum is 3 + noise of mean 0."""
    import jax
    import jax.numpy as jnp

    from uqlab.inference.nuts import optimize_starts

    def objective(params, key):
        target = 3.0 + 0.05 * jax.random.normal(key, params["z"].shape)
        return -0.5 * jnp.sum((params["z"] - target) ** 2)

    start = {"z": np.zeros((2, 3), np.float32)}
    positions, final, _ = optimize_starts(_log_density, start, jax.random.PRNGKey(0), num_steps=400, learning_rate=0.1,
                                       progress=False, objective=objective)
    # cosine-decayed Adam averages the noisy optimum over its last steps: well within 0.1 of 3
    np.testing.assert_allclose(positions["z"], 3.0, atol=0.1)
    np.testing.assert_allclose(final, np.asarray(jax.vmap(_log_density)(positions)), rtol=1e-6)


@pytest.mark.parametrize(
    "settings, match",
    [({"init": "mode"}, "init"), ({"init_steps": -1}, "init_steps"), ({"init_learning_rate": 0.0}, "init_learning_rate"),
     ({"vectorize": "yes"}, "vectorize"), ({"init_lbfgs_steps": -1}, "init_lbfgs_steps")],
)
def test_bad_init_settings(settings, match):
    with pytest.raises(ValueError, match=match):
        NUTS(**settings)


def test_map_starts_climb_the_models_training_objective(monkeypatch):
    """``init="map"`` climbs the target's training objective: for a PINN with ``resample=True`` it
    evaluates fresh collocation points per key, while the sampler's log density keeps the fixed ones."""
    import jax

    from uqlab.data import Dataset
    from uqlab.inference import starts
    from uqlab.inference.targets import make_target
    from uqlab.models.pinn import PINN

    rng = np.random.default_rng(0)
    z = np.c_[rng.uniform(-1, 1, 20), rng.uniform(0, 1, 20)].astype(np.float32)
    data = Dataset(z, np.sin(np.pi * z[:, :1]), standardize=False)
    model = PINN(collocation=z, widths=(4,), nu=0.05, resample=True)
    target = make_target(model, data, "NUTS")
    params, key = model.init(jax.random.PRNGKey(0)), jax.random.PRNGKey(1)
    assert target.training_logdensity(params, key) != target.logdensity(params)

    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    real = starts.optimize_starts
    monkeypatch.setattr(starts, "optimize_starts", spy)
    uqlab.fit(model, data, "nuts", key=0, num_warmup=4, num_samples=4, num_chains=1, init="map", init_steps=3,
              max_tree_depth=2, progress=False)
    assert seen["objective"](params, key) == target.training_logdensity(params, key)


def _ill_conditioned(params):
    """A Gaussian log density with scales 1e-3 ... 1 (condition number 1e6) and mode at MODE."""
    import jax.numpy as jnp

    scales = jnp.logspace(-3, 0, params["z"].shape[-1])
    return -0.5 * jnp.sum(((params["z"] - MODE) / scales) ** 2)


@pytest.mark.parametrize("vectorize", [True, False])
def test_lbfgs_finish_reaches_the_mode_of_an_ill_conditioned_target(vectorize):
    """Adam with a fixed budget stops short on condition number 1e6; L-BFGS after it reaches the mode
    (log p = 0) to float32 precision, and the gradient evaluations it reports are the ones it made."""
    import jax

    from uqlab.inference.nuts import optimize_starts

    start = {"z": np.zeros((2, 8), np.float32)}
    adam_only, adam_final, adam_evals = optimize_starts(_ill_conditioned, start, num_steps=200, learning_rate=0.1,
                                                        progress=False, vectorize=vectorize)
    assert adam_evals == 400 and np.all(adam_final < -1.0), adam_final
    calls = []
    counted = lambda p: _ill_conditioned(jax.debug.callback(lambda: calls.append(1)) or p)  # noqa: E731
    _, final, evals = optimize_starts(counted, start, num_steps=200, learning_rate=0.1, progress=False,
                                              vectorize=vectorize, lbfgs_steps=60)
    # log p > -1e-3 puts every coordinate within 0.045 of its scale of the mode
    assert np.all(final > -1e-3), final
    if not vectorize:  # under vmap, optax's lax.cond on "reuse the line search's value" runs both branches
        # each chain runs alone under lax.map (one call per evaluation); the final report is vmapped (one call)
        assert evals == len(calls) - 1, (evals, len(calls))


def test_nuts_reports_lbfgs_evaluations_in_its_init_count():
    target = LogDensity(_ill_conditioned, {"z": np.zeros(8, np.float32)}, init_jitter=1.0)
    post = uqlab.fit(target, None, "nuts", key=0, num_warmup=20, num_samples=10, num_chains=2, init="map",
                     init_steps=50, init_learning_rate=0.1, init_lbfgs_steps=150, max_tree_depth=3, progress=False)
    assert np.all(np.asarray(post.info["init_log_density"]) > -1e-3), post.info["init_log_density"]
    assert post.info["init_gradient_evals"] >= 2 * (50 + 150 + 1)
