"""uqlab mean-field VI against NumPyro SVI with an ``AutoNormal`` guide on the same BNN, in one process.

The NumPyro model is the uqlab ``BayesianMLP`` of the toy1d problem written out by hand (same
fan-in Gaussian priors, same heteroscedastic likelihood ``scale = 1e-3 + softplus(raw)``, same
standardised data), so both maximise the ELBO of the same posterior with a diagonal Gaussian:
Adam with the same learning rate and step count, full batch, the same number of ELBO draws per
step. Reported: wall time of a warm run (compilation excluded: each is run once before timing)
and the final ELBO (mean of the per-step estimates over the last 10 % of steps).

    python benchmarks/vi_vs_numpyro.py [--steps 2000] [--draws 4]
"""

from __future__ import annotations

import argparse

from _common import first_and_warm, load_average, print_table, save, setup_jax_cache


def numpyro_bnn(model):
    """The uqlab ``BayesianMLP`` (one hidden layer, heteroscedastic) as a NumPyro model function."""
    import jax
    import numpyro
    import numpyro.distributions as dist

    (w1_s, b1_s), (w2_s, b2_s) = model.weight_prior_scales()
    sizes = model.layer_sizes

    def bnn(x, y=None):
        w1 = numpyro.sample("w1", dist.Normal(0.0, w1_s).expand([sizes[0], sizes[1]]).to_event(2))
        b1 = numpyro.sample("b1", dist.Normal(0.0, b1_s).expand([sizes[1]]).to_event(1))
        w2 = numpyro.sample("w2", dist.Normal(0.0, w2_s).expand([sizes[1], sizes[2]]).to_event(2))
        b2 = numpyro.sample("b2", dist.Normal(0.0, b2_s).expand([sizes[2]]).to_event(1))
        raw = jax.numpy.tanh(x @ w1 + b1) @ w2 + b2
        scale = model.likelihood.min_scale + jax.nn.softplus(raw[:, 1:])
        with numpyro.plate("data", x.shape[0]):
            numpyro.sample("y", dist.Normal(raw[:, :1], scale).to_event(1), obs=y)

    return bnn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    args = parser.parse_args()
    setup_jax_cache()
    load_before = load_average()

    import jax
    import numpy as np
    import optax
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal

    import uqlab
    from uqlab.inference.vi import MeanFieldVI

    problem = uqlab.problems.load("toy1d", num_train=args.train)
    data, model = problem.data, problem.make_model()
    x, y = (jax.numpy.asarray(a) for a in data.standardized())
    tail = max(1, args.steps // 10)

    method = MeanFieldVI(num_steps=args.steps, learning_rate=args.learning_rate, num_elbo_samples=args.draws,
                         init_scale=0.1, progress=False)
    svi = SVI(numpyro_bnn(model), AutoNormal(numpyro_bnn(model), init_scale=0.1), optax.adam(args.learning_rate),
              Trace_ELBO(num_particles=args.draws, vectorize_particles=True))

    def run_uqlab():
        return uqlab.fit(model, data, method, key=0).info["elbo"]

    def run_numpyro():
        result = svi.run(jax.random.PRNGKey(0), args.steps, x, y, progress_bar=False)
        return -np.asarray(result.losses)

    rows = []
    for name, run in (("uqlab MeanFieldVI", run_uqlab), ("NumPyro SVI AutoNormal", run_numpyro)):
        elbo, _, seconds = first_and_warm(run)  # the first call compiles
        rows.append({"method": name, "steps": args.steps, "seconds": seconds,
                     "final_elbo": float(np.mean(elbo[-tail:]))})
    rows[0]["time_ratio_vs_numpyro"] = rows[0]["seconds"] / rows[1]["seconds"]
    rows[1]["time_ratio_vs_numpyro"] = 1.0
    print_table(rows)
    save("vi_vs_numpyro", {"settings": vars(args), "rows": rows}, load_before=load_before)


if __name__ == "__main__":
    main()
