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
# # 2. Your own PyTorch model
#
# You have a network written in PyTorch and want honest uncertainty from it. uqlab takes any
# `torch.nn.Module` (or a zero-argument factory) in `uqlab.fit`: deep ensembles and MC dropout
# train it with torch, and what comes back is the same `Predictive` every diagnostic reads.
# A plain `nn.Sequential` MLP can also be converted to the JAX `BayesianMLP` with the same
# weights (`from_torch`), which opens NUTS and the other JAX samplers to it.

# %%
import os

import numpy as np
import torch

import uqlab
from uqlab.diagnostics import plots
from uqlab.models import Heteroscedastic

SMOKE = os.environ.get("UQLAB_TUTORIAL_SMOKE") == "1"
torch.set_num_threads(2)
problem = uqlab.problems.load("toy1d", quick=SMOKE)
data = problem.data

# %% [markdown]
# A torch network with two outputs per target: a mean and a raw scale, read by the
# heteroscedastic Gaussian likelihood (scale = softplus(raw)).


# %%
def make_net(dropout=0.0):
    layers = [torch.nn.Linear(1, 50), torch.nn.Tanh()] + ([torch.nn.Dropout(dropout)] if dropout else [])
    return torch.nn.Sequential(*layers, torch.nn.Linear(50, 2))


steps = 150 if SMOKE else 2000
ensemble = uqlab.fit(make_net, data, "ensemble", key=0, likelihood=Heteroscedastic(), num_members=3 if SMOKE else 5,
                     num_steps=steps)
dropout = uqlab.fit(make_net(dropout=0.05), data, "mc_dropout", key=0, likelihood=Heteroscedastic(), num_steps=steps,
                    num_passes=20 if SMOKE else 100)
ensemble

# %% [markdown]
# ## Converting to JAX for NUTS
#
# `from_torch` maps the `nn.Sequential` to `BayesianMLP` with identical outputs; NUTS then samples
# its weights under a Gaussian prior.

# %%
from uqlab.models.torch import from_torch

net = make_net()
model, params = from_torch(net, likelihood=Heteroscedastic(), prior_scale=2.0)
x = torch.linspace(-1, 1, 5)[:, None]
print("same outputs:", np.allclose(net.eval()(x).detach().numpy(), np.asarray(model.raw_outputs(params, x.numpy())), atol=1e-5))
nuts = problem.method("nuts", **(dict(num_warmup=30, num_samples=30, num_chains=2, max_tree_depth=4) if SMOKE else {}))
hmc = nuts.fit(model, data, key=0)
hmc

# %%
preds = {"torch ensemble": ensemble.predict(data.x_test), "torch MC dropout": dropout.predict(data.x_test),
         "NUTS (converted)": hmc.predict(data.x_test)}
for name, pred in preds.items():
    print(f"{name:18s}", {k: round(v, 3) for k, v in uqlab.diagnostics.evaluate(pred, data.y_test, ("rmse", "nll", "coverage@0.9")).items()})
plots.predictive_bands(preds, data, problem.truth);
