"""Neural processes against the Bayes-optimal predictor on unseen 1-D GP tasks, per kernel family.

Each model (CNP, latent NP, ANP, ConvCNP; any size) is trained with Adam on :class:`GPTasks`
(RBF, Matern-5/2 and periodic tasks mixed). Training runs in segments; after each segment the
model is scored on ``--tasks`` unseen tasks: the per-point predictive log-likelihood of the
held-out targets (target points that are not context points) under the NP (a mixture over
latent draws for latent NPs) and under the true generating GP given the same context. The gap
(true minus NP, nats per point) is 0 for a perfect NP; it is reported overall and per kernel
family, with its standard error over tasks.

    python benchmarks/np_vs_gp.py --runs convcnp:channels=64,depth=6 anp:width=128,num_heads=8 \\
        [--budget-cpu-s 1800] [--budget-wall-s 1500] [--segments 8] [--tasks 512]

A run stops at the first segment boundary past either budget: process CPU seconds (15 minutes
on 2 cores = 1800 CPU-s) or wall seconds (the machine is shared by several engineers, so a
CPU-second budget can take far longer than 15 minutes of wall time). Both clocks are saved with
the 1-minute load average at every checkpoint, and ``results/np_vs_gp.png`` plots gap against
training CPU time. ``--checkpoint FILE`` saves the training state after every segment and
resumes from it, clocks included, so a CPU budget can be spent over several sessions.

Each run trains in a fresh Python subprocess (``--child``): training a second model in the same
process hung twice (all threads waiting, no CPU), and a fresh process keeps one model's
compilation and memory out of the next one's timing. Rows merge into ``results/np_vs_gp.json``
by run name. Training here is a prototype loop (same objective and Adam as ``NPTrain``, in
segments so that the curve can be scored); it moves onto the registered NP method once that lands.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np
from _common import RESULTS, load_average, print_table, save, setup_jax_cache

FAMILIES = ("rbf", "matern52", "periodic")


def build_model(spec: str):
    """``kind:key=value,...`` -> model (ints and floats parsed)."""
    from uqlab.models.convcnp import ConvCNP
    from uqlab.models.neural_process import NeuralProcess

    kind, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, value = item.split("=")
        options[key] = float(value) if "." in value else int(value)
    return ConvCNP(**options) if kind == "convcnp" else NeuralProcess(kind=kind, **options)


def heldout_scores(model, params, tasks, batch, key, num_samples: int, chunk: int = 64):
    """Per-task mean held-out log-likelihood, NP and true GP, and held-out counts (each ``(B,)``)."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    from uqlab.models.likelihoods import gaussian_log_prob

    def one(task, k):
        loc, scale = model.predict(params, task["x"], task["y"], task["context"], task["x"], k, num_samples)
        log_p = logsumexp(gaussian_log_prob(task["y"], loc, scale)[..., 0], axis=0) - jnp.log(loc.shape[0])
        true_loc, true_scale = tasks.true_predictive(task)
        return log_p, gaussian_log_prob(task["y"], true_loc, true_scale)[:, 0]

    keys = jax.random.split(key, batch["x"].shape[0])
    held_out = np.asarray(batch["target"]) & ~np.asarray(batch["context"])
    score = jax.jit(jax.vmap(one))
    ours, true = [], []
    # Chunks of tasks, each brought to numpy before the next is dispatched: one 512-task program
    # for the ANP hung in about 2 of 3 runs (XLA CPU, jax 0.10.2); chunks of 64 have not.
    for start in range(0, len(keys), chunk):
        part = jax.tree_util.tree_map(lambda a, s=start: a[s:s + chunk], (batch, keys))
        values = jax.block_until_ready(score(*part))
        ours.append(np.asarray(values[0]))
        true.append(np.asarray(values[1]))
    ours, true = np.concatenate(ours), np.concatenate(true)
    count = held_out.sum(1)
    return (ours * held_out).sum(1) / count, (true * held_out).sum(1) / count, count


def summarise(ours, true, count, family) -> dict:
    """Point-weighted gaps overall and per family, with standard errors over tasks."""
    out = {}
    for name, select in [("all", np.ones_like(family, bool))] + [(f, family == i) for i, f in enumerate(FAMILIES)]:
        if not select.any():
            continue
        w = count[select] / count[select].sum()
        gap = true[select] - ours[select]
        mean = float(np.sum(w * gap))
        se = float(np.sqrt(np.sum(w**2 * (gap - mean) ** 2)))
        out[name] = {"gap": mean, "gap_se": se, "np_ll": float(np.sum(w * ours[select])),
                     "true_gp_ll": float(np.sum(w * true[select])), "tasks": int(select.sum())}
    return out


