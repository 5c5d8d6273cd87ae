"""Bad input to ``fit`` fails early with an error naming the argument (issue 13; see benchmarks/hostile_sweep.py)."""

from __future__ import annotations

import numpy as np
import pytest

import uqlab
from uqlab._convert import as_key
from uqlab.data import Scaler
from uqlab.models import BayesianMLP


def _data(x_scale=1.0, y_scale=1.0):
    x = np.linspace(-1, 1, 8)[:, None]
    return uqlab.Dataset(x * x_scale, np.sin(x) * y_scale)


@pytest.mark.parametrize(
    ("key", "error", "match"),
    [
        (None, TypeError, "key: expected an int seed or a jax PRNG key.*got None"),
        ("abc", TypeError, "key: expected an int seed.*got 'abc'"),
        (1.5, TypeError, "key: expected an int seed.*got 1.5"),
        (True, TypeError, "key: expected an int seed.*got True"),
        (2**70, ValueError, r"key: expected an int seed in \[-2\*\*63, 2\*\*63\)"),
        (-(2**63) - 1, ValueError, "key: expected an int seed in"),
        (np.zeros(2), ValueError, r"key: expected a jax PRNG key \(uint32 array of shape \(2,\)\), got a float64 array"),
        (np.zeros(3, np.uint32), ValueError, r"got a uint32 array of shape \(3,\)"),
        (object(), TypeError, "key: expected an int seed or a jax PRNG key, got object"),
    ],
)
def test_bad_keys_are_named(key, error, match):
    with pytest.raises(error, match=match):
        as_key(key)


def test_good_keys_agree():
    import jax

    np.testing.assert_array_equal(as_key(7), jax.random.PRNGKey(7))
    np.testing.assert_array_equal(as_key(np.int64(7)), jax.random.PRNGKey(7))
    np.testing.assert_array_equal(as_key(jax.random.key(7)), jax.random.PRNGKey(7))
    np.testing.assert_array_equal(as_key(jax.random.PRNGKey(7)), jax.random.PRNGKey(7))
    np.testing.assert_array_equal(as_key(2**63 - 1), jax.random.PRNGKey(2**63 - 1))
    with pytest.raises(ValueError, match=r"key: expected a single typed jax key of shape \(\), got shape \(2,\)"):
        as_key(jax.random.split(jax.random.key(0)))


def test_fit_checks_the_key_before_fitting():
    with pytest.raises(TypeError, match="key: expected an int seed"):
        uqlab.fit(BayesianMLP(widths=(2,)), _data(), "ensemble", key=None, num_steps=1)


@pytest.mark.parametrize(("side", "kwargs"), [("x", {"x_scale": 1e300}), ("y", {"y_scale": 1e300})])
def test_overflowing_columns_are_named(side, kwargs):
    with pytest.raises(ValueError, match=f"^{side}: expected a finite mean and a finite standard deviation > 0.*scale inf"):
        _data(**kwargs)


def test_unstandardised_data_skips_the_scaler_check():
    x = np.linspace(-1, 1, 8)
    assert uqlab.Dataset(x * 1e300, x, standardize=False).num_points == 8


def test_constant_columns_keep_scale_one():
    data = uqlab.Dataset(np.ones((4, 1)), np.arange(4.0))
    assert data.scaler.x_scale.tolist() == [1.0]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"y_scale": [0.0]}, "y: expected a finite mean and a finite standard deviation > 0.*scale 0 in column 0"),
        ({"x_shift": [np.nan]}, "x: expected a finite mean.*got mean nan"),
        ({"x_shift": [0.0, 1.0]}, r"x: expected a shift and a scale per column.*shapes \(2,\) and \(1,\)"),
        ({"y_scale": "abc"}, "scaler: could not convert"),
        ({"extra": [1.0]}, r"scaler: expected the entries \['x_shift', 'x_scale', 'y_shift', 'y_scale'\]"),
    ],
)
def test_scaler_from_dict_rejects_damage(change, match):
    good = Scaler.identity(1, 1).to_dict()
    with pytest.raises(ValueError, match=match):
        Scaler.from_dict({**good, **change})


def test_fit_checks_output_width_against_y():
    with pytest.raises(ValueError, match=r"^y: the model \(BayesianMLP\) predicts 2 output column\(s\).*y has 1 column"):
        uqlab.fit(BayesianMLP(d_out=2, widths=(2,)), _data(), "ensemble", num_steps=1)


def test_fit_checks_input_width_against_x():
    with pytest.raises(ValueError, match=r"^x: the model \(BayesianMLP\) expects 2 input columns, got x with 1"):
        uqlab.fit(BayesianMLP(d_in=2, widths=(2,)), _data(), "ensemble", num_steps=1)


def test_fit_checks_gp_widths():
    from uqlab.models.gp import GP

    with pytest.raises(ValueError, match="y: the GP was built with d_out=2, got 1 target columns"):
        uqlab.fit(GP(d_out=2), _data(), "gp")


@pytest.mark.parametrize("fit", ["fit_variance_scaling", "fit_isotonic"])
@pytest.mark.parametrize("n", [1, 2, 9])
def test_recalibration_needs_ten_points(fit, n):
    from uqlab.diagnostics import recalibration

    pred = uqlab.Predictive(np.zeros((1, n, 1)), np.ones((1, n, 1)))
    with pytest.raises(ValueError, match=f"y_cal: .* needs at least 10 calibration points, got {n}"):
        getattr(recalibration, fit)(pred, np.zeros(n))


def test_conformal_needs_ten_points_even_at_low_level():
    from uqlab.diagnostics.recalibration import conformal_interval

    pred = uqlab.Predictive(np.zeros((1, 3, 1)), np.ones((1, 3, 1)))
    with pytest.raises(ValueError, match="y_cal: split conformal needs at least 10 calibration points, got 3"):
        conformal_interval(pred, np.zeros(3), pred, 0.5)


def test_method_fit_checks_too():
    """The check lives in the fit template, so calling a Method's fit directly is checked as well."""
    from uqlab.inference.ensemble import DeepEnsemble

    with pytest.raises(ValueError, match=r"^y: the model \(BayesianMLP\) predicts 2 output column"):
        DeepEnsemble(num_steps=1).fit(BayesianMLP(d_out=2, widths=(2,)), _data())
    with pytest.raises(TypeError, match="key: expected an int seed"):
        DeepEnsemble(num_steps=1).fit(BayesianMLP(widths=(2,)), _data(), key="abc")
