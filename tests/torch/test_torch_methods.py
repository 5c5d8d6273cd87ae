"""Torch modules through uqlab.fit: likelihoods, dispatch, persistence without pickle, bad inputs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import uqlab  # noqa: E402
from tests.conformance.cases import tiny_data, tiny_torch_net  # noqa: E402
from uqlab.models import Gaussian, Heteroscedastic, StudentT  # noqa: E402
from uqlab.models.torch import TorchModel  # noqa: E402

FAST = {"num_steps": 20, "progress": False}


@pytest.mark.parametrize("likelihood", [Gaussian(), Gaussian(noise_scale=0.3), Heteroscedastic(), StudentT(),
                                        StudentT(scale=0.5, df=None)], ids=repr)
def test_torch_likelihoods_equal_the_jax_ones(likelihood):
    """log p(y | outputs) and the moment-matched (loc, scale) agree with the JAX likelihood."""
    rng = np.random.default_rng(0)
    d_out = 2
    model = TorchModel(tiny_torch_net(), likelihood)
    outputs = rng.normal(size=(6, d_out * likelihood.outputs_per_target))
    y = rng.normal(size=(6, d_out))
    jax_params = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in
                  {k: np.asarray(v) for k, v in likelihood.init(d_out).items()}.items()}
    torch_params = {f"lik.{k}": torch.as_tensor(v) for k, v in jax_params.items()}
    t_out, t_y = torch.as_tensor(outputs), torch.as_tensor(y)
    expected = np.asarray(likelihood.log_prob(y, outputs, jax_params)).sum(-1)
    np.testing.assert_allclose(model.log_likelihood(t_y, t_out, torch_params).numpy(), expected, rtol=1e-5)
    for got, want in zip(model.loc_scale(t_out, torch_params), likelihood.loc_scale(outputs, jax_params)):
        np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-5)


def test_log_prior_is_the_fan_in_prior_of_bayesian_mlp():
    """Same network, same weights: the torch prior equals BayesianMLP's fan-in prior."""
    from uqlab.models.torch import from_torch

    module = tiny_torch_net().double()
    model = TorchModel(module, prior_scale=0.7)
    converted, params = from_torch(module, prior_scale=0.7)
    network = model.network(None, 1)
    torch_params = {k: v.detach() for k, v in network.named_parameters()}
    np.testing.assert_allclose(model.log_prior(torch_params).item(), float(converted.log_prior(params)), rtol=1e-5)


def test_fit_a_module_by_name_and_by_jax_method_instance():
    from uqlab.inference.ensemble import DeepEnsemble
    from uqlab.inference.torch.ensemble import TorchEnsemble

    data = tiny_data()
    by_name = uqlab.fit(tiny_torch_net(2), data, "ensemble", key=3, likelihood=Heteroscedastic(), num_members=2, **FAST)
    by_instance = uqlab.fit(tiny_torch_net(2), data, DeepEnsemble(num_members=2, **FAST), key=3, likelihood=Heteroscedastic())
    assert isinstance(by_name.method, TorchEnsemble) and by_name.method == by_instance.method
    np.testing.assert_array_equal(by_name.predict(data.x_test).loc, by_instance.predict(data.x_test).loc)
    factory = uqlab.fit(lambda: tiny_torch_net(2), data, "ensemble", key=3, likelihood=Heteroscedastic(), num_members=2, **FAST)
    assert factory.predict(data.x_test).num_members == 2


def test_members_start_from_bayesian_mlp_init_or_the_modules_own():
    """init="bayesian_mlp": weights N(0, 1 / fan_in), hidden biases N(0, 1), output bias 0 (the
    sample sd of n normal draws has sd about sd / sqrt(2 n): 5 of those as tolerance);
    init="module": the factory's own initialisation under the member's seed."""
    factory = lambda: torch.nn.Sequential(torch.nn.Linear(50, 400), torch.nn.Tanh(), torch.nn.Linear(400, 3))  # noqa: E731
    model = TorchModel(factory)
    net = model.network(7, 3, "bayesian_mlp").net
    for weight, fan_in in ((net[0].weight, 50), (net[2].weight, 400)):
        assert abs(weight.std().item() * np.sqrt(fan_in) - 1) < 5 / np.sqrt(2 * weight.numel())
    assert abs(net[0].bias.std().item() - 1) < 5 / np.sqrt(2 * 400) and torch.all(net[2].bias == 0)
    torch.manual_seed(7)
    expected = factory()
    own = model.network(7, 3, "module").net
    assert all(torch.equal(a, b) for a, b in zip(own.parameters(), expected.parameters()))
    with pytest.raises(ValueError, match="init: expected one of"):
        uqlab.fit(tiny_torch_net(), tiny_data(), "ensemble", init="xavier", **FAST)


