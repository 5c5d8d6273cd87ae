"""The published training protocols of the UCI regression benchmark, one function per method.

Each protocol fits one method on one split through the public API (``uqlab.fit``) and scores the
test set in the original target units: RMSE of the predictive mean and the mean test
log-likelihood per point, ``LL = mean_n log p(y_n | x_n, D)`` of the predictive mixture. All
networks have one hidden layer of ``n_hidden.txt`` (50) ReLU units; inputs and targets are
standardised with the training split's statistics (:func:`uqlab.problems.uci`).

``quick=True`` shrinks every protocol to a few steps (tests and smoke runs); its numbers are not
benchmark numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PROTOCOLS", "REVISIONS", "dropout_fit", "run_protocol"]

LENGTHSCALE = 1e-2
"""Gal & Ghahramani's prior length-scale l of the weight decay ``l^2 (1 - p) / (2 N tau)``."""

DROPOUT_RATES = (0.005, 0.05)
"""Gal & Ghahramani (2016, sec. 5.1)'s dropout rates; the folders' ``dropout_rates.txt`` (from the
authors' later code) also lists 0.01 and 0.1, which would double the cost of the search."""
FALLBACK_PRECISIONS = (1.0, 10.0, 100.0)
"""Model precisions in *standardised* units tried when a folder has no ``tau_values.txt``."""

DROPOUT_BATCH = 32
"""MC-dropout minibatch size of the runs behind the published numbers (the authors' code at the time;
their later code uses 128, which gives a quarter of the Adam steps in the same epochs)."""

LEARNING_RATE = 0.01
"""Deep-ensemble Adam step. Lakshminarayanan et al. publish 0.1; with it our members diverged on
Boston split 0 (member test RMSE 216-2,800 against 2.3-2.6 at 0.01)."""

PROTOCOLS = {
    "mc_dropout": (
        "MC dropout (Gal & Ghahramani, 2016; protocol revision 2): one hidden layer of 50 ReLU units, dropout on "
        "the hidden units; dropout rate in {0.005, 0.05} and model precision tau (tau_values.txt, original units) "
        "chosen by log-likelihood on the last 20% of the training split after 40 epochs on the first 80%; final "
        "model on the full training split for 40 x 10 epochs; Adam lr 1e-3, batch 32; weight decay "
        "l^2 (1-p) / (2 N tau) with l = 0.01 (as a Gaussian prior); 1,000 MC passes; RMSE of the MC mean, LL of "
        "the mixture of the passes with noise 1/tau."
    ),
    "ensemble": (
        "Deep ensemble (Lakshminarayanan et al., 2017): 5 networks of one hidden layer of 50 ReLU units "
        "from independent initialisations, each on the full training split, Gaussian NLL with a learned "
        "variance (softplus + 1e-3), Adam lr 0.01 (the published 0.1 diverges here), batch 100, 40 epochs, no adversarial training, no "
        "weight decay (an N(0, 100^2) prior); prediction = uniform mixture of the 5 Gaussians."
    ),
    "nuts": (
        "NUTS (Hoffman & Gelman, 2014) on the same network (one hidden layer of 50 ReLU units), "
        "N(0, 1/fan_in) weight prior, learned homoscedastic noise; 4 chains, 300 warmup + 300 draws "
        "from MAP starts; prediction = mixture over the draws."
    ),
}

REVISIONS = {"mc_dropout": 2, "ensemble": 1, "nuts": 1}
"""Each protocol's revision, part of every cell's arguments so that a stored cell of an earlier
revision is run again. MC-dropout revision 1 used minibatches of 128; revision 2 uses 32, as the
runs behind the published numbers did."""


def run_protocol(folder: str, split: int, method: str, seed: int = 0, quick: bool = False, revision: int | None = None) -> dict:
    """Fit ``method`` on split ``split`` of the UCI folder and score the test set.

    Args:
        folder: dataset folder in the UCI layout (see :mod:`uqlab.problems.uci_data`).
        split: split index.
        method: a key of :data:`PROTOCOLS`.
        seed: base seed; the fit uses key ``1000 * seed + split``.
        quick: tiny settings (smoke tests only).
        revision: the protocol revision the caller asks for: ``REVISIONS[method]`` or None (the current one).

    Returns:
        ``{"rmse", "ll", "fit_seconds", "settings"}`` in original target units; ``settings`` holds
        the chosen hyper-parameters (MC dropout) or the main ones.
    """
    from uqlab.problems.uci_data import load_uci, uci_settings

    if method not in PROTOCOLS:
        raise ValueError(f"method: expected one of {sorted(PROTOCOLS)}, got {method!r}")
    if revision not in (None, REVISIONS[method]):
        raise ValueError(f"revision: this uqlab runs {method} protocol revision {REVISIONS[method]}, got {revision!r}")
    data = load_uci(folder, split=split)
    settings = uci_settings(folder)
    fit = {"mc_dropout": _mc_dropout, "ensemble": _ensemble, "nuts": _nuts}[method]
    predictive, chosen, seconds = fit(data, settings, key=1000 * seed + split, quick=quick)
    return {**score(predictive, data.y_test), "fit_seconds": seconds, "settings": chosen}


def score(predictive, y) -> dict:
    """RMSE of the predictive mean and mean log predictive density per point (original units)."""
    from uqlab.diagnostics.metrics import nll, rmse

    return {"rmse": rmse(predictive, y), "ll": -nll(predictive, y)}


