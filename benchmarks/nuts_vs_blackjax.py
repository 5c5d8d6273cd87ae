"""uqlab NUTS against a raw BlackJAX NUTS loop on the same BNN log-density, in one process.

Two comparisons, runs alternating (uqlab, raw, uqlab, raw, ...) after an untimed warm-up call
so the persistent compilation cache is warm for both and machine noise hits both alike:

1. **Full run** (what a user pays for one fit): 4 chains under ``vmap``, Stan window adaptation,
   same warmup/sample counts and tree depth. uqlab: :func:`uqlab.inference.sampling.run_nuts` (our
   window adaptation, chunked scan). Raw: ``blackjax.window_adaptation(...).run`` under ``vmap``
   then a jitted ``lax.scan`` of the NUTS kernel, both traced afresh per call as in a user script.
   The two adaptations draw different random numbers, so step sizes and trajectory lengths
   differ; besides wall time we report seconds per 1000 gradient evaluations in sampling and
   ESS per second of the predictions (function-space bulk ESS at 16 training inputs).
2. **Sampling only, same tuning**: both start from the raw run's warmed-up states, step sizes
   and mass matrices with the same keys; uqlab's ``fixed_sampler`` through the driver (``Session.run``)
   against a plain ``lax.scan``. The first draws agree to float rounding; the ratio is uqlab's overhead.

3. **NumPyro** (``numpyro.infer.NUTS`` with ``potential_fn`` = the same negative log density, the
   same starts, 4 vectorized chains, same warmup/sample counts and tree depth) joins the full-run
   comparison: predictive ESS per second, uqlab / NumPyro.
4. **First fit in a fresh process** (``--fresh``), what a notebook user waits for: a subprocess
   per library with an empty compilation cache times its first call, compilation included:
   ``uqlab.fit(model, data, NUTS(...))`` against ``MCMC(NUTS(potential_fn=...)).run``.

    python benchmarks/nuts_vs_blackjax.py [--warmup 200] [--samples 200] [--repeats 2] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _common import load_average, print_table, save, setup_jax_cache, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--depth", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--fresh", action="store_true", help="also time the first fit in fresh processes")
    parser.add_argument("--first-fit", choices=("uqlab", "numpyro"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_fit:
        return first_fit(args)
    setup_jax_cache()
    load_before = load_average()

    import blackjax
    import jax
    import numpy as np

    import uqlab
    from uqlab._convert import to_jax
    from uqlab.diagnostics.sampler import chain_diagnostics
    from uqlab.inference.driver import Session
    from uqlab.inference.kernels.hamiltonian import SamplerState, fixed_sampler, nuts_transition
    from uqlab.inference.sampling import run_nuts
    from uqlab.models.base import log_joint

    problem = uqlab.problems.load("toy1d", num_train=100)
    data, model = problem.data, problem.make_model()
    x, y = to_jax(data.standardized())
    logdensity = lambda p: log_joint(model, p, {"x": x, "y": y}, data.num_points)  # noqa: E731
    init_key, run_key = jax.random.split(jax.random.PRNGKey(0))
    positions = jax.vmap(model.init)(jax.random.split(init_key, args.chains))
    x_eval = x[np.linspace(0, data.num_points - 1, 16).astype(int)]
    kernel = blackjax.nuts.build_kernel()
    # with thinning=1 uqlab's fixed_sampler hands each step's key to the transition: give the raw
    # loop the same keys, so that equal tuning gives equal draws.
    sample_keys = jax.random.split(jax.random.PRNGKey(1), args.samples * args.chains).reshape(args.samples, args.chains, -1)
    raw_keys = sample_keys

    def chain_major(tree):
        return jax.tree_util.tree_map(lambda a: np.swapaxes(np.asarray(a), 0, 1), tree)

    def raw_sample(states, step_size, imm):
        """A plain jitted scan of vmapped NUTS steps; returns positions and gradient counts."""

        def one_step(states, keys):
            step = lambda k, s, e, m: kernel(k, s, logdensity, e, m, max_num_doublings=args.depth)  # noqa: E731
            states, info = jax.vmap(step)(keys, states, step_size, imm)
            return states, (states.position, info.num_integration_steps)

        return jax.jit(lambda s, k: jax.lax.scan(one_step, s, k)[1])(states, raw_keys)

    def raw_warmup():
        warmup = blackjax.window_adaptation(blackjax.nuts, logdensity, max_num_doublings=args.depth)
        keys = jax.random.split(run_key, args.chains)
        (states, params), _ = jax.jit(jax.vmap(lambda k, p: warmup.run(k, p, args.warmup)))(keys, positions)
        return states, params["step_size"], params["inverse_mass_matrix"]

    def raw_full():
        draws, steps = raw_sample(*raw_warmup())
        return chain_major(draws), int(np.sum(steps))

    def uqlab_full():
        draws, stats, _ = run_nuts(logdensity, positions, run_key, num_warmup=args.warmup, num_samples=args.samples,
                                   max_tree_depth=args.depth, progress=False)
        return draws, int(stats["num_gradient_evals"].sum())

    def numpyro_full():
        from numpyro.infer import MCMC
        from numpyro.infer import NUTS as NumPyroNUTS

        kernel = NumPyroNUTS(potential_fn=lambda p: -logdensity(p), max_tree_depth=args.depth)
        mcmc = MCMC(kernel, num_warmup=args.warmup, num_samples=args.samples, num_chains=args.chains,
                    chain_method="vectorized", progress_bar=False)
        mcmc.run(run_key, init_params=positions, extra_fields=("num_steps",))
        steps = np.asarray(mcmc.get_extra_fields()["num_steps"])
        return mcmc.get_samples(group_by_chain=True), int(steps[-args.samples * args.chains:].sum())

    tuned = jax.block_until_ready(raw_warmup())  # shared tuning for comparison 2

    def raw_sampling_only():
        return chain_major(raw_sample(*tuned)[0])

    def uqlab_sampling_only():
        sampler = fixed_sampler(logdensity, nuts_transition(args.depth), thinning=1)
        # the driver splits PRNGKey(1) into the same (samples, chains) keys as sample_keys
        return Session("NUTS", progress=False).run(
            sampler, SamplerState(*tuned), jax.random.PRNGKey(1), num_steps=args.samples, members=args.chains,
            position=lambda s: s.chain.position,
        ).draws

    def prediction_ess(draws):
        flat = jax.tree_util.tree_map(lambda a: a.reshape(-1, *a.shape[2:]), draws)
        loc = jax.vmap(lambda p: model.apply(p, x_eval)[0])(flat)
        return float(np.median(chain_diagnostics(np.asarray(loc).reshape(args.chains, args.samples, -1))["ess_bulk"]))

    full = {"uqlab": uqlab_full, "blackjax": raw_full, "numpyro": numpyro_full}
    sampling = {"uqlab": uqlab_sampling_only, "blackjax": raw_sampling_only}
    for run in [*full.values(), *sampling.values()]:  # fill the compilation cache, untimed
        jax.block_until_ready(run())
    times = {f"{kind}:{name}": [] for kind, runs in (("full", full), ("sampling", sampling)) for name in runs}
    results = {}
    for _ in range(args.repeats):
        for name in full:
            (draws, grads), seconds, _ = timed(full[name])
            times[f"full:{name}"].append(seconds)
            results[name] = {"grads": grads, "ess": prediction_ess(draws)}
        for name in sampling:
            draws, seconds, _ = timed(sampling[name])
            times[f"sampling:{name}"].append(seconds)
            results[f"draws:{name}"] = draws
    # Same tuning and keys: the chains agree until float rounding (XLA fuses the two loops
    # differently) separates them; report how far apart the first draws are.
    first_draw_gap = max(float(np.max(np.abs(a[:, 0] - b[:, 0]))) for a, b in zip(
        jax.tree_util.tree_leaves(results["draws:uqlab"]), jax.tree_util.tree_leaves(results["draws:blackjax"])))

    rows = []
    for name in full:
        best = min(times[f"full:{name}"])
        rows.append({
            "runner": name, "full_s": best, "full_s_all": [round(t, 2) for t in times[f"full:{name}"]],
            "sampling_grads": results[name]["grads"], "median_pred_ess": results[name]["ess"],
            "pred_ess_per_s": results[name]["ess"] / best,
            "same_tuning_sampling_s": min(times[f"sampling:{name}"]) if name in sampling else None,
        })
    full_ratio = rows[0]["full_s"] / rows[1]["full_s"]
    sampling_ratio = rows[0]["same_tuning_sampling_s"] / rows[1]["same_tuning_sampling_s"]
    ess_ratio = rows[0]["pred_ess_per_s"] / rows[2]["pred_ess_per_s"]
    print_table(rows)
    print(f"full run wall-time ratio uqlab / raw BlackJAX: {full_ratio:.3f} (target <= 1.03)")
    print(f"predictive ESS per second uqlab / NumPyro: {ess_ratio:.3f} (target >= 1.0)")
    print(f"same-tuning sampling ratio uqlab / raw BlackJAX: {sampling_ratio:.3f}; max |first draw difference|: {first_draw_gap:.2e}")
    fresh = fresh_processes(args) if args.fresh else None
    save("nuts_vs_blackjax", {
        "settings": vars(args), "rows": rows,
        "full_ratio": full_ratio, "sampling_ratio": sampling_ratio, "first_draw_max_abs_difference": first_draw_gap,
        "pred_ess_per_s_ratio_vs_numpyro": ess_ratio, "first_fit_fresh_process_s": fresh,
    }, load_before=load_before)


def fresh_processes(args) -> dict:
    """Seconds of the first fit (compilation included) in a fresh process per library, empty cache."""
    seconds = {}
    for name in ("uqlab", "numpyro"):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache, "JAX_PLATFORMS": "cpu", "UQLAB_PROGRESS": "0"}
            command = [sys.executable, __file__, "--first-fit", name, "--warmup", str(args.warmup), "--samples",
                       str(args.samples), "--chains", str(args.chains), "--depth", str(args.depth)]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
            seconds[name] = json.loads(out.strip().splitlines()[-1])["seconds"]
    seconds["ratio_uqlab_over_numpyro"] = seconds["uqlab"] / seconds["numpyro"]
    print(f"first fit in a fresh process: uqlab {seconds['uqlab']:.1f} s, NumPyro {seconds['numpyro']:.1f} s, "
          f"ratio {seconds['ratio_uqlab_over_numpyro']:.2f} (target <= 1.1)")
    return seconds


def first_fit(args) -> None:
    """One timed first fit (run in a subprocess by :func:`fresh_processes`); prints JSON."""
    import jax

    import uqlab
    from uqlab._convert import to_jax
    from uqlab.inference.nuts import NUTS
    from uqlab.models.base import log_joint

    problem = uqlab.problems.load("toy1d", num_train=100)
    data, model = problem.data, problem.make_model()
    start = time.perf_counter()
    if args.first_fit == "uqlab":
        uqlab.fit(model, data, NUTS(num_warmup=args.warmup, num_samples=args.samples, num_chains=args.chains,
                                    max_tree_depth=args.depth, progress=False), key=0)
    else:
        from numpyro.infer import MCMC
        from numpyro.infer import NUTS as NumPyroNUTS

        x, y = to_jax(data.standardized())
        potential = lambda p: -log_joint(model, p, {"x": x, "y": y}, data.num_points)  # noqa: E731
        init_key, run_key = jax.random.split(jax.random.PRNGKey(0))
        positions = jax.vmap(model.init)(jax.random.split(init_key, args.chains))
        mcmc = MCMC(NumPyroNUTS(potential_fn=potential, max_tree_depth=args.depth), num_warmup=args.warmup,
                    num_samples=args.samples, num_chains=args.chains, chain_method="vectorized", progress_bar=False)
        mcmc.run(run_key, init_params=positions)
        jax.block_until_ready(mcmc.get_samples())
    print(json.dumps({"seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