def test_minibatches_and_cosine_schedule_train():
    data = tiny_data()
    post = uqlab.fit(tiny_torch_net(), data, "ensemble", num_members=2, num_steps=60, batch_size=8, schedule="cosine",
                     progress=False)
    losses = post.info["losses"]
    assert losses.shape == (60, 2) and np.all(losses[-10:].mean(0) < losses[:10].mean(0))


def test_mc_dropout_keeps_dropout_on_and_sets_the_rate():
    data = tiny_data()
    module = tiny_torch_net(1, 0.1)
    post = uqlab.fit(module, data, "mc_dropout", dropout_rate=0.3, num_passes=7, **FAST)
    pred = post.predict(data.x_test)
    assert pred.num_members == 7 and pred.epistemic_var.min() > 0
    assert module[2].p == 0.1 and post.model.module[2].p == 0.3  # the user's module is not changed


def test_save_and_load_without_pickle(tmp_path):
    data = tiny_data()
    for method, module in (("ensemble", tiny_torch_net(2)), ("mc_dropout", tiny_torch_net(2, 0.2))):
        post = uqlab.fit(module, data, method, likelihood=Heteroscedastic(), num_passes=5, **FAST) if method == "mc_dropout" \
            else uqlab.fit(module, data, method, likelihood=Heteroscedastic(), num_members=2, **FAST)
        path = post.save(tmp_path / f"{method}.nc")
        with pytest.raises(ValueError, match="(?s)cannot rebuild.*model="):
            uqlab.load(path)
        loaded = uqlab.load(path, model=tiny_torch_net(2, 0.2 if method == "mc_dropout" else 0.0))
        assert loaded.model.likelihood == Heteroscedastic()
        a, b = post.predict(data.x_test), loaded.predict(data.x_test)
        np.testing.assert_array_equal(a.loc, b.loc)
        np.testing.assert_array_equal(a.scale, b.scale)


def test_a_pickled_torch_file_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(tiny_torch_net().state_dict(), path)  # a pickle (zip of pickled objects)
    with pytest.raises(ValueError, match="not a readable netCDF file"):
        uqlab.load(path, model=tiny_torch_net())


def test_bad_inputs_name_the_argument():
    data = tiny_data()
    with pytest.raises(ValueError, match="module: Tanh has no parameters"):
        uqlab.fit(torch.nn.Tanh(), data, "ensemble", **FAST)
    with pytest.raises(ValueError, match="module: Heteroscedastic with 1 target.*width 2.*shape \\(2, 3\\)"):
        uqlab.fit(tiny_torch_net(3), data, "ensemble", likelihood=Heteroscedastic(), **FAST)
    with pytest.raises(ValueError, match="module: cannot map inputs of width 1"):
        uqlab.fit(torch.nn.Linear(3, 1), data, "ensemble", **FAST)
    with pytest.raises(TypeError, match="module: parameters must be floating point"):
        uqlab.fit(torch.nn.Embedding(4, 1), data, "ensemble", **FAST) if False else \
            TorchModel(_int_module()).template()
    with pytest.raises(ValueError, match="model: mc_dropout needs dropout layers"):
        uqlab.fit(tiny_torch_net(), data, "mc_dropout", **FAST)
    with pytest.raises(ValueError, match="method: a torch module can be fitted with .*'nuts'.*from_torch"):
        uqlab.fit(tiny_torch_net(), data, "nuts")
    with pytest.raises(TypeError, match="likelihood: expected Gaussian"):
        uqlab.fit(tiny_torch_net(), data, "ensemble", likelihood="gaussian")


def _int_module():
    module = torch.nn.Linear(1, 1)
    module.weight = torch.nn.Parameter(torch.ones(1, 1, dtype=torch.int64), requires_grad=False)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_device_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="device: the model is on cuda.*CUDA is not available"):
        uqlab.fit(tiny_torch_net(), tiny_data(), "ensemble", device="cuda", **FAST)
