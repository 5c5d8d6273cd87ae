"""Methods (frozen settings) and Posteriors (what a fit learned), shared by every backend.

A :class:`Method` is a frozen dataclass of settings whose ``fit(model, data, *, key)`` returns a
:class:`Posterior`. A Posterior predicts a :class:`~uqlab.predictive.Predictive` in original units:
it standardises the inputs with the dataset's scaler, asks its members for ``(loc, scale)`` and
maps the mixture back.

Two member kinds cover the methods of the foundation:

* :class:`ParticlePosterior`: a stack of parameter sets (MCMC draws, ensemble members, VI draws).
* :class:`DropoutPosterior`: one parameter set and ``T`` random dropout masks (MC dropout).

Persistence hook (``save`` / ``uqlab.load``, see :mod:`uqlab.inference.serialization`): a
Posterior's learned state is everything besides ``method``, ``model``, ``scaler`` and ``info``.
``_state()`` returns it as ``{field: value}`` (by default every other dataclass field) and the
classmethod ``_from_state(common, state)`` rebuilds the posterior (by default ``cls(**common,
**state)``). A value is saved as JSON when it is None/bool/int/float/str and otherwise as a
pytree (dicts, lists, tuples) of arrays, one netCDF variable per leaf. A new Posterior subclass
whose fields are arrays and scalars therefore persists with no code; one holding anything else
(a callable, a distribution object) overrides the two hooks to map it to and from arrays.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import numpy as np

from uqlab._validate import check_positive_int
from uqlab.data import Dataset, Scaler, as_2d
from uqlab.info import FitInfo
from uqlab.predictive import Predictive

__all__ = [
    "Capabilities", "Method", "Posterior", "ParticlePosterior", "DropoutPosterior", "check_model", "check_dataset",
]

_COMMON_FIELDS = ("method", "model", "scaler", "info")


class Capabilities(NamedTuple):
    """What a method works with and what it offers (read by tests, problems and the CLI).

    Attributes:
        model: the models it fits: ``"jax"`` (the uqlab JAX model contract), ``"sampler"`` (a
            uqlab model, a NumPyro model function, a log density or a GP), ``"gp"`` (a
            :class:`~uqlab.models.gp.GP`), ``"neural_process"`` or ``"torch"``.
        draws: its posterior's members are draws (MCMC or VI draws, ensemble members, dropout
            masks), exported as such to ArviZ (several chains: R-hat and ESS in info).
        minibatch: it trains on minibatches (a ``batch_size`` setting).
        resumable: it runs through the driver with a ``checkpoint`` setting.
    """

    model: str = "jax"
    draws: bool = True
    minibatch: bool = False
    resumable: bool = False


@dataclasses.dataclass(frozen=True)
class Method:
    """Base class of inference methods: frozen settings and the one fit template.

    ``fit`` is validate -> target -> build -> run -> posterior: a subclass implements
    :meth:`target` (check the model and data, and say what is inferred) and :meth:`infer`
    (build its kernels, run them through the driver session, wrap the result in a Posterior);
    the template adds the session (checkpoint, progress, timing, gradient counts) and finishes
    with the typed :class:`~uqlab.info.FitInfo` (chain diagnostics for several chains, warnings).
    Subclasses set ``name`` (the registry name) and ``capabilities``.
    """

    name: ClassVar[str] = "method"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def fit(self, model, data: Dataset | None = None, *, key=0) -> Posterior:
        """Fit ``model`` to ``data``; the same key gives the same numbers.

        The key and the model's input/output widths against the data are checked first, in one
        place for every method (:func:`uqlab._convert.as_key`, :func:`uqlab.data.check_model_data`).
        """
        from uqlab._convert import as_key
        from uqlab.data import check_model_data
        from uqlab.inference.driver import Session

        as_key(key)
        check_model_data(model, data)
        target = self.target(model, data)
        session = Session.for_fit(self, model, data, key)
        return session.finish(self.infer(target, session, as_key(key)))

    def target(self, model, data):  # pragma: no cover - interface
        """Validate ``(model, data)`` and return what :meth:`infer` works on."""
        raise NotImplementedError

    def infer(self, target, session, key) -> Posterior:  # pragma: no cover - interface
        """Build the kernels, run them with ``session.run`` and return the Posterior."""
        raise NotImplementedError

    def replace(self, **changes) -> Method:
        """A copy with some settings changed."""
        return dataclasses.replace(self, **changes)

    def settings(self) -> dict:
        """The settings as a plain dict."""
        return dataclasses.asdict(self)


def check_model(model, method: str, *needs: str) -> None:
    """Raise ``TypeError`` if ``model`` lacks what ``method`` needs (the model contract methods)."""
    missing = [name for name in ("init", "apply", "log_prior", "log_likelihood", *needs) if not hasattr(model, name)]
    if missing:
        raise TypeError(
            f"model: {method} needs a model with {', '.join(missing)} (the uqlab JAX model contract), "
            f"got {type(model).__name__}"
        )


def check_dataset(data) -> Dataset:
    """Raise ``TypeError`` unless ``data`` is a :class:`Dataset`."""
    if not isinstance(data, Dataset):
        raise TypeError(f"data: expected a uqlab.Dataset, got {type(data).__name__}")
    return data


@dataclasses.dataclass
class Posterior:
    """What a method learned about a model; predicts in original units.

    Attributes:
        method: the Method (settings) that produced it.
        model: the model it was fitted for.
        scaler: the dataset's standardisation.
        info: the typed record of the fit (:class:`~uqlab.info.FitInfo`: timings, gradient
            evaluations, acceptance, divergences, R-hat/ESS, warnings, method-specific entries).
        x_fit: the training inputs (original units) when the fit had a Dataset: the default
            inputs of :meth:`to_arviz`.
    """

    method: Method
    model: Any
    scaler: Scaler
    info: FitInfo = dataclasses.field(default_factory=FitInfo)
    x_fit: np.ndarray | None = None

    def __post_init__(self):
        self.info = FitInfo.from_mapping(self.info)

    def chain_draws(self) -> Any:
        """Parameter draws with leading ``(chain, draw)`` axes for chain diagnostics, or None."""
        return None

    @property
    def num_members(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def _member_outputs(self, x, num_samples: int | None, key):  # pragma: no cover - interface
        """``(loc, scale)`` jax arrays ``(S, N, d_out)`` in standardised units."""
        raise NotImplementedError

    def predict(self, x, *, num_samples: int | None = None, key=None) -> Predictive:
        """Predictive at inputs ``x`` (original units), a mixture over the posterior's members.

        Args:
            x: inputs ``(N, d_in)`` (or ``(N,)`` for one input).
            num_samples: use this many members (evenly thinned); None uses all.
            key: randomness for members that need it (dropout masks); None reuses the fit's key,
                so repeated calls give identical numbers.
        """
        if self.scaler is None:
            raise TypeError(
                f"predict: the model ({type(self.model).__name__}) defines no predictive apply(params, x); "
                "use samples() or to_arviz()"
            )
        x = as_2d("x", x)
        d_in = self.scaler.x_shift.shape[0]
        if x.shape[1] != d_in:
            raise ValueError(f"x: expected {d_in} input columns like the training data, got shape {x.shape}")
        check_positive_int("num_samples", num_samples, allow_none=True)
        loc, scale = self._member_outputs(self.scaler.x(x), num_samples, key)
        loc, scale = np.asarray(loc, np.float64), np.asarray(scale, np.float64)
        return Predictive(loc, scale).affine(self.scaler.y_shift, self.scaler.y_scale)

    def quantity(self, name: str) -> Predictive:
        """Distribution of a named model quantity (e.g. an inferred PDE coefficient) as samples."""
        values = self._quantity_draws()
        if name not in values:
            raise KeyError(f"name: expected one of the model's quantities {sorted(values)}, got {name!r}")
        draws = np.asarray(values[name], np.float64).reshape(values[name].shape[0], 1, -1)
        return Predictive(draws, None)

    def _quantity_draws(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(method={self.method.name!r}, members={self.num_members})"

    def _repr_html_(self) -> str:
        """Notebook display: the method's non-default settings and the fit's info (diagnostics highlighted)."""
        from uqlab._display import posterior_html

        settings = {}
        for field in dataclasses.fields(self.method):
            value = getattr(self.method, field.name)
            if field.default is dataclasses.MISSING or value is not field.default and value != field.default:
                settings[field.name] = value
        return posterior_html(self, settings, self.info)

    def _state(self) -> dict:
        """Persistence hook: the learned state as ``{field: JSON value or pytree of arrays}``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _COMMON_FIELDS}

    @classmethod
    def _from_state(cls, common: dict, state: dict) -> Posterior:
        """Persistence hook: rebuild from ``common`` (method, model, scaler, info) and ``_state()``."""
        return cls(**common, **state)

    def save(self, path):
        """Write this posterior to ``path`` (one netCDF file, atomically); read it with ``uqlab.load``."""
        from uqlab.inference.serialization import save_posterior

        return save_posterior(self, path)

    def to_arviz(self, x=None, *, num_samples: int = 1000, seed: int = 0):
        """``arviz.InferenceData`` of the predictive at ``x`` (default: the training inputs).

        A posterior without parameter draws (Laplace, exact GP, SVGP, a neural process) has a
        Gaussian (mixture) predictive; its ``num_samples`` draws (``seed``) of ``y`` at ``x`` are
        one chain in ``posterior`` and ``posterior_predictive``.
        """
        from uqlab.inference._arviz import predictive_draws

        return predictive_draws(self, self._arviz_inputs(x), num_samples, seed)

    def _arviz_inputs(self, x):
        if x is None:
            x = self.x_fit
        if x is None:
            raise ValueError(f"x: {type(self).__name__}.to_arviz needs inputs x (N, d_in); the fit had no Dataset")
        return x


