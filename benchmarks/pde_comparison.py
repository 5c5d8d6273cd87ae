"""Neural-PDE UQ comparison: HMC (NUTS), MC dropout and deep ensembles on Burgers and Navier-Stokes.

Two parts, results merged into ``benchmarks/results/pde_comparison.json`` (written atomically):

``compare`` (default): per problem, fit the three methods at the default settings (``--quick`` or
``--full`` to change) or read the comparison that ``python -m uqlab compare --problem P --out DIR``
saved (``--from-saved DIR``, so one run serves the report and the benchmark), and record per
method the fit time, gradient evaluations per second, field metrics (RMSE, NLL, CRPS, coverage of
50/90/95% intervals of the noise-free field, relative L2 error of the mean), the over/under-
confidence verdict and, for inverse problems, the estimate of ``nu`` with its 95% interval,
whether it covers the truth and the relative error.

``throughput``: HMC's gradient throughput on the physics-informed Burgers model (the default
inverse model: 4 x 20 tanh net with adaptive slopes, 2,000 observations, 1,000 collocation points)
against a hand-written, jitted log density of the same model (same numbers: checked to agree)
whose gradient runs in a ``lax.scan``. HMC's rate is the difference of two runs of different
length (warmup and tracing cancel; the persistent compilation cache is on, so repeated fits do
not recompile, whose time varies by seconds between runs and swamped the difference before),
interleaved with the hand-written runs; the target ratio is >= 0.9.

Usage::

    python benchmarks/pde_comparison.py compare --from-saved uqlab-out
    python benchmarks/pde_comparison.py throughput
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib

from _common import RESULTS, load_average, save_entry, setup_jax_cache, timed

PROBLEMS = "burgers-inverse,burgers-forward,ns-inverse,ns-forward"


def record(comparison, mode: str, wall: float | None) -> dict:
    """The JSON-ready record of one problem's comparison.

    Gradient evaluations are the typed info's ``total_gradient_evals`` (every phase: starts,
    warmup, sampling or training), None for a saved comparison from before that record.
    """
    from uqlab.problems.pde import coefficient_summary, confidence_summary

    summary = comparison.summary()
    speed = {}
    for method, info in comparison.infos.items():
        seconds = summary[method]["fit_seconds"][0]
        evals = info.get("total_gradient_evals")
        speed[method] = {"fit_seconds": seconds, "gradient_evals": evals,
                         "gradient_evals_per_second": None if evals is None else evals / seconds}
    return {
        "wall_seconds": wall,
        "mode": mode,
        "description": comparison.meta.get("description"),
        "num_train": comparison.meta["num_train"],
        "num_test": comparison.meta["num_test"],
        "speed": speed,
        "metrics": {m: {k: v[0] for k, v in cols.items()} for m, cols in summary.items()},
        "confidence": confidence_summary(comparison),
        "coefficient": coefficient_summary(comparison),
        "infos": comparison.infos,
    }


def run(problem: str, methods: list[str], *, quick: bool, full: bool, saved: str | None) -> dict:
    """Compare ``methods`` on ``problem`` (or load the saved comparison); returns the record."""
    from uqlab import problems
    from uqlab.diagnostics.compare import Comparison
    from uqlab.study import compare

    mode = "quick" if quick else "full" if full else "default"
    spec = problems.load(problem, quick=quick, **({"full": True} if full else {}))
    if saved is not None:
        comparison, wall = Comparison.load(pathlib.Path(saved) / f"comparison-{problem}"), None
    else:
        comparison, wall, _ = timed(compare, methods, problem=spec)
    out = record(comparison, mode, wall)
    print(comparison.to_text())
    print(json.dumps({k: out[k] for k in ("speed", "confidence", "coefficient")}, indent=1, default=float))
    return out


# ---------------------------------------------------------------------------------------------
# HMC gradient throughput against a hand-written jitted loss
# ---------------------------------------------------------------------------------------------


def hand_written_log_density(model, data):
    """The PINN log joint written out by hand: MLP with adaptive slopes, jvp derivatives, Gaussians."""
    import jax
    import jax.numpy as jnp

    x, y = jnp.asarray(data.x, jnp.float32), jnp.asarray(data.y, jnp.float32)
    z = jnp.asarray(model.collocation.values, jnp.float32)
    (x_low, x_high), (t_low, t_high) = model.equation.domain
    low, span = jnp.array([x_low, t_low]), jnp.array([x_high - x_low, t_high - t_low])
    sigma, sigma_r = model.likelihood.noise_scale, model.residual_scale
    nu_loc, nu_scale = model.log_nu_prior
    slope_loc, slope_scale = model.log_slope_prior
    e_x, e_t = jnp.zeros_like(z).at[:, 0].set(1.0), jnp.zeros_like(z).at[:, 1].set(1.0)

    def gauss(v, loc, scale):
        return jnp.sum(-0.5 * ((v - loc) / scale) ** 2 - jnp.log(scale) - 0.5 * math.log(2 * math.pi))

    def log_density(params):
        layers = params["net"]

        def net(points):
            h = 2.0 * (points - low) / span - 1.0
            for layer, s in zip(layers[:-1], params["log_slope"]):
                h = jnp.tanh(jnp.exp(s) * (h @ layer["w"] + layer["b"]))
            return model.output_scale * (h @ layers[-1]["w"] + layers[-1]["b"])

        u_x_fn = lambda p: jax.jvp(net, (p,), (e_x,))[1]  # noqa: E731
        u_x, u_xx = jax.jvp(u_x_fn, (z,), (e_x,))
        u, u_t = jax.jvp(net, (z,), (e_t,))
        residual = u_t + u * u_x - jnp.exp(params["log_nu"]) * u_xx
        prior = sum(gauss(lay["w"], 0.0, lay["w"].shape[0] ** -0.5) + gauss(lay["b"], 0.0, 1.0) for lay in layers)
        prior += gauss(params["log_nu"], nu_loc, nu_scale)
        prior += sum(gauss(s, slope_loc, slope_scale) for s in params["log_slope"])
        return prior + gauss(y, net(x), sigma) + gauss(residual, 0.0, sigma_r)

    return log_density


def throughput(*, num_short: int = 20, num_long: int = 120, steps: int = 16, repeats: int = 3,
               vectorize: bool = False) -> dict:
    """Gradient evaluations per second: uqlab HMC vs a scan of the hand-written gradient.

    ``vectorize=False`` is the setting the PDE problems use (chains one after another within each
    step); ``True`` puts even one chain under ``vmap``, whose batched kernels are slower on CPU.
    """
    import jax
    import jax.numpy as jnp

    import uqlab
    from uqlab import problems
    from uqlab._convert import to_jax
    from uqlab.models.base import log_joint

    spec = problems.load("burgers-inverse")
    model, data = spec.make_model(), spec.data
    hand = hand_written_log_density(model, data)
    params = model.init(jax.random.PRNGKey(0))
    x, y = to_jax(data.standardized())
    library_value = float(log_joint(model, params, {"x": x, "y": y}, data.num_points))
    hand_value = float(hand(params))
    if not math.isclose(library_value, hand_value, rel_tol=1e-4):
        raise AssertionError(f"hand-written log density {hand_value} != model's {library_value}")

    grad = jax.grad(hand)
    num_grads = (num_long - num_short) * steps

    @jax.jit
    def hand_loop(p):
        def body(p, _):
            g = grad(p)  # a tiny step keeps each gradient dependent on the last (no hoisting)
            return jax.tree_util.tree_map(lambda a, b: a + 1e-9 * b, p, g), None

        return jax.lax.scan(body, p, None, length=num_grads)[0]

    jax.block_until_ready(hand_loop(params))

    def hmc_seconds(num_samples: int) -> float:
        post = uqlab.fit(model, data, "hmc", key=0, num_warmup=20, num_samples=num_samples, num_chains=1,
                         num_integration_steps=steps, progress=False, vectorize=vectorize)
        return post.info["fit_seconds"]

    load_before = load_average()
    for num_samples in (num_short, num_long):  # fill the compilation cache: no run below compiles
        hmc_seconds(num_samples)
    hand_seconds, hmc = [], []
    for _ in range(repeats):  # interleaved, so a change in machine load hits both alike
        hand_seconds.append(timed(hand_loop, params).seconds)
        hmc.append(hmc_seconds(num_long) - hmc_seconds(num_short))
    hand_rate, hmc_rate = num_grads / min(hand_seconds), num_grads / min(hmc)
    out = {
        "model": "burgers-inverse default PINN", "num_params": int(sum(a.size for a in jax.tree_util.tree_leaves(params))),
        "num_obs": data.num_points, "num_collocation": len(model.collocation),
        "log_density_library": library_value, "log_density_hand_written": hand_value,
        "gradient_evals": num_grads, "hand_written_seconds": hand_seconds, "hmc_seconds_difference": hmc,
        "hand_written_grads_per_second": hand_rate, "hmc_grads_per_second": hmc_rate,
        "ratio_hmc_to_hand_written": hmc_rate / hand_rate, "vectorize": vectorize,
        "backend": jax.default_backend(),
        "float": str(jnp.result_type(float)),
        "load_average": {"before": load_before, "after": load_average()},
    }
    print(json.dumps(out, indent=1))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", nargs="?", default="compare", choices=("compare", "throughput"))
    parser.add_argument("--problems", default=PROBLEMS)
    parser.add_argument("--methods", default="nuts,ensemble,mc_dropout")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--from-saved", default=None, help="folder given to `python -m uqlab compare --out`")
    parser.add_argument("--out", default=str(RESULTS / "pde_comparison.json"))
    args = parser.parse_args(argv)
    setup_jax_cache()
    out = pathlib.Path(args.out)
    if args.part == "throughput":
        save_entry(out, "hmc_gradient_throughput", throughput(vectorize=False))
        save_entry(out, "hmc_gradient_throughput_vmap", throughput(vectorize=True))
        return
    for problem in args.problems.split(","):
        save_entry(out, problem, run(problem, args.methods.split(","), quick=args.quick, full=args.full,
                                 saved=args.from_saved))


if __name__ == "__main__":
    main()
