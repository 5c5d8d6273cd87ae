"""Datasets: numpy arrays, validated once, with the standardisation carried along.

Methods fit on standardised inputs and targets (zero mean, unit variance per column, computed on
the training split only); :class:`Scaler` maps predictions back so that every Predictive a user
sees is in original units.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from uqlab._validate import check_finite

__all__ = ["Dataset", "Scaler", "as_2d", "check_batch_size", "check_model_data", "draw_minibatch"]


def as_2d(name: str, array, *, num_rows: int | None = None) -> np.ndarray:
    """Validate ``array`` as a finite float64 matrix ``(N, d)``; a 1-D array becomes ``(N, 1)``.

    Raises:
        ValueError: wrong ndim, empty, NaN/inf, or a row count other than ``num_rows``.
        TypeError: a non-numeric dtype.
    """
    array = np.asarray(array)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name}: expected a 1-D (N,) or 2-D (N, d) array, got ndim={array.ndim} shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {array.shape}")
    if num_rows is not None and array.shape[0] != num_rows:
        raise ValueError(f"{name}: expected {num_rows} rows to match x, got {array.shape[0]} (shape {array.shape})")
    check_finite(name, array)
    return array


@dataclass(frozen=True)
class Scaler:
    """Affine map between original and standardised units: ``z = (v - shift) / scale``."""

    x_shift: np.ndarray
    x_scale: np.ndarray
    y_shift: np.ndarray
    y_scale: np.ndarray

    def __post_init__(self):
        """Every entry a float64 vector; shifts finite, scales finite and > 0 (else ``ValueError`` naming x or y)."""
        for side in ("x", "y"):
            shift = np.asarray(getattr(self, f"{side}_shift"), dtype=np.float64)
            scale = np.asarray(getattr(self, f"{side}_scale"), dtype=np.float64)
            if shift.ndim != 1 or shift.shape != scale.shape or shift.size == 0:
                raise ValueError(
                    f"{side}: expected a shift and a scale per column (two equal 1-D vectors), "
                    f"got shapes {shift.shape} and {scale.shape}"
                )
            bad = ~(np.isfinite(shift) & np.isfinite(scale) & (scale > 0))
            if bad.any():
                column = int(np.argmax(bad))
                raise ValueError(
                    f"{side}: expected a finite mean and a finite standard deviation > 0 per column to standardise "
                    f"with, got mean {float(shift[column]):.4g} and scale {float(scale[column]):.4g} in column {column} "
                    f"(values of magnitude ~1e154 or more overflow float64 arithmetic); rescale {side}"
                )
            object.__setattr__(self, f"{side}_shift", shift)
            object.__setattr__(self, f"{side}_scale", scale)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> Scaler:
        """Column means and standard deviations (a constant column keeps scale 1)."""

        def scale_of(v):
            with np.errstate(over="ignore", invalid="ignore"):
                sd = v.std(axis=0)
            return np.where(sd == 0, 1.0, sd)

        with np.errstate(over="ignore", invalid="ignore"):
            return cls(x.mean(axis=0), scale_of(x), y.mean(axis=0), scale_of(y))

    @classmethod
    def identity(cls, d_in: int, d_out: int) -> Scaler:
        """A scaler that changes nothing."""
        return cls(np.zeros(d_in), np.ones(d_in), np.zeros(d_out), np.ones(d_out))

    def x(self, x: np.ndarray) -> np.ndarray:
        """Standardise inputs."""
        return (x - self.x_shift) / self.x_scale

    def y(self, y: np.ndarray) -> np.ndarray:
        """Standardise targets."""
        return (y - self.y_shift) / self.y_scale

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {k: np.asarray(v).tolist() for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> Scaler:
        """Inverse of :meth:`to_dict`; ``ValueError`` for missing, extra or malformed entries."""
        names = [f.name for f in fields(cls)]
        if not isinstance(d, dict) or sorted(d) != sorted(names):
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"scaler: expected the entries {names}, got {got}")
        try:
            return cls(**{k: np.asarray(v, dtype=np.float64) for k, v in d.items()})
        except (TypeError, ValueError) as err:
            raise ValueError(f"scaler: {err}") from None


@dataclass(frozen=True)
class Dataset:
    """A regression dataset: ``x`` (N, d_in) and ``y`` (N, d_out), optional test split.

    Args:
        x: training inputs; 1-D arrays are read as one input column.
        y: training targets; 1-D arrays are read as one output column.
        x_test, y_test: optional held-out split (both or neither).
        name: a label used in reports.
        standardize: fit methods on standardised data and return predictions in original units
            (default). Set False when the scale matters to the model (physics-informed models,
            conjugate checks).
        extras: named arrays a model may need besides ``(x, y)``, e.g. collocation points.

    Raises:
        ValueError: NaN/inf, wrong ndim, empty arrays, mismatched lengths or input widths.
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    name: str = "data"
    standardize: bool = True
    extras: dict = field(default_factory=dict)

    def __post_init__(self):
        x = as_2d("x", self.x)
        y = as_2d("y", self.y, num_rows=x.shape[0])
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        if (self.x_test is None) != (self.y_test is None):
            raise ValueError("x_test, y_test: expected both or neither, got only one of them")
        if self.x_test is not None:
            x_test = as_2d("x_test", self.x_test)
            if x_test.shape[1] != x.shape[1]:
                raise ValueError(f"x_test: expected {x.shape[1]} columns like x, got shape {x_test.shape}")
            y_test = as_2d("y_test", self.y_test, num_rows=x_test.shape[0])
            if y_test.shape[1] != y.shape[1]:
                raise ValueError(f"y_test: expected {y.shape[1]} columns like y, got shape {y_test.shape}")
            object.__setattr__(self, "x_test", x_test)
            object.__setattr__(self, "y_test", y_test)
        for key, value in self.extras.items():
            check_finite(f"extras[{key!r}]", value)
        if self.standardize:
            Scaler.fit(x, y)  # non-finite or overflowing column statistics fail here, naming x or y

    @property
    def num_points(self) -> int:
        """Number of training points N."""
        return self.x.shape[0]

    @property
    def dims(self) -> tuple[int, int]:
        """``(d_in, d_out)``."""
        return self.x.shape[1], self.y.shape[1]

    @property
    def scaler(self) -> Scaler:
        """The map between original and standardised units (identity if ``standardize=False``)."""
        if not self.standardize:
            return Scaler.identity(*self.dims)
        return Scaler.fit(self.x, self.y)

    def standardized(self) -> tuple[np.ndarray, np.ndarray]:
        """Training ``(x, y)`` in the units the methods fit in."""
        s = self.scaler
        return s.x(self.x), s.y(self.y)

    def __repr__(self) -> str:
        test = f", test={self.x_test.shape[0]}" if self.x_test is not None else ""
        return f"Dataset({self.name!r}, train={self.num_points}{test}, d_in={self.dims[0]}, d_out={self.dims[1]})"


