"""Neural processes against the Bayes-optimal predictor on unseen 1-D GP tasks, per kernel family.

Each model (CNP, latent NP, ANP, ConvCNP; any size) is trained with Adam on :class:`GPTasks`
(RBF, Matern-5/2 and periodic tasks mixed). Training runs in segments; after each segment the
model is scored on ``--tasks`` unseen tasks: the per-point predictive log-likelihood of the
held-out targets (target points that are not context points) under the NP (a mixture over
latent draws for latent NPs) and under the true generating GP given the same context. The gap
(true minus NP, nats per point) is 0 for a perfect NP; it is reported overall and per kernel
family, with its standard error over tasks.

    python benchmarks/np_vs_gp.py --runs convcnp:channels=64,depth=8,points_per_unit=16.0 --kernels rbf \\
        --lr-schedule cosine --budget-wall-s 900 --score-every-s 60 [--tag TAG] [--tasks 512]

``--kernels`` picks the task families for training and testing (a model per family, as in the
NP literature, or all three mixed). A run stops at the first segment boundary past either
budget: process CPU seconds (15 minutes on 2 cores = 1800 CPU-s) or training wall seconds. The
training clocks cover the training segments only (compilation included); scoring is timed
apart. ``--lr-schedule cosine`` decays the step size over the wall-clock budget. Both clocks are
saved with the 1-minute load average at every score, and ``results/np_vs_gp.png`` plots gap
against training wall time. ``--checkpoint FILE`` saves the training state after every segment and
resumes from it, clocks included, so a CPU budget can be spent over several sessions.

Each run trains in a fresh Python subprocess (``--child``): training a second model in the same
process hung twice (all threads waiting, no CPU), and a fresh process keeps one model's
compilation and memory out of the next one's timing. Rows merge into ``results/np_vs_gp.json``
by run name. Training is the objective and Adam of the registered ``NPTrain`` method, written
as a segmented loop here so that the curve can be scored and the step size decayed on the clock.
"""

from __future__ import annotations

import argparse
import functools
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


