"""from_torch: a torch Sequential MLP becomes the same JAX BayesianMLP with the same weights."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import uqlab  # noqa: E402
from tests.conformance.cases import tiny_data  # noqa: E402
from uqlab.models import BayesianMLP, Heteroscedastic  # noqa: E402
from uqlab.models.torch import from_torch  # noqa: E402

ACTIVATIONS = {
    "tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(), "gelu_exact": torch.nn.GELU(),
    "gelu": torch.nn.GELU(approximate="tanh"), "silu": torch.nn.SiLU(), "softplus": torch.nn.Softplus(),
    "sigmoid": torch.nn.Sigmoid(),
}


def _net(act, dropout=0.0, widths=(7, 5), d_in=3, d_out=2):
    torch.manual_seed(0)
    layers, sizes = [], (d_in, *widths)
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), act] + ([torch.nn.Dropout(dropout)] if dropout else [])
    return torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-1], d_out)).double()


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_outputs_equal_for_every_activation(name):
    module = _net(ACTIVATIONS[name], dropout=0.2).eval()
    model, params = from_torch(module, likelihood=Heteroscedastic())
    assert model.activation == name and model.dropout_rate == pytest.approx(0.2) and model.d_out == 1
    x = np.random.default_rng(1).normal(size=(50, 3)) * 3
    expected = module(torch.as_tensor(x)).detach().numpy()
    got = np.asarray(model.raw_outputs(params, x.astype(np.float32)))
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=1e-5)


def test_converted_model_is_the_hand_written_one():
    model, params = from_torch(_net(torch.nn.Tanh(), widths=(4,), d_in=2, d_out=1))
    assert model == BayesianMLP(d_in=2, d_out=1, widths=(4,), activation="tanh")
    assert [layer["w"].shape for layer in params["net"]] == [(2, 4), (4, 1)]


@pytest.mark.parametrize("layers, message", [
    ([torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.LayerNorm(4), torch.nn.Linear(4, 1)], r"module\[2\]: LayerNorm"),
    ([torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)], "one activation"),
    ([torch.nn.Linear(1, 4), torch.nn.Linear(4, 1)], r"module\[1\]: Linear .*expected activation"),
    ([torch.nn.Linear(1, 4), torch.nn.Tanh()], "last layer to be a Linear"),
])
def test_unsupported_layers_are_named(layers, message):
    with pytest.raises(ValueError, match=message):
        from_torch(torch.nn.Sequential(*layers))


def test_output_width_must_fit_the_likelihood():
    with pytest.raises(ValueError, match="likelihood: Heteroscedastic needs 2 outputs per target.*3 outputs"):
        from_torch(_net(torch.nn.Tanh(), d_out=3), likelihood=Heteroscedastic())
    with pytest.raises(TypeError, match="module: from_torch expects a torch.nn.Sequential"):
        from_torch(torch.nn.Linear(2, 2))


def test_nuts_runs_on_a_converted_module():
    """The converted model *is* the hand-written one (equal and equally hashed, so every JAX method
    runs the same computation on it: NUTS with the same key gives the same draws); one tiny NUTS
    fit checks it goes through the sampler. The Monte Carlo comparison of NUTS runs with different
    keys is benchmarks/torch_parity.py."""
    data = tiny_data()
    converted, _ = from_torch(torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)))
    hand_written = BayesianMLP(widths=(4,))
    assert converted == hand_written and hash(converted) == hash(hand_written)
    post = uqlab.fit(converted, data, "nuts", key=0, num_warmup=10, num_samples=5, num_chains=1, max_tree_depth=2,
                     progress=False)
    assert post.predict(data.x_test).num_members == 5 and np.all(np.isfinite(post.predict(data.x_test).loc))
