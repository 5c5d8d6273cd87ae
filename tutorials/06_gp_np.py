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
# # 6. Gaussian processes, sparse GPs and neural processes
#
# Three non-network surrogates behind the same interface:
#
# - an exact **GP** (Matérn-5/2 kernel, hyperparameters by type-II maximum likelihood), whose
#   predictive is one closed-form Gaussian per point;
# - a **sparse variational GP** (Hensman et al., 2015) with $M$ inducing points and minibatches,
#   for data sets too large for the exact GP;
# - a **neural process** (Garnelo et al., 2018), trained on many functions drawn from random GPs,
#   then *conditioned* on a new function's context points without refitting.

# %%
import os

import numpy as np

import uqlab
from uqlab.diagnostics import plots
from uqlab.models import GP
from uqlab.models.kernels import Matern52

SMOKE = os.environ.get("UQLAB_TUTORIAL_SMOKE") == "1"
problem = uqlab.problems.load("toy1d", quick=SMOKE)
data = problem.data

# %%
exact = uqlab.fit(GP(kernel=Matern52()), data, "gp", key=0)
sparse = uqlab.fit(GP(kernel=Matern52()), data, "svgp", key=0, num_inducing=16 if SMOKE else 32,
                   num_steps=200 if SMOKE else 3000, batch_size=64)
preds = {"exact GP": exact.predict(data.x_test), "sparse GP": sparse.predict(data.x_test)}
for name, pred in preds.items():
    print(f"{name:10s}", {k: round(v, 3) for k, v in uqlab.diagnostics.evaluate(pred, data.y_test, ("rmse", "nll", "coverage@0.9")).items()})
plots.predictive_bands(preds, data, problem.truth);

# %% [markdown]
# The GP's noise is homoscedastic, so it over-covers on the left (little noise) and under-covers
# on the right (more noise): the calibration curve pools both.
#
# ## A neural process
#
# `NPTrain` fits the NP on a task distribution (`GPTasks`: functions from GPs with random kernels
# and hyperparameters on $[-2, 2]$); the fitted object is conditioned on a context set and then
# predicts anywhere.

# %%
import jax

from uqlab.inference.neural_process import NPTrain
from uqlab.models.neural_process import NeuralProcess
from uqlab.problems.gp_tasks import GPTasks

tasks = GPTasks(kernels=("rbf",))
trainer = NPTrain(num_steps=100 if SMOKE else 4000, batch_size=16, learning_rate=3e-3)
np_post = trainer.fit(NeuralProcess(kind="cnp", width=32 if SMOKE else 64, depth=2), tasks, key=0)

batch = tasks.sample(jax.random.PRNGKey(1), 1)
x_all, y_all = np.asarray(batch["x"][0]), np.asarray(batch["y"][0])
x_grid = np.linspace(-2, 2, 200)[:, None]
conditioned = {f"{n} context points": np_post.condition(x_all[:n], y_all[:n]).predict(x_grid) for n in (3, 20)}

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
for ax, (name, pred), n in zip(axes, conditioned.items(), (3, 20)):
    lower, upper = pred.interval(0.9)
    ax.fill_between(x_grid[:, 0], lower[:, 0], upper[:, 0], alpha=0.3, label="90% interval")
    ax.plot(x_grid[:, 0], pred.mean[:, 0], label="mean")
    ax.scatter(x_all[:n, 0], y_all[:n, 0], color="C3", s=12, label="context")
    ax.set_title(name)
    ax.set_xlabel("x")
axes[0].set_ylabel("y")
axes[0].legend();
