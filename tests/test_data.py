"""Dataset validation and standardisation."""

import numpy as np
import pytest

import uqlab


def test_standardisation_round_trip():
    rng = np.random.default_rng(0)
    x, y = rng.normal(3, 2, (50, 2)), rng.normal(-1, 5, (50, 1))
    data = uqlab.Dataset(x, y)
    xs, ys = data.standardized()
    np.testing.assert_allclose(xs.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(ys.std(0), 1)
    assert data.dims == (2, 1)
    np.testing.assert_allclose(uqlab.Dataset(x, y, standardize=False).standardized()[1], y)


def test_one_dimensional_arrays_become_columns():
    data = uqlab.Dataset(np.arange(5.0), np.arange(5.0))
    assert data.x.shape == (5, 1) and data.y.shape == (5, 1)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"x": [[np.nan], [1.0]], "y": [1.0, 2.0]}, ValueError, "x: expected finite values"),
        ({"x": [1.0, 2.0], "y": [1.0, np.inf]}, ValueError, "y: expected finite values"),
        ({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]}, ValueError, "y: expected 3 rows to match x, got 2"),
        ({"x": np.zeros((2, 2, 2)), "y": [1.0, 2.0]}, ValueError, "x: expected a 1-D .* got ndim=3"),
        ({"x": np.zeros((0, 1)), "y": np.zeros((0, 1))}, ValueError, "x: expected a non-empty array"),
        ({"x": ["a", "b"], "y": [1.0, 2.0]}, TypeError, "x: expected a numeric array"),
        ({"x": [1.0, 2.0], "y": [1.0, 2.0], "x_test": [1.0]}, ValueError, "x_test, y_test: expected both or neither"),
        (
            {"x": np.zeros((2, 2)), "y": [1.0, 2.0], "x_test": np.zeros((3, 1)), "y_test": np.zeros(3)},
            ValueError,
            "x_test: expected 2 columns",
        ),
    ],
)
def test_bad_data_raises_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        uqlab.Dataset(**kwargs)
