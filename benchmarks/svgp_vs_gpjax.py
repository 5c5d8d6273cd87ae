"""SVGP: uqlab (Adam on all parameters; natural gradients on q + Adam) against GPJax, side by side.

Same data (the 8-D problem of ``gp_benchmarks.py``, standardised with the training moments),
same kernel (Matern-5/2 ARD, variance 1, length-scales 2, noise 0.1 to start), the same ``M``
inducing inputs to start (one random subset of the training inputs), the same whitened
``q(v) = N(0, I)`` start, the same minibatch size, steps, Adam learning rate and natural-gradient
step size. Contenders:

* ``uqlab adam``: the library's SVGP (whitened; Adam on hyperparameters, ``Z``, ``m`` and ``S``).
* ``uqlab natgrad``: the library's ``SVGP(natural_gradient=gamma)``: each step moves the natural
  parameters of the whitened ``q(v)`` a fraction ``gamma`` towards the minibatch's conjugate
  optimum, then one Adam step on the hyperparameters and ``Z`` with ``q`` held
  (:func:`uqlab.inference.svgp.natural_gradient_descent`).
* ``gpjax adam``: ``gpx.fit`` on a ``WhitenedVariationalGaussian`` with ``-elbo``.
* ``gpjax natgrad``: ``gpx.fit_natgrads`` (NGD on q + Adam) on the same family.

Reference: an exact GP on the first ``--n-subset`` training points (hyperparameters fitted on
the first ``--n-hyper``; :func:`gp_benchmarks.exact_subset_reference`), its test NLL on the same
test points (its ``elbo_per_point`` column is its log marginal likelihood per point on the
``--n-hyper`` points).

Reported: training seconds (compilation included, as a user waits for it), the full-data ELBO
per point (each library's own objective on all ``N`` points), the test NLL (original units) and
whether the minibatch loss had plateaued at the end (``uqlab.inference.svgp.plateaued``, the
check the library's SVGP reports in ``info["converged"]``).

    python benchmarks/svgp_vs_gpjax.py [--n-train 100000] [--inducing 256] [--steps 1500] [--batch-size 512] \\
        [--n-subset 5000] [--n-hyper 1024]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import load_average, print_table, save, setup_jax_cache, timed
from gp_benchmarks import exact_subset_reference, make_data


def library_z_index(n: int, m: int) -> np.ndarray:
    """The training rows the library's SVGP starts ``Z`` at for ``key=0`` (``SVGP.infer``: the
    first half of the split key chooses ``M`` rows without replacement); GPJax starts there too."""
    import jax

    from uqlab._convert import as_key

    return np.asarray(jax.random.choice(jax.random.split(as_key(0))[0], n, (m,), replace=False))


def uqlab_rows(args, model, x, y, xt, yt, y_scale):
    """The library's SVGP with Adam on everything (its default) and with natural gradients on ``q``."""
    import uqlab

    data = uqlab.Dataset(x, y, name="svgp-8d")  # already standardised: the scaler is near identity
    rows = []
    for name, natural_gradient in (("uqlab adam", None), ("uqlab natgrad", args.gamma)):
        load = load_average()[0]
        post, seconds, _ = timed(uqlab.fit, model, data, "svgp", num_inducing=args.inducing, num_steps=args.steps,
                                 batch_size=args.batch_size, learning_rate=args.lr, natural_gradient=natural_gradient,
                                 progress=False, key=0)
        nll = float(-post.predict(xt).logpdf(yt).mean()) + np.log(y_scale)
        rows.append(_row(name, seconds, full_elbo(model, post, data) / len(x), nll, post.info["losses"], args, load))
    return rows


def full_elbo(model, post, data) -> float:
    """The library's ELBO on all ``N`` points at the fitted parameters (``info["elbo"]`` is a
    minibatch estimate above 20,000 points)."""
    import jax
    import jax.numpy as jnp

    from uqlab.inference.svgp import svgp_elbo

    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a[0]), post.params)
    xs, ys = (jnp.asarray(a, jnp.float64) for a in data.standardized())
    return float(svgp_elbo(model, params, xs, ys, len(xs)))


