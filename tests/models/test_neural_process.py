"""Neural processes: training lowers the loss, context narrows the predictive, bad context raises."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import uqlab
from uqlab.inference.neural_process import NPTrain
from uqlab.models.neural_process import NeuralProcess
from uqlab.problems.gp_tasks import GPTasks

TASKS = GPTasks()


@pytest.fixture(scope="module", params=["cnp", "np"])
def trained(request):
    method = NPTrain(num_steps=300, batch_size=8, learning_rate=1e-3, num_latent_samples=16, progress=False)
    return method.fit(NeuralProcess(kind=request.param, width=32, depth=2), TASKS, key=0)


def test_training_lowers_the_loss(trained):
    losses = trained.info["losses"]
    assert losses[-30:].mean() < losses[:30].mean() - 0.1


def test_predict_is_a_predictive_and_deterministic(trained):
    x = np.linspace(-2, 2, 7)
    post = trained.condition(x[:4], np.sin(x[:4]))
    a, b = post.predict(x), post.predict(x)
    assert isinstance(a, uqlab.Predictive) and a.shape == (7, 1)
    assert a.num_members == (16 if trained.model.is_latent else 1)
    np.testing.assert_array_equal(a.loc, b.loc)


def test_context_errors(trained):
    x = np.linspace(-2, 2, 5)
    with pytest.raises(ValueError, match="same number of points"):
        trained.condition(x, np.sin(x[:4]))
    with pytest.raises(ValueError, match=r"expected shape \(n, 1\)"):
        trained.condition(np.ones((5, 2)), np.ones((5, 1)))
    if trained.model.is_latent:
        prior = trained.condition(np.zeros(0), np.zeros(0)).predict(x)
        assert prior.num_members == 16 and np.all(np.isfinite(prior.std))
    else:
        with pytest.raises(ValueError, match="at least one context point"):
            trained.condition(np.zeros(0), np.zeros(0))


def test_attentive_np_runs_and_bad_arguments_raise():
    post = NPTrain(num_steps=3, batch_size=2, progress=False).fit(NeuralProcess(kind="anp", width=8, depth=1), TASKS)
    x = np.linspace(-2, 2, 5)
    assert np.all(np.isfinite(post.condition(x[:2], x[:2]).predict(x).std))
    assert np.all(np.isfinite(post.condition(np.zeros(0), np.zeros(0)).predict(x).std))
    with pytest.raises(TypeError, match="NeuralProcess"):
        NPTrain(num_steps=3).fit(uqlab.models.GP(), TASKS)
    with pytest.raises(TypeError, match="task generator"):
        NPTrain(num_steps=3).fit(NeuralProcess(), uqlab.Dataset(x, x))
    with pytest.raises(ValueError, match="kind"):
        NeuralProcess(kind="gnp")


def test_tasks_and_true_predictive_match_the_exact_gp():
    import jax.numpy as jnp

    batch = TASKS.sample(jax.random.PRNGKey(3), 50)
    n_context, n_total = np.asarray(batch["context"]).sum(1), np.asarray(batch["target"]).sum(1)
    assert n_context.min() >= 3 and n_context.max() <= 47 and np.all(n_total > n_context) and n_total.max() <= 50
    task = jax.tree_util.tree_map(lambda a: a[0], batch)
    loc, scale = TASKS.true_predictive(task)
    n = int(task["context"].sum())
    x, y = np.asarray(task["x"], np.float64), np.asarray(task["y"], np.float64)
    with jax.enable_x64(True):
        gram = lambda a, b: TASKS._gram(task["hyper"], a, b)  # noqa: E731
        k = gram(jnp.asarray(x[:n]), jnp.asarray(x[:n])) + (TASKS.noise_scale**2 + 1e-6) * np.eye(n)
        ks = gram(jnp.asarray(x), jnp.asarray(x[:n]))
        mean = ks @ np.linalg.solve(k, y[:n])
        var = np.diag(gram(jnp.asarray(x), jnp.asarray(x))) - np.sum(ks * np.linalg.solve(k, ks.T).T, 1)
    np.testing.assert_allclose(np.asarray(loc), mean, atol=2e-3)
    np.testing.assert_allclose(np.asarray(scale)[:, 0] ** 2, var + TASKS.noise_scale**2, atol=2e-3)
