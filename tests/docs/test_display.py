"""Notebook display: HTML summaries of Predictive, Posterior and Comparison."""

import re
from types import SimpleNamespace

import numpy as np

import uqlab
from uqlab import Predictive
from uqlab._display import posterior_html


def test_predictive_html_states_size_and_the_first_points():
    rng = np.random.default_rng(0)
    pred = Predictive(rng.normal(size=(4, 12, 1)), np.full((4, 12, 1), 0.3))
    page = pred._repr_html_()
    assert "Gaussian mixture: 4 members, 12 points, 1 output" in page and "first 5 of 12 points" in page
    lower, upper = pred[:5].interval(0.9)
    assert f"[{lower[0, 0]:.4g}, {upper[0, 0]:.4g}]" in page and f"{pred.mean[4, 0]:.4g}" in page
    share = np.mean(pred.epistemic_var) / np.mean(pred.var)
    assert f"epistemic share of the variance {share:.1%}" in page
    samples = Predictive(rng.normal(size=(50, 3, 2)))._repr_html_()
    assert "samples: 50 members, 3 points, 2 outputs" in samples and "first" not in samples


def test_posterior_html_highlights_chain_diagnostics():
    stub = SimpleNamespace(method=SimpleNamespace(name="nuts"), num_members=8)
    page = posterior_html(stub, {"num_chains": 2}, {"rhat_max": 2.84, "ess_bulk_min": 250.0, "divergences": 0,
                                                    "fit_seconds": 1.5, "losses": np.zeros(3), "note": "text"})
    cells = dict(re.findall(r">([a-z_]+)</td><td style=\"([^\"]*)\">", page))
    assert "#fbd9dc" in cells["rhat_max"] and "#fff4d6" in cells["ess_bulk_min"] and "background" not in cells["divergences"]
    assert "losses" not in page and "note" not in page  # arrays and text stay out of the summary
    assert "num_chains" in page and "method &#x27;nuts&#x27;, 8 members" in page


def test_real_posterior_and_comparison_display():
    from tests.conformance.cases import tiny_data, tiny_mlp
    from uqlab.diagnostics.compare import Comparison

    data = tiny_data()
    post = uqlab.fit(tiny_mlp(), data, "ensemble", key=0, num_members=2, num_steps=5, progress=False)
    page = post._repr_html_()
    assert "method &#x27;ensemble&#x27;, 2 members" in page and ">num_steps<" in page and ">fit_seconds<" in page
    pred = post.predict(data.x_test)
    rows = [{"method": "ensemble", "seed": 0, "rmse": 0.5, "fit_seconds": 1.0, "predict_seconds": 0.1}]
    comparison = Comparison("tiny", rows, {"ensemble": pred}, {"ensemble": {}}, ("rmse",), meta={"seeds": [0]})
    table = comparison._repr_html_()
    assert "Comparison on tiny" in table and ">0.5<" in table and "Report(comparison)" in table