def check_batch_size(batch_size: int | None, num_points: int) -> None:
    """``batch_size`` must be None (full batch) or at most the number of training points."""
    if batch_size is not None and batch_size > num_points:
        raise ValueError(f"batch_size: expected at most the number of training points ({num_points}), got {batch_size}")


def draw_minibatch(key, x, y, batch_size: int | None) -> dict:
    """A batch ``{"x", "y"}`` of ``batch_size`` rows drawn without replacement (JAX arrays; None: all).

    Used inside jitted steps: the rows are gathered with a random index, so the batch has a
    fixed shape and the step compiles once. Scaling the batch log-likelihood by ``N / B``
    (:func:`uqlab.models.base.log_joint`) makes the gradient unbiased.
    """
    if batch_size is None:
        return {"x": x, "y": y}
    import jax

    index = jax.random.choice(key, x.shape[0], (batch_size,), replace=False)
    return {"x": x[index], "y": y[index]}


def check_model_data(model, data) -> None:
    """Raise ``ValueError`` if ``model``'s input or output width differs from ``data``'s columns.

    Models that declare their widths (``check_inputs(d_in, d_out)``, e.g. a GP) check themselves;
    for a JAX model under the uqlab contract (``init``/``apply``) the output shape of
    ``apply(init(key), x[:1])`` is computed abstractly with ``jax.eval_shape`` (no arithmetic, no
    compilation). Anything else (NumPyro models, log densities, torch modules, task collections)
    is left to its method.
    """
    if not isinstance(data, Dataset):
        return
    d_in, d_out = data.dims
    if hasattr(model, "check_inputs"):
        model.check_inputs(d_in, d_out)
        return
    if not (callable(getattr(model, "init", None)) and callable(getattr(model, "apply", None))) or _is_torch(model):
        return
    import jax

    declared = getattr(model, "d_in", None)
    name = type(model).__name__
    try:
        out = jax.eval_shape(lambda key, x: model.apply(model.init(key), x), jax.random.PRNGKey(0), data.x[:1])
    except (TypeError, ValueError) as err:
        expected = f"{declared}" if isinstance(declared, int) else "another number of"
        raise ValueError(
            f"x: the model ({name}) expects {expected} input columns, got x with {d_in} "
            f"(applying the model to one row failed: {str(err).splitlines()[0][:200]})"
        ) from None
    loc = out[0] if isinstance(out, (tuple, list)) else out
    if getattr(loc, "ndim", 0) != 2 or loc.shape[1] != d_out:
        raise ValueError(
            f"y: the model ({name}) predicts {loc.shape[-1] if getattr(loc, 'ndim', 0) else 'scalar'} output "
            f"column(s) (loc of shape {tuple(loc.shape)} for one input row), but y has {d_out} column(s)"
        )


def _is_torch(model) -> bool:
    """A torch module or a uqlab torch model (``uqlab.models.torch``): checked by its own method."""
    return any(c.__module__.split(".")[0] == "torch" or ".torch" in c.__module__ for c in type(model).__mro__)
