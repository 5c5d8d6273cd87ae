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
# # 1. Quick start: a Bayesian surrogate, three ways to fit it, and a calibration report
#
# A surrogate model replaces an expensive simulator or experiment with a cheap learned function.
# Before trusting its predictions, you want to know how uncertain it is, and whether that
# uncertainty is honest: do its 90% intervals contain the truth 90% of the time, and where
# do they not?
#
# This notebook fits one Bayesian neural network to a 1-D problem with three inference methods
# (NUTS, a deep ensemble and MC dropout), plots their predictive bands, and shows the calibration
# report inline. It runs in a few minutes on 2 CPU cores.
#
# The test suite runs every tutorial with `UQLAB_TUTORIAL_SMOKE=1`, which only shrinks the run
# sizes; the code is the same.

# %%
import os

import numpy as np

import uqlab

SMOKE = os.environ.get("UQLAB_TUTORIAL_SMOKE") == "1"

# %% [markdown]
# ## The problem
#
# `toy1d` is a 1-D regression with input-dependent noise: $y = \sin(1.5x) + 0.3x + \sigma(x)\,\varepsilon$.
# The training inputs cover $[-4, -1] \cup [1, 4]$ only, so a good surrogate should be more
# uncertain in the gap $(-1, 1)$ and beyond $|x| > 4$. The test set spans $[-5, 5]$.

# %%
problem = uqlab.problems.load("toy1d", quick=SMOKE)
data = problem.data
print(problem.description)
print("train:", data.x.shape, "test:", data.x_test.shape)

# %% [markdown]
# ## One fit
#
# `uqlab.fit(model, data, method, key=...)` returns a Posterior; `posterior.predict(x)` returns a
# `Predictive`, the one object every diagnostic reads. A deep ensemble is the quickest method:

# %%
model = problem.make_model()  # BayesianMLP 1-50-2 tanh with a heteroscedastic Gaussian likelihood
ensemble = uqlab.fit(model, data, "ensemble", key=0, num_members=3 if SMOKE else 5, num_steps=200 if SMOKE else 3000)
ensemble  # the notebook shows the settings and what the fit did

# %%
pred = ensemble.predict(data.x_test)
lower, upper = pred.interval(0.9)
print(f"90% intervals cover {np.mean((lower <= data.y_test) & (data.y_test <= upper)):.1%} of test targets")
pred

# %% [markdown]
# ## Three methods side by side
#
# `uqlab.compare` fits each method on the problem and scores the Predictives on the test set.
# Methods are frozen settings objects; `problem.method(name, ...)` starts from the problem's
# tuned settings. NUTS runs several chains so that R-hat can tell whether they agree.

# %%
settings = {"nuts": {}, "ensemble": {}, "mc_dropout": {}}  # the problem's own settings (those of `python -m uqlab compare`)
if SMOKE:
    settings = {"nuts": dict(num_warmup=30, num_samples=30, num_chains=2, max_tree_depth=4),
                "ensemble": dict(num_members=3, num_steps=200), "mc_dropout": dict(num_steps=200, num_passes=20)}
methods = [problem.method(name, **s) for name, s in settings.items()]
comparison = uqlab.compare(methods, problem=problem)
comparison

# %% [markdown]
# ## Predictive bands
#
# The mean and central 50% / 90% intervals of each method against the true function (dashed)
# and the training data (dots). Look at the gap and the two ends.

# %%
from uqlab.diagnostics import plots

plots.predictive_bands(comparison.predictives, data, problem.truth);

# %% [markdown]
# ## The report, inline
#
# The same report `python -m uqlab compare` writes as an HTML file. It states convergence before
# any calibration claim (a method whose chains have not mixed is "not converged"), separates the
# verdict on noisy observations from the verdict on the noise-free function, and shows *where*
# each method is wrong: coverage inside the training range, in the gap, and when extrapolating.

# %%
from uqlab.diagnostics.report import Report

report = Report(comparison)
report

# %% [markdown]
# The numbers are also available as plain Python (and as JSON beside the HTML file when you
# call `report.write("report.html")`):

# %%
for region, row in report.to_dict()["regions"]["regions"].items():
    print(f"{region:15s}", {m: round(v["coverage"], 2) for m, v in row["methods"].items()})
