"""uqlab SGLD / SGHMC against a raw BlackJAX ``lax.scan`` loop on the same BNN, in one process.

Both run the same chains under ``vmap`` with the same kernel, minibatch size (drawn without
replacement each step inside the scan), step count and thinning; the raw loop is one jitted
``lax.scan`` (outer: kept draws, inner: thinning steps) with no progress bar. Runs alternate
(uqlab, raw, uqlab, raw, ...) after a compile-only warm-up so machine noise hits both alike.
Reported: steps per second (one step = one update of every chain) and the ratio uqlab / raw
(target >= 0.95). uqlab's time is ``fit`` end to end (scan driver, buffers, re-jit of a new fit, and
the chain diagnostics every fit with several chains now computes: R-hat/ESS of the weights and of
the predictions via ArviZ), and separately the driver's sampling phase alone
(``info.phase_seconds``), which is what the raw loop does.

    python benchmarks/sgmcmc_throughput.py [--samples 500] [--thinning 10] [--repeats 2]
"""

from __future__ import annotations

import argparse

from _common import load_average, print_table, save, setup_jax_cache, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--thinning", type=int, default=10)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    setup_jax_cache()
    load_before = load_average()

    import blackjax
    import jax
    import numpy as np

    import uqlab
    from uqlab._convert import to_jax
    from uqlab.inference.sgmcmc import SGHMC, SGLD
    from uqlab.models.base import log_joint

    problem = uqlab.problems.load("toy1d", num_train=args.train)
    data, model = problem.data, problem.make_model()
    x, y = to_jax(data.standardized())
    n, steps = data.num_points, args.samples * args.thinning
    grad_fn = jax.grad(lambda p, batch: log_joint(model, p, batch, n))
    common = dict(batch_size=args.batch, num_samples=args.samples, num_burnin=0, thinning=args.thinning,
                  num_chains=args.chains, progress=False)
    samplers = {
        "sgld": (SGLD(step_size=1e-5, **common), blackjax.sgld.build_kernel(), ()),
        "sghmc": (SGHMC(step_size=1e-5, num_integration_steps=10, **common), blackjax.sghmc.build_kernel(0.1), (10,)),
    }

    def raw_loop(kernel, extra, step_size):
        def update(key, position):
            batch_key, move_key = jax.random.split(key)
            index = jax.random.choice(batch_key, n, (args.batch,), replace=False)
            return kernel(move_key, position, grad_fn, {"x": x[index], "y": y[index]}, step_size, *extra)

        def draw(positions, keys):
            positions, _ = jax.lax.scan(lambda p, k: (jax.vmap(update)(k, p), None), positions, keys)
            return positions, positions

        @jax.jit
        def run(key, positions):
            keys = jax.random.split(key, steps * args.chains).reshape(args.samples, args.thinning, args.chains, -1)
            return jax.lax.scan(draw, positions, keys)[1]

        return run

    positions = jax.vmap(model.init)(jax.random.split(jax.random.PRNGKey(1), args.chains))
    rows = []
    for name, (method, kernel, extra) in samplers.items():
        raw = raw_loop(kernel, extra, method.step_size)

        phases = []

        def uqlab_run(method=method, phases=phases):
            post = uqlab.fit(model, data, method, key=0)
            phases.append(post.info.phase_seconds[type(method).__name__])
            return post.particles

        def raw_run(raw=raw):
            return jax.block_until_ready(raw(jax.random.PRNGKey(0), positions))

        uqlab_run(), raw_run()  # compile
        times = {"uqlab": [], "raw": []}
        for _ in range(args.repeats):
            for label, fn in (("uqlab", uqlab_run), ("raw", raw_run)):
                times[label].append(timed(fn).seconds)
        uq, rw = steps / np.median(times["uqlab"]), steps / np.median(times["raw"])
        phase = steps / np.median(phases[1:])
        rows.append({"sampler": name, "chains": args.chains, "steps": steps, "uqlab_steps_per_s": uq,
                     "uqlab_sampling_phase_steps_per_s": phase, "raw_steps_per_s": rw, "ratio_fit": uq / rw,
                     "ratio_sampling_phase": phase / rw})
    print_table(rows)
    save("sgmcmc_throughput", {"settings": vars(args), "rows": rows}, load_before=load_before)


if __name__ == "__main__":
    main()
