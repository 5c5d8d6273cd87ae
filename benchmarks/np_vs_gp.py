"""Neural processes against the Bayes-optimal predictor on unseen 1-D GP tasks.

Each NP kind (CNP, latent NP, ANP) is trained with ``NPTrain`` on :class:`GPTasks`; on
``--tasks`` unseen tasks we score the per-point predictive log-likelihood of the held-out targets
(target points that are not context points) under the NP (a mixture over latent draws for latent
NPs) and under the true generating GP given the same context. The gap (true minus NP, nats per
point) is 0 for a perfect NP.

    python benchmarks/np_vs_gp.py [--steps 10000] [--tasks 512] [--kinds cnp,np,anp] [--width 32] [--lr 1e-3]

The 1-minute load average is recorded before and after each model (the machine is shared), so
training times can be read in context; the quality numbers do not depend on the load.

Each kind is trained in a fresh Python subprocess (``--child``): training a second model in the
same process hung twice (all threads waiting, no CPU), and a fresh process per model also keeps
one model's compilation and memory out of the next one's timing. Rows are merged into the
existing ``results/np_vs_gp.json`` by model kind (a re-run replaces that kind's row only), and
each row carries the settings it was run with.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
from _common import RESULTS, load_average, print_table, save, setup_jax_cache, timed


def heldout_log_likelihood(model, params, tasks, batch, key, num_samples: int, chunk: int = 64):
    """Mean per-point log-likelihood of held-out targets: ``(np_value, true_gp_value)``."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    from uqlab.models.likelihoods import gaussian_log_prob

    def one(task, k):
        loc, scale = model.predict(params, task["x"], task["y"], task["context"], task["x"], k, num_samples)
        log_p = logsumexp(gaussian_log_prob(task["y"], loc, scale)[..., 0], axis=0) - jnp.log(loc.shape[0])
        true_loc, true_scale = tasks.true_predictive(task)
        return log_p, gaussian_log_prob(task["y"], true_loc, true_scale)[:, 0]

    num_tasks = batch["x"].shape[0]
    keys = jax.random.split(key, num_tasks)
    held_out = np.asarray(batch["target"]) & ~np.asarray(batch["context"])
    score = jax.jit(jax.vmap(one))
    ours, true = [], []
    # Chunks of tasks, each brought to numpy before the next is dispatched: one 512-task program
    # for the ANP hung in about 2 of 3 runs (XLA CPU, jax 0.10.2: every thread idle, the host
    # waiting on the result forever); chunks of 64 have not.
    for start in range(0, num_tasks, chunk):
        part = jax.tree_util.tree_map(lambda a, s=start: a[s:s + chunk], (batch, keys))
        values = jax.block_until_ready(score(*part))
        ours.append(np.asarray(values[0]))
        true.append(np.asarray(values[1]))
    ours, true = np.concatenate(ours), np.concatenate(true)
    return float(ours[held_out].mean()), float(true[held_out].mean())


def train_and_score(kind: str, args) -> dict:
    """Train one NP kind and score it on unseen tasks; the result row."""
    import jax

    from uqlab.inference.neural_process import NPTrain
    from uqlab.models.neural_process import NeuralProcess
    from uqlab.problems.gp_tasks import GPTasks

    tasks = GPTasks()
    test_batch = tasks.sample(jax.random.PRNGKey(12345), args.tasks)  # unseen: training keys differ
    model = NeuralProcess(kind=kind, width=args.width)
    load_before = load_average()[0]
    method = NPTrain(num_steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr, progress=False)
    post, seconds, _ = timed(method.fit, model, tasks, key=0)
    losses = np.asarray(post.info["losses"])
    tail = max(1, len(losses) // 20)
    ours, true = heldout_log_likelihood(model, post.params, tasks, test_batch, jax.random.PRNGKey(1), 32)
    return {"model": kind, "steps": args.steps, "train_s": seconds, "np_ll": ours, "true_gp_ll": true,
            "gap_nats_per_point": true - ours,
            "train_loss_first_5pct": float(losses[:tail].mean()),
            "train_loss_last_5pct": float(losses[-tail:].mean()),
            "load_1min_before": load_before, "load_1min_after": load_average()[0],
            "settings": {"tasks": args.tasks, "width": args.width, "lr": args.lr, "batch_size": args.batch_size}}


def _previous_rows() -> list[dict]:
    path = RESULTS / "np_vs_gp.json"
    if not path.exists():
        return []
    old = json.loads(path.read_text())
    rows = old.get("rows", [])
    for row in rows:  # rows from before per-row settings: they ran with the file's settings
        row.setdefault("settings", {k: old["settings"][k] for k in ("tasks", "width", "lr", "batch_size")
                                    if k in old.get("settings", {})})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=512)
    parser.add_argument("--kinds", default="cnp,np,anp")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: write one row here
    args = parser.parse_args()
    if args.child:
        setup_jax_cache()
        row = train_and_score(args.kinds, args)
        pathlib.Path(args.child).write_text(json.dumps(row, default=float))
        return
    rows = _previous_rows()
    for kind in args.kinds.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "row.json"
            command = [sys.executable, __file__, "--kinds", kind, "--child", str(out), "--steps", str(args.steps),
                       "--tasks", str(args.tasks), "--width", str(args.width), "--lr", str(args.lr),
                       "--batch-size", str(args.batch_size)]
            subprocess.run(command, check=True)
            row = json.loads(out.read_text())
        rows = [r for r in rows if r["model"] != kind] + [row]
        print_table([{k: v for k, v in row.items() if k != "settings"}])
        save("np_vs_gp", {"settings": {"note": "per-row settings in rows[i].settings"}, "rows": rows})
    print_table([{k: v for k, v in r.items() if k != "settings"} for r in rows])


if __name__ == "__main__":
    main()
