"""Exact GP: uqlab's kernels and log marginal likelihood against tinygp and GPJax, side by side.

Same data (the 8-D problem of ``gp_benchmarks.py``, standardised), same kernel (Matern-5/2 with
one length-scale per input, a signal variance and Gaussian noise, zero mean, jitter 1e-6), the
same parameter vector (log variance, 8 log length-scales, log noise standard deviation), float64,
and the same optimiser (scipy L-BFGS-B on each library's jitted value-and-gradient). Per library
and size ``n``:

* ``s_per_eval``: seconds per jitted LML-and-gradient evaluation (median of ``--reps`` calls
  after compilation; runs are interleaved across libraries so load changes hit all alike);
* ``lml_at_start``: the LML at the common start (a check that the three compute the same thing);
* a fit from that start: L-BFGS-B iterations (capped at ``--iters`` for n = 2,000 and
  ``--iters-large`` for the larger n, whose evaluations cost ~10x more), evaluations, seconds and
  the fitted LML.

    python benchmarks/gp_libraries.py [--sizes 2000 5000] [--iters 50] [--iters-large 5] [--reps 3]

Results go to ``benchmarks/results/gp_libraries.json`` with the 1-minute load average per row.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from _common import load_average, print_table, save, setup_jax_cache, timed
from gp_benchmarks import make_data

D = 8


def lml_functions(x, y):
    """``{library: theta -> log p(y | X, theta)}`` for the same kernel and parameter vector."""
    import gpjax as gpx
    import jax.numpy as jnp
    import tinygp

    from uqlab.models.gp import GP
    from uqlab.models.kernels import Matern52

    x, y = jnp.asarray(x, jnp.float64), jnp.asarray(y, jnp.float64)
    model = GP(kernel=Matern52(d_in=D, ard=True), jitter=1e-6)

    def uqlab_lml(t):
        params = {"kernel": {"log_variance": t[0], "log_lengthscale": t[1:D + 1]}, "mean": jnp.zeros(0),
                  "log_noise": t[D + 1]}
        return model.log_marginal_likelihood(params, x, y)

    def tinygp_lml(t):
        kernel = jnp.exp(t[0]) * tinygp.transforms.Linear(
            jnp.exp(-t[1:D + 1]), tinygp.kernels.Matern52(distance=tinygp.kernels.distance.L2Distance()))
        return tinygp.GaussianProcess(kernel, x, diag=jnp.exp(2 * t[D + 1]) + 1e-6).log_probability(y[:, 0])

    data = gpx.Dataset(X=x, y=y)

    def gpjax_lml(t):
        kernel = gpx.kernels.Matern52(lengthscale=jnp.exp(t[1:D + 1]), variance=jnp.exp(t[0]))
        prior = gpx.gps.Prior(mean_function=gpx.mean_functions.Zero(), kernel=kernel, jitter=1e-6)
        return gpx.objectives.conjugate_mll(prior * gpx.likelihoods.Gaussian(obs_stddev=jnp.exp(t[D + 1])), data)

    return {"uqlab": uqlab_lml, "tinygp": tinygp_lml, "gpjax": gpjax_lml}


def fit(value_and_grad, theta0, max_iter):
    """scipy L-BFGS-B on ``-LML``: ``(theta, lml, iterations, evaluations, seconds)``."""
    from scipy.optimize import minimize

    count = [0]

    def objective(theta):
        count[0] += 1
        value, grad = value_and_grad(theta)
        return -float(value), -np.asarray(grad, np.float64)

    result, seconds, _ = timed(minimize, objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
    return result.x, -float(result.fun), int(result.nit), count[0], seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--iters-large", type=int, default=5)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    setup_jax_cache()
    import jax

    jax.config.update("jax_enable_x64", True)
    load_before = load_average()
    x, y, _, _ = make_data(max(args.sizes), 10)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    theta0 = np.r_[0.0, np.full(D, np.log(2.0)), np.log(0.1)]
    rows = []
    for n in args.sizes:
        functions = {name: jax.jit(jax.value_and_grad(f)) for name, f in lml_functions(x[:n], y[:n]).items()}
        times = {name: [] for name in functions}
        at_start = {}
        for name, f in functions.items():  # compile
            at_start[name] = float(jax.block_until_ready(f(theta0))[0])
        for _ in range(args.reps):  # interleaved timing
            for name, f in functions.items():
                times[name].append(timed(f, theta0).seconds)
        max_iter = args.iters if n == min(args.sizes) else args.iters_large
        for name, f in functions.items():
            load = load_average()[0]
            _, lml, nit, nev, seconds = fit(f, theta0, max_iter)
            rows.append({"library": name, "n": n, "s_per_eval": statistics.median(times[name]),
                         "s_per_eval_min": min(times[name]), "lml_at_start": at_start[name],
                         "max_iter": max_iter, "iterations": nit, "evaluations": nev, "fit_s": seconds,
                         "fit_s_per_eval": seconds / nev, "fitted_lml": lml, "load_1min": load})
            print_table([rows[-1]])
            save("gp_libraries", {"settings": vars(args), "rows": rows}, load_before=load_before)  # partial results
        base = next(r for r in rows if r["n"] == n and r["library"] == "uqlab")
        for row in rows:
            if row["n"] == n:
                row["s_per_eval_vs_uqlab"] = row["s_per_eval"] / base["s_per_eval"]
                row["fitted_lml_minus_uqlab"] = row["fitted_lml"] - base["fitted_lml"]
        save("gp_libraries", {"settings": vars(args), "rows": rows}, load_before=load_before)
    print_table(rows)


if __name__ == "__main__":
    main()
