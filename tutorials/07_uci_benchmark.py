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
# # 7. The UCI regression benchmark
#
# The standard benchmark of Bayesian deep learning papers (PBP, MC dropout, deep ensembles):
# 20 random train/test splits per data set, a 50-unit ReLU network, test RMSE and log-likelihood
# in the original units. `uqlab.problems.uci(folder, split=i)` reads any folder in the papers'
# layout (`data.txt`, `index_features.txt`, `index_target.txt`, `index_train_<i>.txt`, ...), and
# `python -m uqlab bench uci --data FOLDER` runs the whole grid (see `docs/uci.md`).
#
# The data are not part of the repository. Set `UQLAB_UCI_DATA` to a folder holding the papers'
# data sets; without it this notebook writes a small synthetic data set in the same layout, so
# it runs anywhere (its numbers then describe that synthetic set, not a UCI one).

# %%
import os
import pathlib
import tempfile

import numpy as np

import uqlab

SMOKE = os.environ.get("UQLAB_TUTORIAL_SMOKE") == "1"
folder = pathlib.Path(os.environ.get("UQLAB_UCI_DATA", "no-uci-data")) / "bostonHousing"
if not (folder / "data").is_dir() or SMOKE:
    folder = pathlib.Path(tempfile.mkdtemp()) / "synthetic" / "data"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    y = x @ rng.normal(size=5) + np.sin(2 * x[:, 0]) + 0.3 * rng.standard_normal(300)
    np.savetxt(folder / "data.txt", np.column_stack([x, y]))
    np.savetxt(folder / "index_features.txt", np.arange(5), fmt="%d")
    np.savetxt(folder / "index_target.txt", [5], fmt="%d")
    for i in range(3):
        order = rng.permutation(300)
        np.savetxt(folder / f"index_train_{i}.txt", order[:270], fmt="%d")
        np.savetxt(folder / f"index_test_{i}.txt", order[270:], fmt="%d")
    folder = folder.parent
print("data set:", folder.name)

# %%
splits = 2 if SMOKE else 3
rows = []
for split in range(splits):
    data = uqlab.problems.uci(folder, split=split)
    for method, settings in {"ensemble": dict(num_members=2 if SMOKE else 5, num_steps=100 if SMOKE else 2000),
                             "mc_dropout": dict(num_steps=100 if SMOKE else 2000, dropout_rate=0.05)}.items():
        from uqlab.models import BayesianMLP

        model = BayesianMLP(d_in=data.x.shape[1], d_out=1, widths=(50,), activation="relu")
        post = uqlab.fit(model, data, method, key=split, **settings)
        scores = uqlab.diagnostics.evaluate(post.predict(data.x_test), data.y_test, ("rmse", "nll", "coverage@0.9"))
        rows.append({"split": split, "method": method, **scores})

# %%
for method in ("ensemble", "mc_dropout"):
    values = {k: np.array([r[k] for r in rows if r["method"] == method]) for k in ("rmse", "nll", "coverage@0.9")}
    print(f"{method:10s}", "  ".join(f"{k} {v.mean():.3f} ± {v.std(ddof=1) / np.sqrt(len(v)):.3f}" for k, v in values.items()))

# %% [markdown]
# Test log-likelihood is minus the NLL. The papers' published numbers and the full protocol
# (hyperparameter search, 20 splits, 40/400 epochs) are what `python -m uqlab bench uci` runs.

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3.5))
for j, method in enumerate(("ensemble", "mc_dropout")):
    ax.scatter([r["split"] + 0.1 * j for r in rows if r["method"] == method], [r["rmse"] for r in rows if r["method"] == method], label=method)
ax.set_xlabel("split")
ax.set_ylabel("test RMSE")
ax.legend();
