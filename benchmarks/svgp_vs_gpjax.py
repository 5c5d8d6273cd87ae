"""SVGP: uqlab (Adam on all parameters; natural gradients on q + Adam) against GPJax, side by side.

Same data (the 8-D problem of ``gp_benchmarks.py``, standardised with the training moments),
same kernel (Matern-5/2 ARD, variance 1, length-scales 2, noise 0.1 to start), the same ``M``
inducing inputs to start (one random subset of the training inputs), the same whitened
``q(v) = N(0, I)`` start, the same minibatch size, steps, Adam learning rate and natural-gradient
step size. Contenders:

* ``uqlab adam``: the library's SVGP (whitened; Adam on hyperparameters, ``Z``, ``m`` and ``S``).
* ``uqlab natgrad``: a prototype (here until the SVGP port onto the engine's driver lands, then
  in ``uqlab/inference/svgp.py``): each step moves the natural parameters of the whitened
  ``q(v)`` a fraction ``gamma`` towards the minibatch's conjugate optimum (Hensman et al. 2013;
  Salimbeni et al. 2018), ``P <- (1-gamma) P + gamma (I + c A A^T)``,
  ``h <- (1-gamma) h + gamma c A (y - m(X))``, ``c = N / (|B| sigma^2)``, ``A = L_Z^{-1} K_ZB``,
  then one Adam step on the hyperparameters and ``Z`` with ``q`` held.
* ``gpjax adam``: ``gpx.fit`` on a ``WhitenedVariationalGaussian`` with ``-elbo``.
* ``gpjax natgrad``: ``gpx.fit_natgrads`` (NGD on q + Adam) on the same family.

Reported: training seconds (compilation included, as a user waits for it), the full-data ELBO
per point (each library's own objective on all ``N`` points), the test NLL (original units) and
whether the minibatch loss had plateaued at the end (``uqlab.inference.svgp.plateaued``, the
check the library's SVGP reports in ``info["converged"]``).

    python benchmarks/svgp_vs_gpjax.py [--n-train 100000] [--inducing 256] [--steps 1500] [--batch-size 512]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import load_average, print_table, save, setup_jax_cache, timed
from gp_benchmarks import make_data


def natgrad_svgp(model, x, y, z0, steps, batch_size, lr, gamma, key):
    """The natural-gradient prototype: ``(params in the library's SVGP layout, losses)``."""
    import jax
    import jax.numpy as jnp
    import optax

    from uqlab.inference.svgp import svgp_elbo

    n, m = x.shape[0], z0.shape[0]
    optimizer = optax.adam(lr)

    def q_params(nat):
        """Mean and raw lower Cholesky factor of ``S = P^{-1}`` (the library's ``q_mu``, ``q_sqrt``)."""
        precision, h = nat
        chol_s = jnp.linalg.cholesky(jnp.linalg.inv(precision))
        mean = jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(precision), True), h)
        return mean, jnp.tril(chol_s, -1) + jnp.diag(jnp.log(jnp.diagonal(chol_s)))

    def step(carry, k):
        trained, nat, opt_state = carry
        index = jax.random.randint(k, (batch_size,), 0, n)
        xb, yb = x[index], y[index]
        hyper, z = jax.lax.stop_gradient(trained["hyper"]), jax.lax.stop_gradient(trained["z"])
        kzz = model.kernel(hyper["kernel"], z, z) + model.jitter * jnp.eye(m)
        a = jax.scipy.linalg.solve_triangular(jnp.linalg.cholesky(kzz), model.kernel(hyper["kernel"], z, xb), lower=True)
        c = n / (batch_size * model.noise(hyper) ** 2)
        target = (jnp.eye(m) + c * a @ a.T, c * a @ (yb - model.mean_fn(hyper, xb)))
        nat = jax.tree_util.tree_map(lambda old, new: (1 - gamma) * old + gamma * new, nat, target)
        q_mu, q_sqrt = jax.lax.stop_gradient(q_params(nat))

        def loss(trained):
            return -svgp_elbo(model, {**trained, "q_mu": q_mu, "q_sqrt": q_sqrt}, xb, yb, n) / n

        value, grads = jax.value_and_grad(loss)(trained)
        updates, opt_state = optimizer.update(grads, opt_state, trained)
        return (optax.apply_updates(trained, updates), nat, opt_state), value

    trained = {"hyper": model.init(), "z": z0}
    nat = (jnp.eye(m), jnp.zeros((m, y.shape[1])))
    run = jax.jit(lambda carry, keys: jax.lax.scan(step, carry, keys))
    (trained, nat, _), losses = run((trained, nat, optimizer.init(trained)), jax.random.split(key, steps))
    q_mu, q_sqrt = q_params(nat)
    return {**trained, "q_mu": q_mu, "q_sqrt": q_sqrt}, np.asarray(losses)


def uqlab_rows(args, model, x, y, xt, yt, y_scale, z_index):
    import jax
    import jax.numpy as jnp

    import uqlab
    from uqlab.inference.svgp import svgp_elbo, svgp_marginals

    n = len(x)
    rows = []
    data = uqlab.Dataset(x, y, name="svgp-8d")  # already standardised: the scaler is near identity
    load = load_average()[0]
    post, seconds, _ = timed(uqlab.fit, model, data, "svgp", num_inducing=args.inducing, num_steps=args.steps,
                             batch_size=args.batch_size, learning_rate=args.lr, progress=False, key=0)
    pred = post.predict(xt)
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a[0]), post.params)
    xs, ys = (jnp.asarray(a, jnp.float64) for a in data.standardized())
    rows.append(_row("uqlab adam", seconds, float(svgp_elbo(model, params, xs, ys, n)) / n,
                     float(-pred.logpdf(yt).mean()) + np.log(y_scale), post.info["losses"], args, load))

    load = load_average()[0]
    x64, y64 = jnp.asarray(x), jnp.asarray(y)
    (params, losses), seconds, _ = timed(natgrad_svgp, model, x64, y64, x64[z_index], args.steps, args.batch_size,
                                         args.lr, args.gamma, jax.random.PRNGKey(0))
    mean, var = svgp_marginals(model, params, jnp.asarray(xt))
    scale = jnp.sqrt(var + model.noise(params["hyper"]) ** 2)[:, None]
    nll = -np.mean(np.asarray(-0.5 * ((yt - mean) / scale) ** 2 - jnp.log(scale) - 0.5 * np.log(2 * np.pi)))
    rows.append(_row("uqlab natgrad (prototype)", seconds, float(svgp_elbo(model, params, x64, y64, n)) / n,
                     nll + np.log(y_scale), losses, args, load))
    return rows


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
    z_index = np.asarray(jax.random.choice(jax.random.PRNGKey(5), len(x), (args.inducing,), replace=False))
    model = GP(kernel=Matern52(d_in=x.shape[1], ard=True, lengthscale=2.0))
    rows = uqlab_rows(args, model, xs, ys, xts, yts, y_scale, z_index) + gpjax_rows(args, xs, ys, xts, yts, y_scale, z_index)
    best = min(r["test_nll"] for r in rows if r["model"].startswith("gpjax"))
    gpjax_s = min(r["fit_s"] for r in rows if r["model"].startswith("gpjax"))
    for row in rows:
        row["test_nll_minus_best_gpjax"] = row["test_nll"] - best
        row["fit_s_vs_fastest_gpjax"] = row["fit_s"] / gpjax_s
    save("svgp_vs_gpjax", {"settings": vars(args), "rows": rows}, load_before=load_before)
    print_table(rows)


if __name__ == "__main__":
    main()