def train_and_score(spec: str, args) -> dict:
    """Train one model in segments under the budgets; score after each segment."""
    import jax
    import optax

    from uqlab._io import atomic_write
    from uqlab.problems.gp_tasks import GPTasks

    tasks = GPTasks()
    test_batch = tasks.sample(jax.random.PRNGKey(12345), args.tasks)  # unseen: training keys differ
    family = np.asarray(test_batch["hyper"]["kernel"])
    model = build_model(spec)
    params = model.init(jax.random.PRNGKey(0))
    optimizer = optax.adam(args.lr)
    batch_size = args.batch_size

    def batch_loss(params, k):
        task_key, loss_key = jax.random.split(k)
        batch = tasks.sample(task_key, batch_size)
        return jax.numpy.mean(jax.vmap(model.loss, in_axes=(None, 0, 0))(params, batch, jax.random.split(loss_key, batch_size)))

    def step(carry, k):
        params, opt_state = carry
        value, grads = jax.value_and_grad(batch_loss)(params, k)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    segment = jax.jit(lambda carry, keys: jax.lax.scan(step, carry, keys))
    carry = (params, optimizer.init(params))
    num_params = sum(a.size for a in jax.tree_util.tree_leaves(params))
    steps, curve, key, spent = 0, [], jax.random.PRNGKey(1), (0.0, 0.0)
    checkpoint = pathlib.Path(args.checkpoint) if args.checkpoint else None
    if checkpoint is not None and checkpoint.exists():  # resume: same spec, earlier segments' clocks carried over
        with open(checkpoint, "rb") as handle:
            saved = pickle.load(handle)
        carry = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(carry), saved["carry"])
        steps, curve, key, spent = saved["steps"], saved["curve"], saved["key"], saved["spent"]
    wall0, cpu0 = time.perf_counter() - spent[0], time.process_time() - spent[1]
    while True:
        key, sub = jax.random.split(key)
        carry, values = segment(carry, jax.random.split(sub, args.segment_steps))
        steps += args.segment_steps
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        ours, true, count = heldout_scores(model, carry[0], tasks, test_batch, jax.random.PRNGKey(2), 32)
        point = {"steps": steps, "train_wall_s": wall, "train_cpu_s": cpu, "load_1min": load_average()[0],
                 "train_loss_last_segment": float(values.mean()), **summarise(ours, true, count, family)}
        curve.append(point)
        print(f"{spec}: {steps} steps, cpu {cpu:.0f}s wall {wall:.0f}s load {point['load_1min']:.1f} "
              f"loss {point['train_loss_last_segment']:.3f} gap " +
              " ".join(f"{f}={point[f]['gap']:.3f}" for f in ("all",) + FAMILIES), flush=True)
        if checkpoint is not None:
            state = {"carry": [np.asarray(a) for a in jax.tree_util.tree_leaves(carry)], "steps": steps, "curve": curve,
                     "key": np.asarray(key), "spent": (wall, cpu)}
            with atomic_write(checkpoint, mode="wb") as handle:
                pickle.dump(state, handle)
        if cpu >= args.budget_cpu_s or wall >= args.budget_wall_s or steps >= args.max_steps:
            break
    final = curve[-1]
    return {"model": spec, "num_params": int(num_params), "steps": steps, "train_cpu_s": final["train_cpu_s"],
            "train_wall_s": final["train_wall_s"],
            **{f"gap_{f}": final[f]["gap"] for f in ("all",) + FAMILIES},
            **{f"gap_se_{f}": final[f]["gap_se"] for f in ("all",) + FAMILIES},
            "true_gp_ll": final["all"]["true_gp_ll"], "np_ll": final["all"]["np_ll"], "curve": curve,
            "settings": {"tasks": args.tasks, "lr": args.lr, "batch_size": batch_size, "segment_steps": args.segment_steps,
                         "budget_cpu_s": args.budget_cpu_s, "budget_wall_s": args.budget_wall_s}}


def plot(rows: list[dict]) -> None:
    """Gap against training CPU seconds, one panel per kernel family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uqlab._io import atomic_write

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, fam in zip(axes, FAMILIES):
        for row in rows:
            curve = row.get("curve", [])
            if curve:
                ax.plot([p["train_cpu_s"] for p in curve], [p[fam]["gap"] for p in curve], marker="o", ms=3, label=row["model"])
        ax.axhline(0.3, color="grey", ls="--", lw=0.8)
        ax.set(title=fam, xlabel="training CPU seconds (2 cores x 15 min = 1800)", xscale="log")
    axes[0].set_ylabel("gap to the true GP (nats / held-out point)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_write(RESULTS / "np_vs_gp.png", mode="wb") as handle:
        fig.savefig(handle, format="png", dpi=110)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", nargs="+", default=["convcnp", "anp:width=128,num_heads=8"])
    parser.add_argument("--tasks", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--segment-steps", type=int, default=500)
    parser.add_argument("--max-steps", type=int, default=1_000_000)
    parser.add_argument("--budget-cpu-s", type=float, default=1800.0)
    parser.add_argument("--budget-wall-s", type=float, default=1500.0)
    parser.add_argument("--checkpoint", default="", help="file to save training state to after each segment and "
                        "resume from (one run spec per file); wall and CPU clocks continue from it")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: write one row here
    parser.add_argument("--plot-only", action="store_true")
    args = parser.parse_args()
    if args.child:
        setup_jax_cache()
        row = train_and_score(args.runs[0], args)
        pathlib.Path(args.child).write_text(json.dumps(row, default=float))
        return
    path = RESULTS / "np_vs_gp.json"
    rows = json.loads(path.read_text()).get("rows", []) if path.exists() else []
    for spec in [] if args.plot_only else args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "row.json"
            command = [sys.executable, __file__, "--runs", spec, "--child", str(out)] + [
                f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
                if k in ("tasks", "lr", "batch_size", "segment_steps", "max_steps", "budget_cpu_s", "budget_wall_s",
                         "checkpoint")]
            subprocess.run(command, check=True)
            row = json.loads(out.read_text())
        rows = json.loads(path.read_text()).get("rows", []) if path.exists() else []  # again: runs may overlap
        rows = [r for r in rows if r["model"] != spec] + [row]
        save("np_vs_gp", {"settings": {"note": "per-row settings in rows[i].settings"}, "rows": rows})
    rows_with_curves = [r for r in rows if "curve" in r]  # older rows (one score at the end) are kept as they are
    plot(rows_with_curves)
    print_table([{k: v for k, v in r.items() if k not in ("settings", "curve") and not k.startswith("gap_se")}
                 for r in rows_with_curves])


if __name__ == "__main__":
    main()
