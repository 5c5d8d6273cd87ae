"""Neural processes against the Bayes-optimal predictor on unseen 1-D GP tasks.

Each NP kind (CNP, latent NP, ANP) is trained with ``NPTrain`` on :class:`GPTasks`; on
``--tasks`` unseen tasks we score the per-point predictive log-likelihood of the held-out targets
(target points that are not context points) under the NP (a mixture over latent draws for latent
NPs) and under the true generating GP given the same context. The gap (true minus NP, nats per
point) is 0 for a perfect NP.

    python benchmarks/np_vs_gp.py [--steps 20000] [--tasks 512] [--kinds cnp,np,anp]
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=512)
    parser.add_argument("--kinds", default="cnp,np,anp")
    parser.add_argument("--width", type=int, default=64)
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
        start = time.perf_counter()
        post = NPTrain(num_steps=args.steps, progress=False).fit(model, tasks, key=0)
        seconds = time.perf_counter() - start
        ours, true = heldout_log_likelihood(model, post.params, tasks, test_batch, jax.random.PRNGKey(1), 32)
        rows.append({"model": kind, "steps": args.steps, "train_s": seconds, "np_ll": ours, "true_gp_ll": true,
                     "gap_nats_per_point": true - ours})
    print_table(rows)
    save("np_vs_gp", {"settings": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
