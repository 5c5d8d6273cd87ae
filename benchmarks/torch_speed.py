"""Torch backend speed, side by side in one process.

1. torch_ensemble (5 members stacked with torch.func.vmap) against a sequential PyTorch loop
   (benchmarks/ensemble_vs_torch.py's), same 1-W-2 heteroscedastic MLPs, same full-batch Adam
   steps on toy1d (N = 200), for hidden widths W in ``--widths`` and torch thread counts in
   ``--threads`` (``torch.set_num_threads``; both contenders run under the same setting); median
   of ``--repeats`` alternating pairs. Target (W = 50): >= 3x.
2. uqlab-wrapped Pyro SVI (``uqlab.fit(pyro_model, data, "svi")``, constant step) against a raw
   ``pyro.infer.SVI`` loop with the same guide, optimiser, steps and guide draws, repeated in
   alternating order; the median of the paired ratios (and the ratio of the fastest times, the
   least disturbed by other load). Target: time ratio <= 1.10.
3. torch MC-dropout prediction: 100 passes on 10,000 points (time reported), beside JAX's.

    python benchmarks/torch_speed.py [--steps 500] [--widths 16 50 200] [--threads 1 2]
                                     [--svi-steps 300] [--repeats 3] [--svi-repeats 6]
"""

from __future__ import annotations

import argparse
import functools

from _common import load_average, print_table, save, setup_jax_cache, timed
from ensemble_vs_torch import torch_ensemble


def _pyro_line():
    import numpy as np
    import pyro
    import pyro.distributions as dist
    import torch

    rng = np.random.default_rng(0)
    x = np.hstack([np.ones((30, 1)), rng.normal(size=(30, 1))])
    y = x @ np.array([0.5, -1.0]) + 0.5 * rng.normal(size=30)

    def model(X, y=None):
        w = pyro.sample("w", dist.Normal(torch.zeros(2), 1.0).to_event(1))
        with pyro.plate("data", X.shape[0]):
            pyro.sample("y", dist.Normal(X @ w, 0.5), obs=y)

    return model, {"X": torch.tensor(x, dtype=torch.float32), "y": torch.tensor(y, dtype=torch.float32)}


def raw_pyro_svi(model, data, *, steps: int, lr: float, draws: int, seed: int = 0):
    """The loop a Pyro user writes: AutoMultivariateNormal, Adam, Trace_ELBO, then guide draws."""
    import pyro
    import torch

    pyro.clear_param_store()
    torch.manual_seed(seed)
    guide = pyro.infer.autoguide.AutoMultivariateNormal(model, init_scale=0.1)
    svi = pyro.infer.SVI(model, guide, pyro.optim.Adam({"lr": lr}), pyro.infer.Trace_ELBO())
    for _ in range(steps):
        svi.step(**data)
    with torch.no_grad():
        return [guide(**data) for _ in range(draws)]


def _mlp(width: int):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(1, width), torch.nn.Tanh(), torch.nn.Linear(width, 2))


