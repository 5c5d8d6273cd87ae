"""Gaussian-process benchmarks, side by side in one process; two parts that can run separately.

``--part svgp``: SVGP on ``--n-train`` points in 8-D (default 100,000): training time, peak
resident memory of the process after SVGP training, and test NLL, against an exact GP on a
``--n-subset``-point subset (default 5,000). The exact reference's hyperparameters are fitted
(type-II ML, L-BFGS to convergence or 50 iterations) on the first ``--n-hyper`` points, then it
conditions on all ``--n-subset`` points: a full fit at 5,000 points costs about 50 L-BFGS
evaluations of a 5,000 x 5,000 Cholesky and its gradient, too long on a shared 2-core box.

``--part exact``: exact GP fit and predict on ``--n-exact`` points against scikit-learn's
``GaussianProcessRegressor`` (same kernel Matern-5/2 ARD + noise, same starting point, both
with scipy L-BFGS-B limited to ``--exact-iters`` iterations): wall time, evaluations of the
log marginal likelihood and its gradient, seconds per evaluation, predict time, and the log
marginal likelihood reached. The iteration cap makes a 5,000-point comparison affordable; the
per-evaluation time is the number to compare.

``--part predict``: exact GP prediction at ``--n-exact`` training points and 2,000 test points
at fixed hyperparameters (the kernel's initial values, no fitting), side by side: uqlab's
conditioning (Cholesky factor and ``alpha`` kept in the posterior) then a predict with that
factor, the same predict with the cache switched off (one factorisation per call, as before the
cache), and scikit-learn's fit (its Cholesky) and predict. Both use the same kernel and noise.

The 1-minute load average is recorded with every row (the machine is shared), and results
merge into ``benchmarks/results/gp_benchmarks.json`` under the part's name.

    python benchmarks/gp_benchmarks.py --part svgp [--n-train 100000] [--n-subset 5000] [--steps 1500]
    python benchmarks/gp_benchmarks.py --part exact [--n-exact 5000] [--exact-iters 3]
    python benchmarks/gp_benchmarks.py --part predict [--n-exact 5000]
"""

from __future__ import annotations

import argparse
import json
import resource

import numpy as np
from _common import RESULTS, load_average, print_table, save, setup_jax_cache, timed


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