@functools.lru_cache(maxsize=4)
def _scorer(model, tasks, num_samples: int):
    """Jitted per-task held-out log-likelihoods (NP and true GP), built once per model."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    from uqlab.models.likelihoods import gaussian_log_prob

    def one(params, task, k):
        loc, scale = model.predict(params, task["x"], task["y"], task["context"], task["x"], k, num_samples)
        log_p = logsumexp(gaussian_log_prob(task["y"], loc, scale)[..., 0], axis=0) - jnp.log(loc.shape[0])
        true_loc, true_scale = tasks.true_predictive(task)
        return log_p, gaussian_log_prob(task["y"], true_loc, true_scale)[:, 0]

    return jax.jit(jax.vmap(one, in_axes=(None, 0, 0)))


def heldout_scores(model, params, tasks, batch, key, num_samples: int, chunk: int = 64):
    """Per-task mean held-out log-likelihood, NP and true GP, and held-out counts (each ``(B,)``)."""
    import jax

    score = _scorer(model, tasks, num_samples)
    keys = jax.random.split(key, batch["x"].shape[0])
    held_out = np.asarray(batch["target"]) & ~np.asarray(batch["context"])
    ours, true = [], []
    # Chunks of tasks, each brought to numpy before the next is dispatched: one 512-task program
    # for the ANP hung in about 2 of 3 runs (XLA CPU, jax 0.10.2); chunks of 64 have not.
    for start in range(0, len(keys), chunk):
        part = jax.tree_util.tree_map(lambda a, s=start: a[s:s + chunk], (batch, keys))
        values = jax.block_until_ready(score(params, *part))
        ours.append(np.asarray(values[0]))
        true.append(np.asarray(values[1]))
    ours, true = np.concatenate(ours), np.concatenate(true)
    count = held_out.sum(1)
    return (ours * held_out).sum(1) / count, (true * held_out).sum(1) / count, count


def summarise(ours, true, count, family) -> dict:
    """Point-weighted gaps overall and per family (``family``: each task's family name), with
    standard errors over tasks."""
    out = {}
    for name, select in [("all", np.ones_like(family, bool))] + [(f, family == f) for f in FAMILIES]:
        if not select.any():
            continue
        w = count[select] / count[select].sum()
        gap = true[select] - ours[select]
        mean = float(np.sum(w * gap))
        se = float(np.sqrt(np.sum(w**2 * (gap - mean) ** 2)))
        out[name] = {"gap": mean, "gap_se": se, "np_ll": float(np.sum(w * ours[select])),
                     "true_gp_ll": float(np.sum(w * true[select])), "tasks": int(select.sum())}
    return out


def learning_rate(args, train_wall_s: float, steps: int) -> float:
    """Step size for the next segment: constant, or cosine decay from ``--lr`` to ``--lr-floor``
    over the wall-clock budget or ``--max-steps``, whichever runs out first (a time budget needs
    no step count)."""
    if args.lr_schedule == "constant":
        return args.lr
    done = min(max(train_wall_s / args.budget_wall_s, steps / args.max_steps), 1.0)
    return args.lr_floor + (args.lr - args.lr_floor) * 0.5 * (1 + np.cos(np.pi * done))


def train_and_score(spec: str, args) -> dict:
    """Train one model in segments under the budgets; score every ``--score-every-s`` training seconds.

    The training clocks (wall and process CPU seconds) cover the training segments only,
    compilation included; scoring is timed separately (``eval_wall_s``).
    """
    import jax
    import optax

    from uqlab._io import atomic_write
    from uqlab.problems.gp_tasks import GPTasks

    tasks = GPTasks(kernels=tuple(args.kernels))
    test_batch = tasks.sample(jax.random.PRNGKey(12345), args.tasks)  # unseen: training keys differ
    family = np.asarray(tasks.kernels)[np.asarray(test_batch["hyper"]["kernel"])]
    model = build_model(spec)
    params = model.init(jax.random.PRNGKey(0))
    optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=args.lr)
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
    steps, curve, key, spent, eval_wall = 0, [], jax.random.PRNGKey(1), (0.0, 0.0), 0.0
    checkpoint = pathlib.Path(args.checkpoint) if args.checkpoint else None
    if checkpoint is not None and checkpoint.exists():  # resume: same spec, earlier segments' clocks carried over
        with open(checkpoint, "rb") as handle:
            saved = pickle.load(handle)
        carry = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(carry), saved["carry"])
        steps, curve, key, spent, eval_wall = saved["steps"], saved["curve"], saved["key"], saved["spent"], saved["eval"]
    wall, cpu = spent
    last_scored = curve[-1]["train_wall_s"] if curve else 0.0
    lr, values = learning_rate(args, wall, steps), None

    def finished():
        return cpu >= args.budget_cpu_s or wall >= args.budget_wall_s or steps >= args.max_steps

    done = finished()  # a resumed run may already be past its budget: then it is only scored
    while True:
        if not done:
            lr = learning_rate(args, wall, steps)
            carry[1].hyperparams["learning_rate"] = jax.numpy.asarray(lr, jax.numpy.float32)
            key, sub = jax.random.split(key)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            carry, values = jax.block_until_ready(segment(carry, jax.random.split(sub, args.segment_steps)))
            wall, cpu = wall + time.perf_counter() - wall0, cpu + time.process_time() - cpu0
            steps += args.segment_steps
            if args.verbose:
                print(f"segment: {time.perf_counter() - wall0:.2f}s", flush=True)
            done = finished()
        if done or wall - last_scored >= args.score_every_s:
            last_scored, eval0 = wall, time.perf_counter()
            ours, true, count = heldout_scores(model, carry[0], tasks, test_batch, jax.random.PRNGKey(2), 32)
            eval_wall += time.perf_counter() - eval0
            point = {"steps": steps, "train_wall_s": wall, "train_cpu_s": cpu, "eval_wall_s": eval_wall,
                     "load_1min": load_average()[0], "learning_rate": lr,
                     "train_loss_last_segment": None if values is None else float(values.mean()),
                     **summarise(ours, true, count, family)}
            curve.append(point)
            print(f"{spec}: {steps} steps, cpu {cpu:.0f}s wall {wall:.0f}s load {point['load_1min']:.1f} lr {lr:.1e} "
                  f"loss {point['train_loss_last_segment']} gap " +
                  " ".join(f"{f}={point[f]['gap']:.3f}" for f in ("all",) + FAMILIES if f in point), flush=True)
        if checkpoint is not None:
            state = {"carry": [np.asarray(a) for a in jax.tree_util.tree_leaves(carry)], "steps": steps, "curve": curve,
                     "key": np.asarray(key), "spent": (wall, cpu), "eval": eval_wall}
            with atomic_write(checkpoint, mode="wb") as handle:
                pickle.dump(state, handle)
        if done:
            break
    final = curve[-1]
    present = [f for f in ("all",) + FAMILIES if f in final]
    return {"model": spec, "name": args.name or spec, "kernels": list(tasks.kernels), "num_params": int(num_params),
            "steps": steps, "train_cpu_s": final["train_cpu_s"], "train_wall_s": final["train_wall_s"],
            "eval_wall_s": final["eval_wall_s"],
            **{f"gap_{f}": final[f]["gap"] for f in present},
            **{f"gap_se_{f}": final[f]["gap_se"] for f in present},
            "true_gp_ll": final["all"]["true_gp_ll"], "np_ll": final["all"]["np_ll"], "curve": curve,
            "settings": {k: getattr(args, k) for k in ("tasks", "lr", "lr_schedule", "lr_floor", "batch_size",
                                                        "segment_steps", "score_every_s", "budget_cpu_s",
                                                        "budget_wall_s")}}


def plot(rows: list[dict]) -> None:
    """Gap against training wall seconds, one panel per kernel family (rows trained on that family)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uqlab._io import atomic_write

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, fam in zip(axes, FAMILIES):
        for row in rows:
            curve = [p for p in row["curve"] if fam in p]
            if curve:
                ax.plot([p["train_wall_s"] for p in curve], [p[fam]["gap"] for p in curve], marker="o", ms=3,
                        label=row["name"])
        ax.axhline(0.3, color="grey", ls="--", lw=0.8)
        ax.axvline(900, color="grey", ls=":", lw=0.8)
        ax.set(title=fam, xlabel="training wall seconds (2 cores; 900 = 15 min)", xscale="log")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    axes[0].set_ylabel("gap to the true GP (nats / held-out point)")
    fig.tight_layout()
    with atomic_write(RESULTS / "np_vs_gp.png", mode="wb") as handle:
        fig.savefig(handle, format="png", dpi=110)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", nargs="+", default=["convcnp", "anp:width=128,num_heads=8"])
    parser.add_argument("--kernels", nargs="+", default=list(FAMILIES), choices=FAMILIES,
                        help="kernel families of the training and test tasks")
    parser.add_argument("--tag", default="", help="appended to each run's name (rows merge by name)")
    parser.add_argument("--tasks", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-schedule", default="constant", choices=("constant", "cosine"))
    parser.add_argument("--lr-floor", type=float, default=1e-5, help="final step size of the cosine schedule")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--segment-steps", type=int, default=500)
    parser.add_argument("--score-every-s", type=float, default=0.0, help="training seconds between scorings")
    parser.add_argument("--max-steps", type=int, default=1_000_000)
    parser.add_argument("--budget-cpu-s", type=float, default=1800.0)
    parser.add_argument("--budget-wall-s", type=float, default=900.0)
    parser.add_argument("--checkpoint", default="", help="file to save training state to after each segment and "
                        "resume from (one run spec per file); wall and CPU clocks continue from it")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: write one row here
    parser.add_argument("--name", default="", help=argparse.SUPPRESS)  # internal: the row's name
    parser.add_argument("--plot-only", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every segment's wall time")
    args = parser.parse_args()
    if args.checkpoint and len(args.runs) > 1:
        parser.error(f"--checkpoint: one run per checkpoint file, got {len(args.runs)} runs")
    if args.child:
        setup_jax_cache()
        row = train_and_score(args.runs[0], args)
        pathlib.Path(args.child).write_text(json.dumps(row, default=float))
        return
    path = RESULTS / "np_vs_gp.json"
    rows = json.loads(path.read_text()).get("rows", []) if path.exists() else []
    passed = ("kernels", "tasks", "lr", "lr_schedule", "lr_floor", "batch_size", "segment_steps", "score_every_s",
              "max_steps", "budget_cpu_s", "budget_wall_s", "checkpoint", "verbose")
    for spec in [] if args.plot_only else args.runs:
        name = f"{spec}@{'+'.join(args.kernels)}" + (f" {args.tag}" if args.tag else "")
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "row.json"
            command = [sys.executable, __file__, "--runs", spec, "--child", str(out), "--name", name]
            for k in passed:
                value = getattr(args, k)
                flag = f"--{k.replace('_', '-')}"
                if isinstance(value, bool):
                    command += [flag] if value else []
                else:
                    command += [flag, *value] if isinstance(value, list) else [f"{flag}={value}"]
            subprocess.run(command, check=True)
            row = json.loads(out.read_text())
        rows = json.loads(path.read_text()).get("rows", []) if path.exists() else []  # again: runs may overlap
        rows = [r for r in rows if r.get("name", r["model"]) != name] + [row]
        save("np_vs_gp", {"settings": {"note": "per-row settings in rows[i].settings; rows without 'name' are from "
                                       "an earlier session (load 20-33, clocks include scoring)"}, "rows": rows})
    named = [r for r in rows if "name" in r]  # this session's rows: training clocks exclude scoring
    plot(named)
    print_table([{k: v for k, v in r.items() if k not in ("settings", "curve", "model") and not k.startswith("gap_se")}
                 for r in named])


if __name__ == "__main__":
    main()
