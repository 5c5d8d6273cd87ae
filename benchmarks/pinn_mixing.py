"""NUTS mixing on physics-informed posteriors: ESS per gradient evaluation of each metric option.

All options start from the same L-BFGS-finished MAP starts (one per chain, as ``NUTS(init="map")``
makes them) on the sampler's own log density, run ``--chains`` chains one after another with
their own warmup, and are scored on the inferred coefficient (its R-hat and bulk ESS over the
chains) and the predictions at 16 training inputs (max R-hat, min bulk ESS):

- ``diag``: BlackJAX ``window_adaptation`` with a diagonal mass matrix (what uqlab runs today).
- ``dense``: the same with a dense mass matrix (``is_mass_matrix_diagonal=False``).
- ``laplace``: a Hessian (Laplace) preconditioner: sample ``z`` with ``theta = theta_map + L z``,
  ``L L^T = (H + floor)^-1``, ``H = -hess log p`` at the chain's start (eigenvalues clipped at
  ``floor = max(1, 1e-5 max eig)``: the float32 Hessian's noise), then a diagonal
  ``window_adaptation`` on ``z``. Costs one Hessian per chain (``d`` Hessian-vector products,
  counted as ``2 d`` gradient evaluations).
- ``mclmc``: microcanonical Langevin with uqlab's kernels (``uqlab.inference.kernels.mclmc``:
  BlackJAX's ``mclmc`` and its ``mclmc_find_L_and_step_size`` tuning; two gradients per step),
  ``--thinning`` steps per kept draw, as ``uqlab.fit(..., "mclmc")`` runs it.

The coefficient is already sampled as its logarithm in every option (uqlab's ``LogNormal``
coefficients), so "reparameterising nu" is the baseline here, not an option.

The starts (the costly part on Burgers) can be kept in a file and reused by a later run with
``--starts FILE`` (written when missing), so that each option can be timed in its own run.

    python benchmarks/pinn_mixing.py --problem diffusion-reaction-inverse [--quick] \
        [--chains 4] [--warmup 300] [--samples 300] [--depth 7] [--thinning 10] \
        [--options diag,dense,laplace,mclmc] [--starts FILE] [--tag NAME] [--same-start]

``--same-start`` starts every chain from the highest-density start: R-hat then measures mixing
within that one optimum only (a diagnostic, not a convergence check).
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from _common import load_average, print_table, save, setup_jax_cache, timed


def _chain_draws(flat_draws, unravel, model, posterior_x):
    """Coefficient and predictions per draw of one chain: ``({name: (N,)}, (N, points))``."""
    import jax

    def one(z):
        params = unravel(z)
        return model.quantities(params), model.apply(params, posterior_x)[0][:, 0]

    return jax.lax.map(one, flat_draws)


def _nuts_chain(logdensity, position, key, *, warmup, samples, depth, dense, thinning=1):
    del thinning
    import blackjax
    import jax

    adaptation = blackjax.window_adaptation(blackjax.nuts, logdensity, is_mass_matrix_diagonal=not dense,
                                            max_num_doublings=depth)
    warm_key, sample_key = jax.random.split(key)
    (state, parameters), info = adaptation.run(warm_key, position, num_steps=warmup)
    kernel = blackjax.nuts(logdensity, **parameters).step  # parameters hold max_num_doublings

    def step(state, k):
        state, info = kernel(k, state)
        return state, (state.position, info.num_integration_steps, info.is_divergent)

    _, (draws, steps, divergent) = jax.lax.scan(step, state, jax.random.split(sample_key, samples))
    return draws, info.info.num_integration_steps.sum() + steps.sum(), divergent.sum()


def _mclmc_chain(logdensity, position, key, *, warmup, samples, depth, thinning):
    """uqlab's MCLMC kernels (``uqlab.inference.kernels.mclmc``): BlackJAX's tuning for a run of
    ``thinning x samples`` steps, then that run, keeping every ``thinning``-th step."""
    import jax

    from uqlab.inference.kernels.mclmc import GRADIENTS_PER_STEP, mclmc, mclmc_tuning
    from uqlab.inference.kernels.mclmc import position as offset_position

    del warmup, depth
    steps = thinning * samples
    init_key, tune_key, run_key = jax.random.split(key, 3)
    kernel, tuning = mclmc(logdensity), mclmc_tuning(logdensity, steps)
    state, info = tuning.update(tune_key, kernel.init(position, init_key), {})

    def step(state, k):
        state, _ = kernel.update(k, state, {})
        return state, offset_position(state)

    _, draws = jax.lax.scan(step, state, jax.random.split(run_key, steps))
    evals = GRADIENTS_PER_STEP * (info.num_integrator_steps + steps)
    return draws[thinning - 1::thinning], evals, jax.numpy.zeros((), int)


def _laplace_chain(logdensity, position, key, *, warmup, samples, depth, thinning):
    import jax
    import jax.numpy as jnp

    hess = -jax.hessian(logdensity)(position)
    eig, vecs = jnp.linalg.eigh(0.5 * (hess + hess.T))
    floor = jnp.maximum(1.0, 1e-5 * eig.max())
    scale = vecs * (1.0 / jnp.sqrt(jnp.clip(eig, floor)))  # L = V diag(eig^-1/2)
    z_logdensity = lambda z: logdensity(position + scale @ z)  # noqa: E731
    draws, evals, divergent = _nuts_chain(z_logdensity, jnp.zeros_like(position), key, warmup=warmup,
                                          samples=samples, depth=depth, dense=False)
    draws = position + draws @ scale.T
    return draws, evals + 2 * position.size, divergent


SAMPLERS = {"diag": lambda *a, **k: _nuts_chain(*a, **k, dense=False),
            "dense": lambda *a, **k: _nuts_chain(*a, **k, dense=True),
            "laplace": _laplace_chain, "mclmc": _mclmc_chain}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problem", default="diffusion-reaction-inverse")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--depth", type=int, default=7)
    parser.add_argument("--options", default="diag,dense,laplace,mclmc")
    parser.add_argument("--thinning", type=int, default=10, help="MCLMC steps per kept draw")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--starts", default=None, help="npz file of the optimised starts (reused if present)")
    parser.add_argument("--tag", default="", help="suffix of the result file name")
    parser.add_argument("--same-start", action="store_true",
                        help="every chain from the highest-density start (a diagnostic of mixing within one optimum)")
    args = parser.parse_args()
    os.environ.setdefault("UQLAB_PROGRESS", "0")
    load_before = load_average()
    setup_jax_cache()

    import jax
    from jax.flatten_util import ravel_pytree

    from uqlab import problems
    from uqlab._chains import chain_diagnostics
    from uqlab.inference.starts import optimize_starts
    from uqlab.inference.targets import make_target

    problem = problems.load(args.problem, quick=args.quick)
    model, data = problem.make_model(), problem.data
    settings = problem.method_settings["nuts"]
    target = make_target(model, data, "bench")
    key = jax.random.PRNGKey(args.seed)
    template = jax.tree_util.tree_map(lambda a: a[0], target.init(jax.random.split(key, 1)))
    unravel = ravel_pytree(template)[1]
    if args.starts and os.path.exists(args.starts):
        with np.load(args.starts) as saved:
            flat_starts = list(jax.numpy.asarray(saved["starts"]))
            start_seconds, start_evals = float(saved["seconds"]), int(saved["evals"])
    else:
        (starts, _, start_evals), start_seconds, _ = timed(
            optimize_starts, target.logdensity, target.init(jax.random.split(key, args.chains)), jax.random.fold_in(key, 1),
            num_steps=settings["init_steps"], learning_rate=settings["init_learning_rate"], vectorize=False,
            objective=target.training_logdensity, lbfgs_steps=settings["init_lbfgs_steps"], progress=False)
        flat_starts = [ravel_pytree(jax.tree_util.tree_map(lambda a, c=c: a[c], starts))[0] for c in range(args.chains)]
        if args.starts:
            np.savez(args.starts, starts=np.stack(flat_starts), seconds=start_seconds, evals=start_evals)
    if len(flat_starts) != args.chains:
        raise ValueError(f"--starts: {args.starts} holds {len(flat_starts)} starts, expected --chains {args.chains}")
    flat_logdensity = jax.jit(lambda z: target.logdensity(unravel(z)))
    start_rows = [{"log_density": float(flat_logdensity(z)),
                   **{k: float(v) for k, v in model.quantities(unravel(z)).items()}} for z in flat_starts]
    print_table(start_rows)
    if args.same_start:
        best = int(np.argmax([row["log_density"] for row in start_rows]))
        flat_starts = [flat_starts[best]] * args.chains
    index = np.linspace(0, len(data.x) - 1, min(16, len(data.x))).round().astype(int)
    x_pred = jax.numpy.asarray(data.x[index], jax.numpy.result_type(float))
    rows = []
    for option in args.options.split(","):
        sampler = jax.jit(lambda z, k, option=option: SAMPLERS[option](
            flat_logdensity, z, k, warmup=args.warmup, samples=args.samples, depth=args.depth, thinning=args.thinning))
        def run_chains(sampler=sampler):
            coefficient, predictions, evals, divergent = [], [], 0, 0
            for c, z0 in enumerate(flat_starts):
                draws, chain_evals, chain_divergent = sampler(z0, jax.random.fold_in(key, 100 + c))
                quantities, preds = _chain_draws(draws, unravel, model, x_pred)
                coefficient.append(np.log(np.asarray(next(iter(quantities.values())), np.float64)))
                predictions.append(np.asarray(preds, np.float64))
                evals, divergent = evals + int(chain_evals), divergent + int(chain_divergent)
            return coefficient, predictions, evals, divergent

        (coefficient, predictions, evals, divergent), seconds, _ = timed(run_chains)
        coef = chain_diagnostics(np.stack(coefficient)[..., None])
        pred = chain_diagnostics(np.stack(predictions))
        name = next(iter(model.quantities(unravel(flat_starts[0]))))
        values = np.exp(np.concatenate(coefficient))
        rows.append({
            "option": option, f"rhat(log {name})": float(coef["rhat"][0]), f"ess_bulk(log {name})": float(coef["ess_bulk"][0]),
            "pred_rhat_max": float(pred["rhat"].max()), "pred_ess_bulk_min": float(pred["ess_bulk"].min()),
            "gradient_evals": evals, "ess_per_1k_grads": 1000 * float(coef["ess_bulk"][0]) / evals,
            "divergences": divergent, "seconds": seconds, "seconds_with_starts": seconds + start_seconds, f"{name}_mean": float(values.mean()),
            f"{name}_2.5%": float(np.quantile(values, 0.025)), f"{name}_97.5%": float(np.quantile(values, 0.975)),
            "truth": problem.truth.get(name),
        })
        print_table(rows[-1:])
    print_table(rows)
    save(f"pinn_mixing_{args.problem}{'_quick' if args.quick else ''}{args.tag}", {
        "problem": args.problem, "quick": args.quick, "chains": args.chains, "warmup": args.warmup,
        "samples": args.samples, "max_tree_depth": args.depth, "mclmc_thinning": args.thinning,
        "start_seconds": start_seconds,
        "start_gradient_evals": start_evals, "starts": start_rows, "same_start": args.same_start, "rows": rows,
    }, load_before=load_before)


if __name__ == "__main__":
    main()
