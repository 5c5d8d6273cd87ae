"""Neural processes against the Bayes-optimal predictor on unseen 1-D GP tasks.

Each NP kind (CNP, latent NP, ANP) is trained with ``NPTrain`` on :class:`GPTasks`; on
``--tasks`` unseen tasks we score the per-point predictive log-likelihood of the held-out targets
(target points that are not context points) under the NP (a mixture over latent draws for latent
NPs) and under the true generating GP given the same context. The gap (true minus NP, nats per
point) is 0 for a perfect NP.

    python benchmarks/np_vs_gp.py [--steps 10000] [--tasks 512] [--kinds cnp,np,anp] [--width 32] [--lr 1e-3]

The 1-minute load average is recorded before and after each model (the machine is shared), so
training times can be read in context; the quality numbers do not depend on the load.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _common import print_table, save, setup_jax_cache


def heldout_log_likelihood(model, params, tasks, batch, key, num_samples: int):
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

    keys = jax.random.split(key, batch["x"].shape[0])
    ours, true = jax.jit(jax.vmap(one))(batch, keys)
    held_out = np.asarray(batch["target"] & ~batch["context"])
    return float(np.asarray(ours)[held_out].mean()), float(np.asarray(true)[held_out].mean())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=512)
    parser.add_argument("--kinds", default="cnp,np,anp")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    setup_jax_cache()

    import jax

    from uqlab.inference.neural_process import NPTrain
    from uqlab.models.neural_process import NeuralProcess
    from uqlab.problems.gp_tasks import GPTasks

    tasks = GPTasks()
    test_batch = tasks.sample(jax.random.PRNGKey(12345), args.tasks)  # unseen: training keys differ
    rows = []
    for kind in args.kinds.split(","):
        model = NeuralProcess(kind=kind, width=args.width)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        method = NPTrain(num_steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr, progress=False)
        post = method.fit(model, tasks, key=0)
        seconds = time.perf_counter() - start
        losses = np.asarray(post.info["losses"])
        tail = max(1, len(losses) // 20)
        ours, true = heldout_log_likelihood(model, post.params, tasks, test_batch, jax.random.PRNGKey(1), 32)
        rows.append({"model": kind, "steps": args.steps, "train_s": seconds, "np_ll": ours, "true_gp_ll": true,
                     "gap_nats_per_point": true - ours,
                     "train_loss_first_5pct": float(losses[:tail].mean()),
                     "train_loss_last_5pct": float(losses[-tail:].mean()),
                     "load_1min_before": load_before, "load_1min_after": os.getloadavg()[0]})
        print_table(rows[-1:])
        save("np_vs_gp", {"settings": vars(args), "rows": rows})  # after each model: partial results survive
    print_table(rows)


if __name__ == "__main__":
    main()