def part_svgp(args, model, x, y, x_test, y_test) -> list[dict]:
    """SVGP on all points; exact GP on a subset as the reference."""
    import uqlab

    rows = []
    data = uqlab.Dataset(x, y, x_test, y_test, name="svgp-8d")
    before = load_average()[0]
    svgp, svgp_seconds, _ = timed(uqlab.fit, model, data, "svgp", num_inducing=args.inducing, num_steps=args.steps,
                                  batch_size=args.batch_size, learning_rate=args.lr, progress=False)
    rss = peak_rss_gb()
    nll = -svgp.predict(x_test).logpdf(y_test).mean()
    losses = np.asarray(svgp.info["losses"])
    tail = max(1, len(losses) // 10)
    # "lml_per_point": the ELBO for SVGP, the log marginal likelihood for exact GPs (standardised units).
    rows.append({"model": f"SVGP M={args.inducing}", "n": args.n_train, "fit_s": svgp_seconds, "test_nll": float(nll),
                 "peak_rss_gb": rss, "lml_per_point": svgp.info["elbo"] / args.n_train,
                 "loss_mean_second_last_10pct": float(losses[-2 * tail:-tail].mean()),
                 "loss_mean_last_10pct": float(losses[-tail:].mean()), "load_1min_before": before, "load_1min_after": load_average()[0]})

    before = load_average()[0]
    (fitted, nll), seconds, _ = timed(exact_subset_reference, model, x, y, x_test, y_test, args.n_hyper, args.n_subset)
    rows.append({"model": f"exact GP (hypers from {args.n_hyper})", "n": args.n_subset, "fit_s": seconds,
                 "test_nll": float(nll), "peak_rss_gb": peak_rss_gb(),
                 "lml_per_point": fitted.info["log_marginal_likelihood"] / args.n_hyper,
                 "load_1min_before": before, "load_1min_after": load_average()[0]})
    return rows


def exact_subset_reference(model, x, y, x_test, y_test, n_hyper: int, n_subset: int):
    """Exact GP reference for a large dataset: type-II ML hyperparameters (L-BFGS, at most 50
    iterations) on the first ``n_hyper`` points, conditioned on the first ``n_subset``; returns the
    fitted posterior and the test NLL (units of ``y``)."""
    import uqlab

    fitted = uqlab.fit(model, uqlab.Dataset(x[:n_hyper], y[:n_hyper]), "gp", num_restarts=1, max_iter=50)
    exact = _refit_on(fitted, x[:n_subset], y[:n_subset])
    return fitted, float(-exact.predict(x_test).logpdf(y_test).mean())


def _refit_on(posterior, x, y):
    """The same hyperparameters conditioned on new data, standardised with the original scaler."""
    from uqlab.inference.gp import GPPosterior

    scaler = posterior.scaler
    return GPPosterior(posterior.method, posterior.model, scaler, dict(posterior.info), hypers=posterior.hypers,
                       x_train=np.asarray(scaler.x(x), np.float64),
                       y_train=np.asarray((y - scaler.y_shift) / scaler.y_scale, np.float64))


def part_exact(args, model, x, y, x_test, y_test) -> list[dict]:
    """uqlab's exact GP and scikit-learn's, same start, same optimiser, same iteration cap."""
    from scipy.optimize import minimize
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process import kernels as sk

    import uqlab

    x, y = x[: args.n_exact], y[: args.n_exact]
    data = uqlab.Dataset(x, y, x_test, y_test)
    before = load_average()[0]
    ours, fit_s, _ = timed(uqlab.fit, model, data, "gp", num_restarts=1, max_iter=args.exact_iters)
    pred, predict_s, _ = timed(ours.predict, x_test)
    rows = [{"model": "exact GP uqlab (JAX)", "n": len(x), "iterations": ours.info["num_iterations"],
             "evaluations": ours.info["num_evaluations"], "fit_s": fit_s,
             "s_per_evaluation": fit_s / ours.info["num_evaluations"], "predict_s": predict_s,
             "test_nll": float(-pred.logpdf(y_test).mean()), "lml": ours.info["log_marginal_likelihood"],
             "peak_rss_gb": peak_rss_gb(), "load_1min_before": before, "load_1min_after": load_average()[0]}]

    counts = {"evaluations": 0, "iterations": 0}

    def optimizer(obj_func, initial_theta, bounds):
        def counted(theta):
            counts["evaluations"] += 1
            return obj_func(theta, eval_gradient=True)

        result = minimize(counted, initial_theta, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": args.exact_iters})
        counts["iterations"] = int(result.nit)
        return result.x, result.fun

    xs, ys = data.standardized()
    kernel = sk.ConstantKernel(1.0) * sk.Matern(length_scale=[2.0] * 8, nu=2.5) + sk.WhiteKernel(0.01)
    before = load_average()[0]
    gpr, fit_s, _ = timed(GaussianProcessRegressor(kernel, alpha=1e-6, optimizer=optimizer).fit, xs, ys)
    (loc, std), predict_s, _ = timed(gpr.predict, data.scaler.x(x_test), return_std=True)
    sk_pred = uqlab.Predictive(loc.reshape(1, -1, 1), std.reshape(1, -1, 1)).affine(data.scaler.y_shift, data.scaler.y_scale)
    rows.append({"model": "exact GP scikit-learn", "n": len(x), "iterations": counts["iterations"],
                 "evaluations": counts["evaluations"], "fit_s": fit_s,
                 "s_per_evaluation": fit_s / max(1, counts["evaluations"]), "predict_s": predict_s,
                 "test_nll": float(-sk_pred.logpdf(y_test).mean()), "lml": float(gpr.log_marginal_likelihood_value_),
                 "peak_rss_gb": peak_rss_gb(), "load_1min_before": before, "load_1min_after": load_average()[0]})
    return rows


def part_predict(args, model, x, y, x_test, y_test) -> list[dict]:
    """Predict at fixed hyperparameters: cached factor, uncached, and scikit-learn."""
    import jax
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process import kernels as sk

    import uqlab
    from uqlab.inference.gp import ExactGP, GPPosterior

    data = uqlab.Dataset(x[: args.n_exact], y[: args.n_exact])
    xs, ys = (np.asarray(a, np.float64) for a in data.standardized())
    with jax.enable_x64(True):
        hypers = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64)[None], model.init())

    def posterior():
        return GPPosterior(ExactGP(), model, data.scaler, {}, hypers=hypers, x_train=xs, y_train=ys)

    def uncached_posterior():
        post = posterior()
        post.max_cached_bytes = 0  # the behaviour before the cache: factorise on every predict
        return post

    posterior().predict(x_test)  # compile both paths (same shapes) before timing
    uncached_posterior().predict(x_test)
    rows = []
    before = load_average()[0]
    cached = posterior()
    factor_s = timed(cached._cached_factors, None).seconds
    pred, predict_s, _ = timed(cached.predict, x_test)
    rows.append({"model": "uqlab, factor kept", "n": args.n_exact, "condition_s": factor_s, "predict_s": predict_s,
                 "test_nll": float(-pred.logpdf(y_test).mean()), "load_1min_before": before, "load_1min_after": load_average()[0]})
    before = load_average()[0]
    uncached = uncached_posterior()
    pred_u, predict_s, _ = timed(uncached.predict, x_test)
    rows.append({"model": "uqlab, factor per predict", "n": args.n_exact, "condition_s": 0.0, "predict_s": predict_s,
                 "test_nll": float(-pred_u.logpdf(y_test).mean()), "load_1min_before": before, "load_1min_after": load_average()[0]})

    q = {k: float(np.ravel(v)[0]) for k, v in jax.device_get(model.quantities(model.init())).items()}
    kernel = sk.ConstantKernel(q["variance"]) * sk.Matern(q["lengthscale"], nu=2.5) + sk.WhiteKernel(q["noise"] ** 2)
    before = load_average()[0]
    gpr, factor_s, _ = timed(GaussianProcessRegressor(kernel, alpha=model.jitter, optimizer=None).fit, xs, ys)
    (loc, std), predict_s, _ = timed(gpr.predict, data.scaler.x(x_test), return_std=True)
    sk_pred = uqlab.Predictive(loc.reshape(1, -1, 1), std.reshape(1, -1, 1)).affine(data.scaler.y_shift, data.scaler.y_scale)
    rows.append({"model": "scikit-learn", "n": args.n_exact, "condition_s": factor_s, "predict_s": predict_s,
                 "test_nll": float(-sk_pred.logpdf(y_test).mean()), "load_1min_before": before, "load_1min_after": load_average()[0]})
    for row, p in zip(rows, (pred, pred_u, sk_pred)):
        row["max_abs_mean_diff_vs_sklearn"] = float(np.abs(p.mean - sk_pred.mean).max())
        row["max_abs_std_diff_vs_sklearn"] = float(np.abs(p.std - sk_pred.std).max())
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("svgp", "exact", "predict"), required=True)
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--n-subset", type=int, default=5_000)
    parser.add_argument("--n-hyper", type=int, default=1_024)
    parser.add_argument("--n-exact", type=int, default=5_000)
    parser.add_argument("--exact-iters", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--inducing", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-2)
    args = parser.parse_args()
    setup_jax_cache()

    from uqlab.models.gp import GP
    from uqlab.models.kernels import Matern52

    x, y, x_test, y_test = make_data(args.n_train, 2000)
    model = GP(kernel=Matern52(d_in=8, ard=True, lengthscale=2.0))
    part = {"svgp": part_svgp, "exact": part_exact, "predict": part_predict}[args.part]
    rows = part(args, model, x, y, x_test, y_test)
    path = RESULTS / "gp_benchmarks.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    parts = previous.get("parts", {})
    parts[args.part] = {"settings": vars(args), "rows": rows}
    save("gp_benchmarks", {"parts": parts})  # before printing: the rows of a part need not share columns
    print_table(rows)


if __name__ == "__main__":
    main()
