"""Torch backend against the JAX methods on toy1d, the same 1-50-2 tanh architecture.

1. Ensembles and MC dropout, JAX model vs torch module, over seeds: test NLL and CRPS (mean and
   standard error); the difference should lie within 2 combined standard errors.
2. Laplace via laplace-torch vs uqlab's JAX Laplace on identical MAP weights (the JAX MAP copied
   into the torch module, noise fixed at the JAX MAP noise, Gaussian likelihood): median
   pointwise predictive std ratio for each subset and Hessian structure, with the prior
   precision each tunes by marginal likelihood and with one shared fixed prior precision.
3. NUTS on ``from_torch(module)`` against NUTS on the hand-written ``BayesianMLP`` (1-10-1 tanh,
   Gaussian noise learned, toy1d), different keys: the posterior mean and sd of the network's
   mean function at 25 test inputs, each difference in units of its combined Monte Carlo
   standard error (ArviZ ``mcse`` over the chains); max |z|, mean z^2 (about 1 if the two agree)
   and the prediction R-hat of each run.

    python benchmarks/torch_parity.py [--seeds 5] [--ensemble-steps 600] [--dropout-steps 800]
                                      [--nuts-samples 1000] [--skip parity laplace nuts]
"""

from __future__ import annotations

import argparse

from _common import load_average, print_table, save, setup_jax_cache


