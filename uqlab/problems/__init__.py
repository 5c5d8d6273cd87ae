"""Named problems: a dataset, a default model, default method settings and what is known to be true.

``uqlab.problems.load(name, seed=0, quick=False)`` builds one; problems register lazily here so
that listing them imports nothing heavy. ``uqlab.problems.uci(folder, split=i)`` reads split ``i``
of a UCI regression set in the PBP/MC-dropout folder layout (:mod:`uqlab.problems.uci_data`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from uqlab._registry import resolve
from uqlab.data import Dataset
from uqlab.problems.uci_data import load_uci as uci

__all__ = ["Problem", "PROBLEMS", "load", "problem_names", "uci"]

PROBLEMS: dict[str, str] = {
    "toy1d": "uqlab.problems.toy1d:make",
    "burgers-forward": "uqlab.problems.burgers:forward",
    "burgers-inverse": "uqlab.problems.burgers:inverse",
    "ns-forward": "uqlab.problems.navier_stokes:forward",
    "ns-inverse": "uqlab.problems.navier_stokes:inverse",
    "diffusion-reaction-inverse": "uqlab.problems.diffusion_reaction:inverse",
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """A UQ task.

    Attributes:
        name: registry name.
        data: the dataset (with a test split for scoring).
        make_model: builds the default model for this problem.
        method_settings: per method name, settings that suit this problem (merged over defaults).
        truth: known true values (noise-free function on the test inputs, coefficients, ...).
        description: one line for reports.
        quantities: names of model quantities to collect from each posterior
            (``posterior.quantity(name)``) for scoring against ``truth[name]``.
        report_sections: optional ``f(comparison) -> list[dict]`` of extra report sections, each
            ``{"title", "caption"}`` plus ``"png"`` (base64 PNG) or ``"html"`` (trusted markup).
        models: per model kind, a factory for the methods that fit another kind of model than
            ``make_model`` builds; the kind is what a method declares in
            ``capabilities.model`` (e.g. ``{"gp": make_gp}`` serves ``"gp"``, ``"gp_nuts"``,
            ``"svgp"`` and any GP method registered later).
    """

    name: str
    data: Dataset
    make_model: Callable[[], Any]
    method_settings: dict = dataclasses.field(default_factory=dict)
    truth: dict = dataclasses.field(default_factory=dict)
    description: str = ""
    quantities: tuple[str, ...] = ()
    report_sections: Callable | None = None
    models: dict = dataclasses.field(default_factory=dict)

    def method(self, name: str, **overrides):
        """The registered method ``name`` with this problem's settings and ``overrides`` applied."""
        from uqlab.inference.registry import get_method

        return get_method(name)(**{**self.method_settings.get(name, {}), **overrides})

    def model_for(self, method_name: str):
        """This problem's default model for the method registered as ``method_name``: the factory
        of ``models`` for the model kind the method declares, else ``make_model``."""
        from uqlab.inference.registry import get_method

        return self.models.get(get_method(method_name).capabilities.model, self.make_model)()


def problem_names() -> list[str]:
    """Registered problem names."""
    return sorted(PROBLEMS)


def load(name: str, *, seed: int = 0, quick: bool = False, **options) -> Problem:
    """Build the problem registered as ``name``.

    Args:
        name: one of :func:`problem_names`.
        seed: data seed.
        quick: smaller data and method settings (for smoke tests and CI).
        **options: problem-specific options. PDE problems take ``observations``, the user's own
            measurements in place of the generated ones, as a dict with the problem's documented
            keys (``diffusion-reaction-inverse``: ``x_u``, ``u``, ``x_f``, ``f``, each ``(n, 1)``;
            Burgers and Navier-Stokes: ``x`` ``(n, d_in)`` and ``y`` ``(n, 1)``).
    """
    return resolve(PROBLEMS, name, "problem")(seed=seed, quick=quick, **options)