def gpjax_rows(args, x, y, xt, yt, y_scale, z_index):
    import gpjax as gpx
    import jax
    import jax.numpy as jnp
    import optax

    n = len(x)
    train = gpx.Dataset(X=jnp.asarray(x), y=jnp.asarray(y))
    kernel = gpx.kernels.Matern52(lengthscale=jnp.full(x.shape[1], 2.0), variance=1.0)
    prior = gpx.gps.Prior(mean_function=gpx.mean_functions.Zero(), kernel=kernel, jitter=1e-6)
    posterior = prior * gpx.likelihoods.Gaussian(obs_stddev=0.1)
    objective = lambda q, d: -gpx.objectives.elbo(q, d)  # noqa: E731
    rows = []
    for name in ("gpjax adam", "gpjax natgrad"):
        q = gpx.variational_families.WhitenedVariationalGaussian(model=posterior, inducing_inputs=jnp.asarray(x[z_index]))
        load = load_average()[0]
        common = dict(model=q, objective=objective, train_data=train, optim=optax.adam(args.lr), num_iters=args.steps,
                      batch_size=args.batch_size, key=jax.random.key(0), verbose=False)
        if name == "gpjax adam":
            (q, history), seconds, _ = timed(gpx.fit, **common)
        else:
            (q, history), seconds, _ = timed(gpx.fit_natgrads, **common, natgrad_lr=args.gamma)
        elbo = float(gpx.objectives.elbo(q, train)) / n
        dist = q.predict(jnp.asarray(xt))
        noise = gpx.parameters.val(q.model.likelihood.obs_stddev)
        scale = np.sqrt(np.asarray(dist.variance) + float(noise) ** 2)[:, None]
        mean = np.asarray(dist.mean).reshape(-1, 1)
        nll = -np.mean(-0.5 * ((yt - mean) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi))
        rows.append(_row(name, seconds, elbo, nll + np.log(y_scale), np.asarray(history) / n, args, load))
    return rows


def _row(name, seconds, elbo_per_point, test_nll, losses, args, load):
    from uqlab.inference.svgp import plateaued

    flat, drop = plateaued(losses, max(10, args.steps // 10))
    return {"model": name, "fit_s": seconds, "elbo_per_point": elbo_per_point, "test_nll": float(test_nll),
            "plateaued": flat, "loss_drop_last_window": drop, "load_1min_before": load, "load_1min_after": load_average()[0]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-train", type=int, default=100_000)
    parser.add_argument("--inducing", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--gamma", type=float, default=0.1)
    parser.add_argument("--n-subset", type=int, default=5_000, help="exact GP reference on this many points (0: none)")
    parser.add_argument("--n-hyper", type=int, default=1_024, help="points the exact reference's hyperparameters are fitted on")
    args = parser.parse_args()
    setup_jax_cache()
    import jax

    jax.config.update("jax_enable_x64", True)
    from uqlab.models.gp import GP
    from uqlab.models.kernels import Matern52

    load_before = load_average()
    x, y, xt, yt = make_data(args.n_train, 2000)
    x_mean, x_std, y_mean, y_scale = x.mean(0), x.std(0), y.mean(), y.std()
    xs, ys, xts = (x - x_mean) / x_std, (y - y_mean) / y_scale, (xt - x_mean) / x_std
    yts = (yt - y_mean) / y_scale
    z_index = library_z_index(len(x), args.inducing)
    model = GP(kernel=Matern52(d_in=x.shape[1], ard=True, lengthscale=2.0))
    rows = []

    def record(new_rows):  # saved after each part, so a run stopped part-way keeps what it measured
        rows.extend(new_rows)
        gpjax = [r for r in rows if r["model"].startswith("gpjax")]
        for row in rows if gpjax else []:
            row["test_nll_minus_best_gpjax"] = row["test_nll"] - min(r["test_nll"] for r in gpjax)
            row["fit_s_vs_fastest_gpjax"] = row["fit_s"] / min(r["fit_s"] for r in gpjax)
        save("svgp_vs_gpjax", {"settings": vars(args), "rows": rows}, load_before=load_before)

    record(uqlab_rows(args, model, xs, ys, xts, yts, y_scale))
    record(gpjax_rows(args, xs, ys, xts, yts, y_scale, z_index))
    if args.n_subset:
        load = load_average()[0]
        (fitted, nll), seconds, _ = timed(exact_subset_reference, model, xs, ys, xts, yts, args.n_hyper, args.n_subset)
        record([{"model": f"exact GP on {args.n_subset} points (hypers from {args.n_hyper})", "fit_s": seconds,
                 "elbo_per_point": fitted.info["log_marginal_likelihood"] / args.n_hyper,
                 "test_nll": nll + float(np.log(y_scale)), "load_1min_before": load,
                 "load_1min_after": load_average()[0]}])
    print_table(rows)


if __name__ == "__main__":
    main()
