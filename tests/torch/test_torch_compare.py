"""A comparison and its report hold torch-fitted and JAX-fitted methods side by side."""

import pytest

torch = pytest.importorskip("torch")

import uqlab  # noqa: E402
from tests.conformance.cases import tiny_data, tiny_mlp, tiny_torch_net  # noqa: E402
from uqlab.diagnostics import report  # noqa: E402
from uqlab.diagnostics.compare import Comparison  # noqa: E402
from uqlab.problems import Problem  # noqa: E402


def test_compare_and_report_mix_torch_and_jax_methods(tmp_path):
    from uqlab.inference.ensemble import DeepEnsemble
    from uqlab.inference.torch.ensemble import TorchEnsemble
    from uqlab.inference.torch.mc_dropout import TorchMCDropout
    from uqlab.models import Heteroscedastic
    from uqlab.models.torch import TorchModel

    problem = Problem("tiny", tiny_data(), tiny_mlp, description="tiny sine")
    methods = [DeepEnsemble(num_members=2, num_steps=20, progress=False),
               TorchEnsemble(num_members=2, num_steps=20, progress=False),
               TorchMCDropout(num_steps=20, num_passes=5, progress=False)]
    models = {"ensemble": tiny_mlp(likelihood=Heteroscedastic()),
              "torch_ensemble": TorchModel(tiny_torch_net(2), Heteroscedastic()),
              "torch_mc_dropout": tiny_torch_net(1, 0.1)}
    comparison = uqlab.compare(methods, models, problem, seeds=(0, 1), metrics=("rmse", "nll", "crps"))
    assert comparison.methods == ["ensemble", "torch_ensemble", "torch_mc_dropout"]
    summary = comparison.summary()
    assert all(summary[m]["crps"][1] >= 0 for m in comparison.methods)
    assert comparison.predictives["torch_mc_dropout"].num_members == 5
    loaded = Comparison.load(comparison.save(tmp_path / "cmp"))
    html = report.write_report(loaded, tmp_path / "report.html").read_text()
    for method in comparison.methods:
        assert f"<td>{method}</td>" in html
