# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. A PDE inverse problem: which method is over-confident about the coefficient?
#
# A physics-informed network (PINN) fits a field $u(x)$ to a few noisy measurements while the
# residual of a differential equation ties it to an unknown coefficient. Here the equation is the
# 1-D diffusion-reaction problem of the B-PINN paper (Yang, Meng and Karniadakis, 2021):
#
# $$ D\,u''(x) + k \tanh(u(x)) = f(x), \quad x \in [-0.7, 0.7], \quad D = 0.01, $$
#
# with $u = \sin^3(6x)$, the unknown $k = 0.7$, and noisy measurements of $u$ (a handful,
# including both boundary points) and of $f$ (a few dozen). Three methods infer $k$: NUTS on the
# PINN's posterior, a deep ensemble of MAP fits, and MC dropout. A single interval covering the
# truth says little; repeating the experiment with fresh noise says whether a method's 95%
# intervals cover $k$ 95% of the time.

# %%
import os

import uqlab
from uqlab.diagnostics.report import Report

SMOKE = os.environ.get("UQLAB_TUTORIAL_SMOKE") == "1"
problem = uqlab.problems.load("diffusion-reaction-inverse", quick=True)  # quick=False: the default sizes (much longer runs)
print(problem.description)
print("truth:", problem.truth["k"] if "k" in problem.truth else problem.truth)

# %%
small = {"nuts": dict(num_warmup=20, num_samples=20, num_chains=2, max_tree_depth=4, init_steps=100),
         "ensemble": dict(num_members=2, num_steps=200), "mc_dropout": dict(num_steps=200, num_passes=20)}
settings = small if SMOKE else {name: {} for name in small}
methods = [problem.method(name, **s) for name, s in settings.items()]
comparison = uqlab.compare(methods, problem=problem)
report = Report(comparison)
report.to_dict()["coefficients"]

# %% [markdown]
# The coefficient table: posterior mean, central 95% interval, the truth, R-hat and bulk ESS
# (for methods with chains). A point estimate has a zero-width interval: it is certain, and
# almost surely wrong.

# %%
for method, rows in report.to_dict()["coefficients"].items():
    for name, c in rows.items():
        covers = c["lower"] <= c["truth"] <= c["upper"]
        print(f"{method:10s} {name}: {c['mean']:.3f} in [{c['lower']:.3f}, {c['upper']:.3f}]  covers truth: {covers}  "
              f"R-hat: {c['rhat'] if c['rhat'] is None else round(c['rhat'], 3)}")

# %% [markdown]
# ## Coverage over repeated data
#
# `uqlab.coverage.coverage_study` redraws the observation noise R times, refits every method, and
# counts how often each 95% interval covers the true coefficient, with a Clopper-Pearson interval
# for the coverage probability. (The command line: `python -m uqlab study coverage --problem
# diffusion-reaction-inverse --replicates 20`.) A calibrated method covers about 95%; one that
# covers much less is over-confident.

# %%
from uqlab.coverage import coverage_study, to_text

replicates = 1 if SMOKE else 5
study_methods = ["ensemble", "mc_dropout"] if SMOKE else list(settings)
study_settings = small if SMOKE else {"nuts": dict(num_warmup=60, num_samples=60), "ensemble": {}, "mc_dropout": {}}
state = coverage_study("diffusion-reaction-inverse", study_methods, replicates=replicates, quick=True,
                       settings=study_settings, progress=None)
print(to_text(state))

# %% [markdown]
# With few replicates the Clopper-Pearson intervals are wide; increase `replicates` for a sharp
# answer. The full report (with the field, the verdicts and where the surrogate is wrong):

# %%
report