def _network(data, settings: dict, **options):
    from uqlab.models import BayesianMLP

    return BayesianMLP(d_in=data.dims[0], d_out=1, widths=(settings.get("n_hidden", 50),), activation="relu", **options)


def _steps(data, epochs: int, batch_size: int) -> int:
    return epochs * -(-data.num_points // batch_size)


def _first_part(data, fraction: float = 0.8):
    """Gal & Ghahramani's validation split: the first 80 % of the (shuffled) training rows fit, the rest validate."""
    from uqlab.data import Dataset

    cut = int(fraction * data.num_points)
    return Dataset(data.x[:cut], data.y[:cut], x_test=data.x[cut:], y_test=data.y[cut:], name=f"{data.name}-validation")


def _mc_dropout(data, settings: dict, *, key: int, quick: bool):
    import time

    epochs = 2 if quick else settings.get("n_epochs", 40)
    passes = 50 if quick else 1000
    # candidates (rate, precision in original units or None, precision in standardised units or None)
    if "tau_values" in settings:
        grid = [(p, tau, None) for p in DROPOUT_RATES for tau in settings["tau_values"]]
    else:
        grid = [(p, None, s) for p in DROPOUT_RATES for s in FALLBACK_PRECISIONS]
    grid = grid[:2] if quick else grid

    def fit(dataset, rate, tau, standardised, epochs=epochs):
        return dropout_fit(dataset, settings, rate, tau=tau, standardised=standardised, epochs=epochs, key=key,
                           passes=passes)

    start = time.perf_counter()
    validation = _first_part(data)
    scores = [score(fit(validation, *candidate)[0], validation.y_test)["ll"] for candidate in grid]
    best = grid[int(np.nanargmax(scores))]
    final_epochs = epochs if quick else 10 * epochs
    predictive, tau = fit(data, *best, epochs=final_epochs)
    chosen = {"dropout_rate": best[0], "tau": float(tau), "validation_ll": [float(s) for s in scores],
              "epochs": final_epochs, "batch_size": DROPOUT_BATCH}
    return predictive, chosen, time.perf_counter() - start


def dropout_fit(data, settings: dict, rate: float, *, tau: float | None = None, standardised: float | None = None,
                epochs: int, key: int, passes: int = 1000):
    """One MC-dropout network of the protocol (Adam 1e-3, batch 32, weight decay as a prior) on ``data``.

    Args:
        data: the training set (its test part is predicted).
        settings: :func:`~uqlab.problems.uci_data.uci_settings` of the folder (``n_hidden``).
        rate: dropout rate p.
        tau: model precision in original target units, or None to give ``standardised``.
        standardised: model precision in standardised units (when ``tau`` is None).
        epochs: training epochs.
        key: fit seed.
        passes: MC passes at prediction.

    Returns:
        ``(predictive of data.x_test, tau in original units)``.
    """
    import uqlab

    y_sd = float(data.scaler.y_scale[0])
    precision = standardised if tau is None else tau * y_sd**2
    prior_scale = np.sqrt(2.0 / (1.0 - rate)) / (LENGTHSCALE * y_sd)  # weight decay l^2 (1-p) / (2 N tau)
    model = _network(data, settings, prior="isotropic", prior_scale=float(prior_scale), dropout_rate=rate)
    batch = min(DROPOUT_BATCH, data.num_points)
    posterior = uqlab.fit(model, data, "mc_dropout", key=key, dropout_rate=rate, noise_precision=precision,
                          num_passes=passes, num_steps=_steps(data, epochs, batch), learning_rate=1e-3,
                          batch_size=batch, progress=False)
    return posterior.predict(data.x_test), precision / y_sd**2


def _ensemble(data, settings: dict, *, key: int, quick: bool):
    import time

    import uqlab
    from uqlab.models import Heteroscedastic

    epochs = 2 if quick else settings.get("n_epochs", 40)
    batch = min(100, data.num_points)
    model = _network(data, settings, prior="isotropic", prior_scale=100.0, likelihood=Heteroscedastic())
    start = time.perf_counter()
    posterior = uqlab.fit(model, data, "ensemble", key=key, num_members=5, num_steps=_steps(data, epochs, batch),
                          learning_rate=LEARNING_RATE, batch_size=batch, progress=False)
    predictive = posterior.predict(data.x_test)
    return predictive, {"members": 5, "epochs": epochs, "batch_size": batch, "learning_rate": LEARNING_RATE}, time.perf_counter() - start


def _nuts(data, settings: dict, *, key: int, quick: bool):
    import time

    import uqlab

    draws = 20 if quick else 300
    model = _network(data, settings)
    start = time.perf_counter()
    posterior = uqlab.fit(model, data, "nuts", key=key, num_warmup=draws, num_samples=draws, num_chains=2 if quick else 4,
                          init="map", init_steps=50 if quick else 1000, progress=False)
    predictive = posterior.predict(data.x_test)
    info = {k: posterior.info[k] for k in ("divergences", "rhat_max", "acceptance_rate") if k in posterior.info}
    chosen = {"warmup": draws, "draws": draws, **{k: np.asarray(v).tolist() for k, v in info.items()}}
    return predictive, chosen, time.perf_counter() - start