def _stats(values):
    import numpy as np

    values = np.asarray(values, float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def parity(args, data):
    import torch

    import uqlab
    from uqlab.diagnostics import evaluate
    from uqlab.models import BayesianMLP, Heteroscedastic

    layers = lambda dropout: [torch.nn.Linear(1, 50), torch.nn.Tanh(), *([torch.nn.Dropout(dropout)] if dropout else []),  # noqa: E731
                              torch.nn.Linear(50, 2)]
    contenders = {
        "ensemble": ("ensemble", {"num_members": 5, "num_steps": args.ensemble_steps}, 0.0),
        "mc_dropout": ("mc_dropout", {"num_steps": args.dropout_steps, "dropout_rate": 0.05, "num_passes": 100}, 0.05),
    }
    rows = []
    for label, (method, settings, dropout) in contenders.items():
        torch_extra = {"likelihood": Heteroscedastic(), "prior_scale": 2.0}
        runs = {"jax": None, "torch": torch_extra}
        if label == "ensemble":  # the torch module's own initialisation, for the record (docs/torch.md)
            runs["torch_init_module"] = {**torch_extra, "init": "module"}
        scores = {kind: [] for kind in runs}
        for seed in range(args.seeds):
            for kind, extra in runs.items():
                model = (BayesianMLP(widths=(50,), prior_scale=2.0, likelihood=Heteroscedastic(), dropout_rate=dropout)
                         if extra is None else torch.nn.Sequential(*layers(dropout)))
                post = uqlab.fit(model, data, method, key=seed, progress=False, **settings, **(extra or {}))
                scores[kind].append(evaluate(post.predict(data.x_test), data.y_test, ("nll", "crps")))
                print(label, kind, seed, scores[kind][-1], flush=True)
        for kind in list(runs)[1:]:
            for metric in ("nll", "crps"):
                (jm, js), (tm, ts) = (_stats([s[metric] for s in scores[k]]) for k in ("jax", kind))
                z = abs(jm - tm) / (js**2 + ts**2) ** 0.5
                rows.append({"method": label, "torch_run": kind, "metric": metric, "jax": jm, "jax_se": js, "torch": tm,
                             "torch_se": ts, "z": z, "within_2se": bool(z < 2)})
    return rows


def laplace_parity(data):
    import numpy as np
    import torch

    import uqlab
    from uqlab.models import BayesianMLP, Gaussian

    jax_model = BayesianMLP(widths=(50,), prior_scale=2.0, likelihood=Gaussian())
    rows = []
    for subset, hessian in (("last_layer", "full"), ("last_layer", "kron"), ("all", "diag"), ("all", "kron"), ("all", "full")):
        for prior in (None, 1.0):
            jax_post = uqlab.fit(jax_model, data, "laplace", subset=subset, hessian=hessian, prior_precision=prior,
                                 num_steps=2000, key=0, progress=False)
            params = jax_post.params
            module = torch.nn.Sequential(torch.nn.Linear(1, 50), torch.nn.Tanh(), torch.nn.Linear(50, 1))
            with torch.no_grad():
                for layer, p in zip((module[0], module[2]), params["net"]):
                    layer.weight.copy_(torch.as_tensor(np.asarray(p["w"]).T))
                    layer.bias.copy_(torch.as_tensor(np.asarray(p["b"])))
            noise = float(np.exp(np.asarray(params["lik"]["log_noise"]))[0])
            torch_post = uqlab.fit(module, data, "laplace", likelihood=Gaussian(noise_scale=noise), subset=subset,
                                   hessian=hessian, prior_precision=prior, num_steps=0)
            a, b = jax_post.predict(data.x_test), torch_post.predict(data.x_test)
            ratio = b.std / a.std
            rows.append({"subset": subset, "hessian": hessian, "prior": "marglik" if prior is None else prior,
                         "delta_jax": jax_post.info["prior_precision"], "delta_torch": torch_post.info["prior_precision"],
                         "median_std_jax": float(np.median(a.std)), "median_std_torch": float(np.median(b.std)),
                         "median_std_ratio": float(np.median(b.std)) / float(np.median(a.std)),
                         "median_pointwise_ratio": float(np.median(ratio)), "max_mean_diff": float(np.abs(a.mean - b.mean).max())})
            print(rows[-1], flush=True)
    return rows


def nuts_parity(args, data):
    import arviz as az
    import numpy as np
    import torch

    import uqlab
    from uqlab.models import BayesianMLP, Gaussian
    from uqlab.models.torch import from_torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(1, 10), torch.nn.Tanh(), torch.nn.Linear(10, 1))
    converted, _ = from_torch(module, likelihood=Gaussian())
    models = {"from_torch": (converted, 1), "hand_written": (BayesianMLP(widths=(10,), likelihood=Gaussian()), 2)}
    x = np.linspace(data.x_test.min(), data.x_test.max(), 25)[:, None]
    settings = {"num_warmup": args.nuts_samples // 2, "num_samples": args.nuts_samples, "num_chains": 4, "progress": False}
    stats = {}
    for name, (model, key) in models.items():
        post = uqlab.fit(model, data, "nuts", key=key, **settings)
        loc = post.predict(x).loc[..., 0].reshape(post.num_chains, -1, len(x))  # (chain, draw, point)
        dataset = az.convert_to_dataset({"f": loc})
        stats[name] = {"mean": loc.mean((0, 1)), "sd": loc.std((0, 1)),
                       "mcse_mean": az.mcse(dataset, method="mean")["f"].values,
                       "mcse_sd": az.mcse(dataset, method="sd")["f"].values,
                       "rhat_max": float(az.rhat(dataset)["f"].values.max()),
                       "ess_bulk_min": float(az.ess(dataset)["f"].values.min()),
                       "divergences": post.info["divergences"], "seconds": post.info["fit_seconds"]}
        print(name, {k: v for k, v in stats[name].items() if np.ndim(v) == 0}, flush=True)
    a, b = stats["from_torch"], stats["hand_written"]
    rows = []
    for quantity in ("mean", "sd"):
        z = (a[quantity] - b[quantity]) / np.sqrt(a[f"mcse_{quantity}"] ** 2 + b[f"mcse_{quantity}"] ** 2)
        rows.append({"quantity": f"posterior {quantity} of f(x), 25 points", "max_abs_z": float(np.abs(z).max()),
                     "mean_z2": float(np.mean(z**2)), "frac_within_2": float(np.mean(np.abs(z) < 2)),
                     "max_abs_diff": float(np.abs(a[quantity] - b[quantity]).max()),
                     "rhat_max": [a["rhat_max"], b["rhat_max"]], "ess_bulk_min": [a["ess_bulk_min"], b["ess_bulk_min"]]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--ensemble-steps", type=int, default=600)
    parser.add_argument("--dropout-steps", type=int, default=800)
    parser.add_argument("--nuts-samples", type=int, default=1000)
    parser.add_argument("--skip", nargs="*", choices=["parity", "laplace", "nuts"], default=[])
    args = parser.parse_args()
    setup_jax_cache()
    load_before = load_average()
    import torch

    import uqlab

    torch.set_num_threads(1)
    data = uqlab.problems.load("toy1d").data
    payload = {"settings": vars(args)}
    if "nuts" not in args.skip:
        payload["nuts"] = nuts_parity(args, data)
        print_table(payload["nuts"])
    if "laplace" not in args.skip:
        payload["laplace"] = laplace_parity(data)
        print_table(payload["laplace"])
    if "parity" not in args.skip:
        payload["parity"] = parity(args, data)
        print_table(payload["parity"])
    save("torch_parity", payload, load_before=load_before)


if __name__ == "__main__":
    main()
