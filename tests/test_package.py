"""Package-level behaviour: fast import, registry, clear errors for bad methods, models and settings."""

import subprocess
import sys

import numpy as np
import pytest

import uqlab


def test_import_loads_no_backend():
    code = "import sys, uqlab; heavy = [m for m in ('jax', 'torch', 'pyro', 'arviz', 'numpyro') if m in sys.modules]; print(heavy)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_registry_lists_the_foundation_methods():
    assert {"nuts", "ensemble", "mc_dropout"} <= set(uqlab.methods())


def test_unknown_method_name():
    data = uqlab.Dataset(np.arange(4.0), np.arange(4.0))
    with pytest.raises(ValueError, match=r"method: expected one of \[.*'nuts'.*\], got 'nutz'"):
        uqlab.fit(object(), data, "nutz")


def test_model_without_the_contract_is_rejected():
    data = uqlab.Dataset(np.arange(4.0), np.arange(4.0))
    with pytest.raises(TypeError, match="model: NUTS needs a model with init, apply"):
        uqlab.fit(object(), data, "nuts")


def test_data_must_be_a_dataset():
    from uqlab.models import BayesianMLP

    with pytest.raises(TypeError, match="data: expected a uqlab.Dataset, got tuple"):
        uqlab.fit(BayesianMLP(), (np.zeros(3), np.zeros(3)), "ensemble")


@pytest.mark.parametrize(
    "name, settings, match",
    [
        ("nuts", {"num_samples": 0}, "num_samples: expected an integer >= 1, got 0"),
        ("nuts", {"num_chains": -1}, "num_chains: expected an integer >= 1"),
        ("nuts", {"target_acceptance": 1.5}, "target_acceptance: expected a value in"),
        ("ensemble", {"learning_rate": 0.0}, "learning_rate: expected a finite number > 0, got 0.0"),
        ("ensemble", {"num_members": 0}, "num_members: expected an integer >= 1"),
        ("mc_dropout", {"dropout_rate": 1.0}, "dropout_rate: expected a value in"),
        ("mc_dropout", {"noise_precision": -2.0}, "noise_precision: expected a finite number > 0"),
        ("mc_dropout", {"num_passes": 0}, "num_passes: expected an integer >= 1"),
    ],
)
def test_bad_method_settings(name, settings, match):
    from uqlab.inference import get_method

    with pytest.raises(ValueError, match=match):
        get_method(name)(**settings)


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"prior_scale": 0.0}, r"prior_scale(\[0\])?: expected a finite number > 0"),
        ({"widths": (8, 0)}, r"widths\[1\]: expected an integer >= 1"),
        ({"activation": "swish2"}, "activation: expected one of"),
        ({"prior": "laplace"}, "prior: expected one of"),
    ],
)
def test_bad_model_settings(settings, match):
    from uqlab.models import BayesianMLP

    with pytest.raises(ValueError, match=match):
        BayesianMLP(**settings)


def test_bad_noise_scale():
    from uqlab.models import Gaussian

    with pytest.raises(ValueError, match="noise_scale: expected a finite number > 0, got -1.0"):
        Gaussian(noise_scale=-1.0)


def test_predict_checks_inputs():
    from tests.conformance.cases import tiny_data, tiny_mlp
    from uqlab.models import Heteroscedastic

    data = tiny_data()
    model = tiny_mlp(likelihood=Heteroscedastic())
    post = uqlab.fit(model, data, "ensemble", key=0, num_members=2, num_steps=5, progress=False)
    with pytest.raises(ValueError, match="x: expected 1 input columns"):
        post.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="x: expected finite values"):
        post.predict(np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="num_samples: expected an integer >= 1, got 0"):
        post.predict(data.x_test, num_samples=0)


def test_unknown_problem():
    with pytest.raises(ValueError, match=r"problem: expected one of \[.*'toy1d'.*\], got 'toy2d'"):
        uqlab.problems.load("toy2d")
