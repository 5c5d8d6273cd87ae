"""Files written by earlier uqlab versions (format 1, commit c130f79) still load and predict the same numbers.

The files under ``tests/data`` were written by ``tests/data/make_v1_files.py`` with the code of
that commit, together with the predictions that code made; they name methods by module path
(``"uqlab.inference.sgmcmc:SGLD"``) and carry no checksums.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import uqlab

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize("name", ["sgld", "mc_dropout"])
def test_format_1_posterior_loads_and_predicts_what_it_predicted(name):
    expected = np.load(DATA / "posterior_v1_expected.npz")
    post = uqlab.load(DATA / f"posterior_v1_{name}.nc")
    assert post.method.name == name
    pred = post.predict(expected["x_test"])
    np.testing.assert_allclose(pred.loc, expected[f"{name}/loc"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pred.scale, expected[f"{name}/scale"], rtol=1e-6, atol=1e-7)


def test_format_1_comparison_loads():
    from uqlab.diagnostics.compare import load_comparison

    comparison = load_comparison(DATA / "comparison_v1")
    assert comparison.problem == "tiny" and list(comparison.predictives) == ["a"]
    assert comparison.predictives["a"].loc.shape == (3, 5, 1)
    assert comparison.rows == [{"method": "a", "seed": 0, "nll": 1.5, "fit_seconds": 0.1, "predict_seconds": 0.01}]