def ensemble_rows(data, args) -> list[dict]:
    """uqlab's vmapped torch ensemble against the sequential loop, per hidden width and thread count."""
    import numpy as np
    import torch

    import uqlab
    from uqlab.models import Heteroscedastic
    from uqlab.models.torch import TorchModel

    x, y = data.standardized()
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for width in args.widths:
            model = TorchModel(functools.partial(_mlp, width), Heteroscedastic())
            vmap = functools.partial(uqlab.fit, model, data, "ensemble", num_members=5, num_steps=args.steps, progress=False)
            loop = functools.partial(torch_ensemble, x, y, members=5, steps=args.steps, lr=1e-2, weight_decay=1e-4,
                                     width=width)
            vmap(), loop()  # warm-up: first-call set-up out of the timing
            times = {"uqlab": [], "loop": []}
            for repeat in range(args.repeats):  # alternating order: the machine's load moves
                for which in (("uqlab", "loop") if repeat % 2 == 0 else ("loop", "uqlab")):
                    times[which].append(timed(vmap if which == "uqlab" else loop).seconds)
            ratios = np.array(times["loop"]) / np.array(times["uqlab"])
            rows.append({"benchmark": f"ensemble 5x1-{width}-2, {args.steps} steps, {threads} thread(s)",
                         "uqlab_s": float(np.median(times["uqlab"])), "baseline_s": float(np.median(times["loop"])),
                         "speedup": float(np.median(ratios)), "speedups": ratios.round(2).tolist(),
                         "speedup_of_min_times": min(times["loop"]) / min(times["uqlab"]),
                         "ms_per_step_uqlab": 1e3 * float(np.median(times["uqlab"])) / args.steps,
                         "ms_per_step_loop": 1e3 * float(np.median(times["loop"])) / args.steps, "target": ">= 3 (W = 50)"})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 50, 200])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--svi-steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--svi-repeats", type=int, default=6)
    args = parser.parse_args()
    setup_jax_cache()
    load_before = load_average()
    import numpy as np
    import torch

    import uqlab
    from uqlab.models import Heteroscedastic

    data = uqlab.problems.load("toy1d").data
    rows = ensemble_rows(data, args)
    torch.set_num_threads(1)  # SVI and prediction: one thread

    model, svi_data = _pyro_line()
    settings = {"guide": "mvn", "num_steps": args.svi_steps, "learning_rate": 0.02, "schedule": "constant", "num_draws": 100,
                "progress": False}
    uqlab.fit(model, svi_data, "svi", **{**settings, "num_steps": 5})  # imports and first-call set-up out of the timing
    raw_pyro_svi(model, svi_data, steps=5, lr=0.02, draws=1)
    wrapped, raw = [], []
    for repeat in range(args.svi_repeats):  # interleaved repeats, alternating order: the machine's load moves
        for which in (("uqlab", "raw") if repeat % 2 == 0 else ("raw", "uqlab")):
            if which == "uqlab":
                wrapped.append(timed(uqlab.fit, model, svi_data, "svi", **settings).seconds)
            else:
                raw.append(timed(raw_pyro_svi, model, svi_data, steps=args.svi_steps, lr=0.02, draws=100).seconds)
    pair_ratios = np.array(wrapped) / np.array(raw)
    rows.append({"benchmark": f"Pyro SVI {args.svi_steps} steps", "uqlab_s": float(np.median(wrapped)),
                 "baseline_s": float(np.median(raw)), "ratio": float(np.median(pair_ratios)),
                 "ratio_of_min_times": min(wrapped) / min(raw), "target": "<= 1.10"})

    dropout_net = torch.nn.Sequential(torch.nn.Linear(1, 50), torch.nn.Tanh(), torch.nn.Dropout(0.05), torch.nn.Linear(50, 2))
    post = uqlab.fit(dropout_net, data, "mc_dropout", likelihood=Heteroscedastic(), num_steps=50, num_passes=100, progress=False)
    x_big = np.linspace(-5, 5, 10_000)[:, None]
    post.predict(x_big[:10])
    torch_predict = timed(post.predict, x_big)
    jax_post = uqlab.fit(uqlab.models.DropoutMLP(widths=(50,), dropout_rate=0.05, likelihood=Heteroscedastic()), data,
                         "mc_dropout", dropout_rate=0.05, num_steps=50, num_passes=100, progress=False)
    jax_post.predict(x_big)
    jax_predict = timed(jax_post.predict, x_big)
    rows.append({"benchmark": "MC-dropout predict 100 passes x 10,000 points", "uqlab_s": torch_predict.seconds,
                 "baseline_s": jax_predict.seconds, "ratio": torch_predict.seconds / jax_predict.seconds,
                 "target": "time reported (baseline: JAX MCDropout)"})
    print_table(rows)
    save("torch_speed", {"settings": vars(args), "rows": rows,
                         "svi_repeats": {"uqlab": wrapped, "raw": raw, "pair_ratios": pair_ratios.tolist()}},
         load_before=load_before)


if __name__ == "__main__":
    main()
