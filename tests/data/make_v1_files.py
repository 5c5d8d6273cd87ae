"""Writes the format-1 files under tests/data with the code of commit c130f79 (before format 2).

Run once, from the repository root, at that commit:
``PYTHONPATH=$PWD python tests/data/make_v1_files.py``. The files it wrote are committed; the
tests load them with today's code and compare the predictions this script recorded beside them.
Kept for the record of how they were made; rerunning it with newer code writes newer files.
"""

import pathlib

import numpy as np

import uqlab
from uqlab.diagnostics.compare import Comparison
from uqlab.inference.mc_dropout import MCDropout
from uqlab.inference.sgmcmc import SGLD
from uqlab.models import BayesianMLP

HERE = pathlib.Path(__file__).resolve().parent


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (16, 1))
    y = np.sin(2 * x) + 0.1 * rng.standard_normal((16, 1))
    x_test = np.linspace(-3, 3, 5)[:, None]
    data = uqlab.Dataset(x, y, x_test, np.sin(2 * x_test), name="tiny")
    sgld = SGLD(step_size=1e-3, batch_size=8, num_samples=3, num_burnin=5, thinning=1, num_chains=2, progress=False)
    dropout = MCDropout(num_steps=5, num_passes=4, progress=False)
    expected = {"x_test": x_test}
    for name, method, model in [
        ("sgld", sgld, BayesianMLP(d_in=1, d_out=1, widths=(3,))),
        ("mc_dropout", dropout, BayesianMLP(d_in=1, d_out=1, widths=(3,), dropout_rate=0.1)),
    ]:
        post = uqlab.fit(model, data, method, key=0)
        post.save(HERE / f"posterior_v1_{name}.nc")
        pred = post.predict(x_test)
        expected[f"{name}/loc"], expected[f"{name}/scale"] = pred.loc, pred.scale
    np.savez(HERE / "posterior_v1_expected.npz", **expected)
    pred = uqlab.Predictive(rng.standard_normal((3, 5, 1)), np.exp(rng.standard_normal((3, 5, 1))))
    comparison = Comparison("tiny", [{"method": "a", "seed": 0, "nll": 1.5, "fit_seconds": 0.1, "predict_seconds": 0.01}], {"a": pred}, {"a": {"fit_seconds": 0.1}},
                            ("nll",), {}, data, {}, {"quick": True}, [])
    comparison.save(HERE / "comparison_v1")


if __name__ == "__main__":
    main()
