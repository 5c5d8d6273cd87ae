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
# # 5. Calibration: diagnose, recalibrate, and conformal intervals
#
# A deep ensemble is often over-confident: its intervals are too narrow. This tutorial measures
# that on held-out data, then fixes it two ways, both fitted on a *calibration* split and judged
# on a separate *test* split:
#
# - **recalibration** changes the predictive distribution: variance scaling (one factor $s$ for
#   all standard deviations, by maximum likelihood) or isotonic regression of the PIT values
#   (Kuleshov et al., 2018);
# - **split conformal intervals** (Vovk et al., 2005; Romano et al., 2019) widen intervals by a
#   quantile of calibration scores and guarantee coverage $\ge$ the level for exchangeable data.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import uqlab
from uqlab.diagnostics import calibration, recalibration

SMOKE = os.environ.get("UQLAB_TUTORIAL_SMOKE") == "1"
problem = uqlab.problems.load("toy1d", quick=SMOKE)
data = problem.data
posterior = uqlab.fit(problem.make_model(), data, "ensemble", key=0, num_members=3 if SMOKE else 5,
                      num_steps=200 if SMOKE else 3000)
pred = posterior.predict(data.x_test)

# %% [markdown]
# Split the test points at random into a calibration half and a test half.

# %%
rng = np.random.default_rng(0)
order = rng.permutation(len(data.x_test))
cal, test = order[: len(order) // 2], order[len(order) // 2:]
pred_cal, y_cal, pred_test, y_test = pred[cal], data.y_test[cal], pred[test], data.y_test[test]
print(calibration.verdict(pred_test, y_test)["text"])

# %%
scaling = recalibration.fit_variance_scaling(pred_cal, y_cal)
isotonic = recalibration.fit_isotonic(pred_cal, y_cal)
candidates = {"raw": pred_test, f"variance x {scaling.factor:.2f}": scaling.apply(pred_test), "isotonic": isotonic.apply(pred_test)}

fig, ax = plt.subplots(figsize=(5, 4.5))
ax.plot([0, 1], [0, 1], "k--", lw=1, label="ideal")
for name, p in candidates.items():
    expected, observed = calibration.calibration_curve(p, y_test, num_levels=19)
    ax.plot(expected, observed, marker=".", label=f"{name} (area {calibration.miscalibration_area(p, y_test):.3f})")
ax.set_xlabel("expected proportion")
ax.set_ylabel("observed proportion below")
ax.legend();

# %% [markdown]
# ## Split conformal intervals
#
# Two scores: `"normalized"` ($|y-\mu|/\sigma$, intervals $\mu \pm \hat q\sigma$) and `"cqr"`
# (conformalised quantile regression on the predictive's own interval). Coverage on the test half
# should be at least the level, up to sampling error.

# %%
for score in ("normalized", "cqr"):
    lower, upper = recalibration.conformal_interval(pred_cal, y_cal, pred_test, 0.9, score=score)
    inside = np.mean((lower <= y_test) & (y_test <= upper))
    print(f"{score:10s}: 90% conformal intervals cover {inside:.1%} of test targets, mean width {np.mean(upper - lower):.3f}")
lower, upper = pred_test.interval(0.9)
print(f"{'raw':10s}: 90% intervals cover {np.mean((lower <= y_test) & (y_test <= upper)):.1%}, mean width {np.mean(upper - lower):.3f}")

# %% [markdown]
# Recalibration and conformal intervals fix *average* coverage. They cannot make the model know
# what it has not seen: the report's coverage-by-region table (tutorial 1) still shows where the
# intervals fail, e.g. far outside the training inputs.
