"""Gaussian-process benchmarks, side by side in one process.

1. SVGP on ``--n-train`` points in 8-D (default 100,000): training time, peak resident memory of
   the process after SVGP training (before any exact GP runs), and test NLL, against an exact GP
   fitted on a ``--n-subset``-point subset (default 5,000).
2. Exact GP fit (type-II ML, one L-BFGS run) and predict on ``--n-exact`` points against
   scikit-learn's ``GaussianProcessRegressor`` (same kernel Matern-5/2 ARD + noise, same start,
   one optimiser run): wall time, log marginal likelihood and test NLL.

    python benchmarks/gp_benchmarks.py [--n-train 100000] [--n-subset 5000] [--n-exact 5000] [--steps 3000]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from _common import print_table, save, setup_jax_cache


def make_data(n: int, n_test: int, d: int = 8, seed: int = 0):
    """``y = sum_d sin(a_d x_d) + 0.5 x_0 x_1 + noise`` on ``x ~ U(-2, 2)^d``, noise sd 0.1."""
    rng = np.random.default_rng(seed)
    a = np.linspace(0.3, 1.5, d)

    def draw(m):
        x = rng.uniform(-2, 2, (m, d))
        return x, (np.sin(a * x).sum(1) + 0.5 * x[:, 0] * x[:, 1] + 0.1 * rng.standard_normal(m))[:, None]

    return (*draw(n), *draw(n_test))


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--n-subset", type=int, default=5_000)
    parser.add_argument("--n-exact", type=int, default=5_000)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--inducing", type=int, default=256)
    args = parser.parse_args()
    setup_jax_cache()

    import uqlab
    from uqlab.models.gp import GP
    from uqlab.models.kernels import Matern52

    x, y, x_test, y_test = make_data(args.n_train, 2000)
    model = GP(kernel=Matern52(d_in=8, ard=True, lengthscale=2.0))
    rows = []

    data = uqlab.Dataset(x, y, x_test, y_test, name="svgp-8d")
    start = time.perf_counter()
    svgp = uqlab.fit(model, data, "svgp", num_inducing=args.inducing, num_steps=args.steps, batch_size=512, progress=False)
    svgp_seconds = time.perf_counter() - start
    rss = peak_rss_gb()
    nll = -svgp.predict(x_test).logpdf(y_test).mean()
    # "lml": the ELBO for SVGP, the log marginal likelihood for exact GPs (standardised units).
    rows.append({"model": f"SVGP M={args.inducing}", "n": args.n_train, "fit_s": svgp_seconds, "test_nll": float(nll),
                 "peak_rss_gb": rss, "lml": svgp.info["elbo"]})

    subset = uqlab.Dataset(x[: args.n_subset], y[: args.n_subset], x_test, y_test)
    start = time.perf_counter()
    exact = uqlab.fit(model, subset, "gp", num_restarts=1, max_iter=50)
    nll = -exact.predict(x_test).logpdf(y_test).mean()
    rows.append({"model": "exact GP (subset)", "n": args.n_subset, "fit_s": time.perf_counter() - start,
                 "test_nll": float(nll), "peak_rss_gb": peak_rss_gb(),
                 "lml": exact.info["log_marginal_likelihood"]})

    rows += exact_vs_sklearn(model, x[: args.n_exact], y[: args.n_exact], x_test, y_test)
    print_table(rows)
    save("gp_benchmarks", {"settings": vars(args), "rows": rows})


def exact_vs_sklearn(model, x, y, x_test, y_test) -> list[dict]:
    """Fit + predict with uqlab's exact GP and scikit-learn from the same starting point."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process import kernels as sk

    import uqlab

    data = uqlab.Dataset(x, y, x_test, y_test)
    start = time.perf_counter()
    ours = uqlab.fit(model, data, "gp", num_restarts=1, max_iter=50)
    pred = ours.predict(x_test)
    ours_s = time.perf_counter() - start

    xs, ys = data.standardized()
    kernel = sk.ConstantKernel(1.0) * sk.Matern(length_scale=[2.0] * 8, nu=2.5) + sk.WhiteKernel(0.01)
    start = time.perf_counter()
    gpr = GaussianProcessRegressor(kernel, alpha=1e-6, n_restarts_optimizer=0).fit(xs, ys)
    loc, std = gpr.predict(data.scaler.x(x_test), return_std=True)
    sk_s = time.perf_counter() - start
    sk_pred = uqlab.Predictive(loc.reshape(1, -1, 1), std.reshape(1, -1, 1)).affine(data.scaler.y_shift, data.scaler.y_scale)
    return [
        {"model": "exact GP uqlab", "n": len(x), "fit_s": ours_s, "test_nll": float(-pred.logpdf(y_test).mean()),
         "peak_rss_gb": peak_rss_gb(), "lml": ours.info["log_marginal_likelihood"]},
        {"model": "exact GP sklearn", "n": len(x), "fit_s": sk_s, "test_nll": float(-sk_pred.logpdf(y_test).mean()),
         "peak_rss_gb": peak_rss_gb(), "lml": float(gpr.log_marginal_likelihood_value_)},
    ]


if __name__ == "__main__":
    main()