def _member_chunks(num_members: int, x_rows: int) -> int:
    """Members per vectorised batch so that one batch holds about 2e7 activations."""
    return int(max(1, min(num_members, 2e7 // max(1, x_rows * 64))))


@dataclasses.dataclass(repr=False)
class ParticlePosterior(Posterior):
    """Members are parameter sets stacked on a leading axis (draws, ensemble members).

    Attributes:
        particles: the model's params pytree with leading axis ``S`` (chains x draws, flattened
            chain-major for MCMC).
        num_chains: how many chains the draws came from (1 for ensembles).
        sample_stats: per-draw sampler statistics ``{name: (chains, draws)}`` (MCMC), or None.
    """

    particles: Any = None
    num_chains: int = 1
    sample_stats: dict | None = None

    @property
    def num_members(self) -> int:
        import jax

        return jax.tree_util.tree_leaves(self.particles)[0].shape[0]

    def _selected(self, num_samples: int | None):
        import jax

        s = self.num_members
        if num_samples is None or num_samples >= s:
            return self.particles
        index = np.linspace(0, s - 1, num_samples).round().astype(int)
        return jax.tree_util.tree_map(lambda a: a[index], self.particles)

    def _member_outputs(self, x, num_samples, key):
        import jax
        import jax.numpy as jnp

        del key
        particles = self._selected(num_samples)
        x = jnp.asarray(x, jnp.result_type(float))
        apply = lambda params: self.model.apply(params, x)  # noqa: E731
        size = _member_chunks(jax.tree_util.tree_leaves(particles)[0].shape[0], x.shape[0])
        return jax.lax.map(apply, particles, batch_size=size)

    def _quantity_draws(self) -> dict:
        import jax

        return jax.device_get(jax.vmap(self.model.quantities)(self.particles))

    def chain_draws(self) -> Any:
        return self.draws()

    def draws(self) -> Any:
        """The particles with leading ``(chain, draw)`` axes, as numpy."""
        import jax

        c = self.num_chains
        return jax.tree_util.tree_map(lambda a: np.asarray(a).reshape(c, -1, *a.shape[1:]), self.particles)

    def samples(self) -> Any:
        """The draws with leading ``(chain, draw)`` axes: a dict site -> array for a NumPyro model
        (constrained space), the params pytree for a uqlab model."""
        return self.draws()

    def to_arviz(self, x=None, *, num_samples: int = 1000, seed: int = 0):
        """``arviz.InferenceData``: ``posterior`` holds one variable per parameter leaf (named by
        its pytree path, dims ``(chain, draw, ...)``); ``sample_stats`` the sampler statistics
        (NUTS/HMC: ``acceptance_rate``, ``diverging``, ...); with ``x``, ``posterior_predictive``
        holds each draw's predictive mean ``y`` at ``x`` (original units). The draws are the
        members, so ``num_samples`` and ``seed`` are unused."""
        from uqlab.inference._arviz import to_inference_data

        del num_samples, seed

        return to_inference_data(self, self.draws(), self.sample_stats, self.x_fit if x is None else x)


@dataclasses.dataclass(repr=False)
class DropoutPosterior(Posterior):
    """One parameter set; members are ``num_passes`` random dropout masks (Gal & Ghahramani, 2016).

    Attributes:
        params: the trained parameters.
        num_passes: default number of stochastic forward passes T.
        predict_key: key used when ``predict`` gets none (reproducible predictions).
    """

    params: Any = None
    num_passes: int = 100
    predict_key: Any = None

    @property
    def num_members(self) -> int:
        return self.num_passes

    def _member_outputs(self, x, num_samples, key):
        import jax
        import jax.numpy as jnp

        from uqlab._convert import as_key

        key = self.predict_key if key is None else as_key(key)
        keys = jax.random.split(key, num_samples or self.num_passes)
        x = jnp.asarray(x, jnp.result_type(float))
        apply = lambda k: self.model.apply(self.params, x, key=k, train=True)  # noqa: E731
        return jax.lax.map(apply, keys, batch_size=_member_chunks(keys.shape[0], x.shape[0]))

    def to_arviz(self, x=None, *, num_samples: int = 1000, seed: int = 0):
        """``arviz.InferenceData`` with the ``T`` dropout masks as draws of one chain.

        The weights are a single point estimate, so they are no posterior draws; what varies
        over masks is the network output. ``posterior`` holds the masked network's mean ``f`` at
        the inputs ``x`` (default: the training inputs), ``posterior_predictive`` the same as
        ``y``: mask ``t`` is draw ``t``, the masks those ``predict`` uses (``num_samples`` and
        ``seed`` are unused).
        """
        from uqlab.inference._arviz import to_inference_data

        del num_samples, seed

        return to_inference_data(self, None, None, self._arviz_inputs(x))

    def _quantity_draws(self) -> dict:
        import jax

        values = self.model.quantities(self.params)
        return jax.tree_util.tree_map(lambda v: np.asarray(v)[None], jax.device_get(values))
