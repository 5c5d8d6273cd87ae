"""The driver's chunked scan equals one plain ``lax.scan`` with the same keys, padded chunks included."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from uqlab.inference.driver import Session
from uqlab.inference.transform import Transform

MEMBERS = 3


def random_walk() -> Transform:
    """``x <- x + scale * N(0, I)``; the info is the new sum."""

    def update(key, state, batch):
        new = state + batch["scale"] * jax.random.normal(key, state.shape)
        return new, jnp.sum(new)

    return Transform(lambda position, key=None: position, update)


@pytest.mark.parametrize("num_steps", [20, 23])  # 23 is prime: the last chunk is padded (24 steps run)
@pytest.mark.parametrize("thinned", [False, True])
def test_chunked_run_equals_a_plain_scan(num_steps, thinned):
    kernel, key, start = random_walk(), jax.random.PRNGKey(3), jnp.zeros((MEMBERS, 2))
    scale = np.linspace(0.5, 1.5, num_steps, dtype=np.float32)
    keep = (np.arange(num_steps) % 3 == 1) if thinned else None
    result = Session("Toy", progress=False).run(
        kernel, start, key, num_steps=num_steps, members=MEMBERS, schedule={"scale": scale},
        position=lambda s: s, keep=keep,
    )

    def body(states, inputs):
        keys, value = inputs
        states, info = jax.vmap(lambda k, s: kernel.update(k, s, {"scale": value}))(keys, states)
        return states, (states, info)

    keys = jax.random.split(key, num_steps * MEMBERS).reshape(num_steps, MEMBERS, -1)
    final, (path, infos) = jax.lax.scan(body, start, (keys, scale))
    path = np.swapaxes(np.asarray(path), 0, 1)  # (members, steps, 2)
    expected = path if keep is None else path[:, keep]
    # equal up to float rounding (XLA may fuse the two loops differently); a wrong step is O(1) off
    np.testing.assert_allclose(result.draws, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(result.state, final, rtol=1e-6, atol=1e-6)  # padded steps did not move it
    np.testing.assert_allclose(result.infos, infos, rtol=1e-6, atol=1e-6)
    assert np.asarray(result.infos).shape == (num_steps, MEMBERS)
