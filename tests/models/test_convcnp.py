"""ConvCNP: translation equivariance, set invariances, masks and shapes (untrained, random weights)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from uqlab.models.convcnp import ConvCNP
from uqlab.models.neural_process import NeuralProcess

MODEL = ConvCNP(d_y=2, channels=8, depth=3, points_per_unit=16.0, span=4.0)


@pytest.fixture(scope="module")
def setup():
    k_p, k_x, k_y, k_t = jax.random.split(jax.random.PRNGKey(3), 4)
    params = MODEL.init(k_p)
    # Length scales away from their initial values, so the test does not rely on the initial grid spacing ratio.
    params = {**params, "log_encoder_scale": jnp.log(0.11), "log_decoder_scale": jnp.log(0.07)}
    x_c = jax.random.uniform(k_x, (12, 1), minval=-2.0, maxval=2.0)
    y_c = jax.random.normal(k_y, (12, 2))
    x_t = jax.random.uniform(k_t, (9, 1), minval=-2.0, maxval=2.0)
    return params, x_c, y_c, jnp.arange(12) < 10, x_t


def forward(params, x_c, y_c, mask, x_t):
    return jax.jit(MODEL.forward)(params, x_c, y_c, mask, x_t)


@pytest.mark.parametrize("shift", [0.37, -5.123, 1.0 / 16])
def test_translation_equivariance(setup, shift):
    """Shifting every input by ``t`` leaves the predictive at the shifted targets unchanged
    (float32 rounding only: inputs of size ~5 carry ~5e-7 absolute error)."""
    params, x_c, y_c, mask, x_t = setup
    loc, scale = forward(params, x_c, y_c, mask, x_t)
    loc_s, scale_s = forward(params, x_c + shift, y_c, mask, x_t + shift)
    np.testing.assert_allclose(loc_s, loc, atol=2e-4, rtol=1e-4)
    np.testing.assert_allclose(scale_s, scale, atol=2e-4, rtol=1e-4)


def test_context_matters_and_shifting_it_alone_changes_the_prediction(setup):
    """Equivariance is not constancy: moving the context relative to the targets changes the output."""
    params, x_c, y_c, mask, x_t = setup
    loc, _ = forward(params, x_c, y_c, mask, x_t)
    loc_moved, _ = forward(params, x_c + 0.3, y_c, mask, x_t)
    loc_other_y, _ = forward(params, x_c, -y_c, mask, x_t)
    assert np.abs(loc_moved - loc).max() > 1e-2
    assert np.abs(loc_other_y - loc).max() > 1e-2


def test_context_is_a_set_and_masked_points_are_ignored(setup):
    params, x_c, y_c, mask, x_t = setup
    loc, scale = forward(params, x_c, y_c, mask, x_t)
    order = jnp.asarray([4, 0, 9, 2, 7, 1, 8, 3, 6, 5, 10, 11])  # permute the 10 real points
    loc_p, scale_p = forward(params, x_c[order], y_c[order], mask[order], x_t)
    np.testing.assert_allclose(loc_p, loc, atol=1e-5)
    garbage_x = x_c.at[10:].set(50.0)  # padded points far away with huge values: no effect
    garbage_y = y_c.at[10:].set(1e6)
    loc_g, scale_g = forward(params, garbage_x, garbage_y, mask, x_t)
    np.testing.assert_allclose(loc_g, loc, atol=1e-6)
    np.testing.assert_allclose(scale_g, scale, atol=1e-6)


def test_shapes_scale_bound_and_loss(setup):
    params, x_c, y_c, mask, x_t = setup
    loc, scale = MODEL.predict(params, x_c, y_c, mask, x_t, jax.random.PRNGKey(0), 7)
    assert loc.shape == scale.shape == (1, 9, 2)
    assert float(scale.min()) >= MODEL.min_scale
    task = {"x": jnp.concatenate([x_c, x_t]), "y": jnp.concatenate([y_c, jnp.zeros((9, 2))]),
            "context": jnp.arange(21) < 10, "target": jnp.arange(21) < 21}
    value, grads = jax.jit(jax.value_and_grad(MODEL.loss))(params, task, None)
    assert value.shape == () and np.isfinite(value)
    assert all(np.isfinite(g).all() for g in jax.tree_util.tree_leaves(grads))
    assert float(jnp.abs(grads["log_encoder_scale"])) > 0  # the length scales are learned


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="kernel_size"):
        ConvCNP(kernel_size=4)
    with pytest.raises(ValueError, match="points_per_unit"):
        ConvCNP(points_per_unit=0.0)


def test_multi_head_attention_is_per_head_attention_concatenated():
    """The ANP's H-head representation equals H single-head attentions on the feature slices."""
    model = NeuralProcess(kind="anp", width=8, depth=1, num_heads=2)
    params = model.init(jax.random.PRNGKey(0))
    x_c = jnp.linspace(-2, 2, 6)[:, None]
    y_c, x_t, mask = jnp.sin(3 * x_c), jnp.linspace(-1.5, 1.5, 4)[:, None], jnp.arange(6) < 5
    got = jax.jit(model.representation)(params, x_c, y_c, mask, x_t)
    from uqlab.models.neural_process import mlp

    h = mlp(params["deterministic"], jnp.concatenate([x_c, y_c], -1))
    q, k = mlp(params["query"], x_t), mlp(params["key"], x_c)
    parts = []
    for s in (slice(0, 4), slice(4, 8)):
        scores = q[:, s] @ k[:5, s].T / 2.0
        parts.append(jax.nn.softmax(scores, -1) @ h[:5, s])
    np.testing.assert_allclose(got, jnp.concatenate(parts, -1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="num_heads"):
        NeuralProcess(kind="anp", width=8, num_heads=3)


def test_trains_through_the_registered_np_method_and_predicts_equivariantly():
    """``uqlab.fit(ConvCNP, tasks, "np_train")``: the loss falls, and the conditioned posterior's
    Predictive moves with a shift of context and queries."""
    import uqlab
    from uqlab.problems.gp_tasks import GPTasks

    model = ConvCNP(channels=8, depth=2, points_per_unit=8.0)
    post = uqlab.fit(model, GPTasks(kernels=("rbf",)), "np_train", key=0, num_steps=200, batch_size=8,
                     learning_rate=3e-3, progress=False)
    losses = np.asarray(post.info["losses"])
    assert losses[-20:].mean() < losses[:20].mean() - 0.1, (losses[:20].mean(), losses[-20:].mean())
    x = np.linspace(-1.5, 1.5, 9)
    pred = post.condition(x[::2], np.sin(2 * x[::2])).predict(x)
    shifted = post.condition(x[::2] + 0.4, np.sin(2 * x[::2])).predict(x + 0.4)
    assert isinstance(pred, uqlab.Predictive) and pred.shape == (9, 1) and pred.num_members == 1
    np.testing.assert_allclose(shifted.mean, pred.mean, atol=1e-4)
    np.testing.assert_allclose(shifted.std, pred.std, rtol=1e-4)
