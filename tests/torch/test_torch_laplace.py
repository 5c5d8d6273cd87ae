"""torch_laplace (laplace-torch): exact on Bayesian linear regression, persistence, bad inputs."""

import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import uqlab  # noqa: E402
from tests.conformance.cases import tiny_data, tiny_torch_net  # noqa: E402
from uqlab.models import Gaussian, Heteroscedastic  # noqa: E402


@pytest.mark.parametrize("hessian", ["full", "diag"])
def test_linear_module_gives_the_closed_form_predictive_variance(hessian):
    """A single Linear layer with Gaussian noise: the GGN is exact, so the posterior over
    ``(w, b)`` is ``N(., (X~^T X~ / sigma^2 + delta I)^-1)`` (diag: its diagonal approximation)."""
    data, sigma, delta = tiny_data(), 0.5, 2.0
    post = uqlab.fit(torch.nn.Linear(1, 1), data, "laplace", likelihood=Gaussian(noise_scale=sigma),
                     subset="all", hessian=hessian, prior_precision=delta, num_steps=0)
    x, _ = data.standardized()
    design = np.hstack([x, np.ones_like(x)])
    ggn = design.T @ design / sigma**2
    precision = ggn + delta * np.eye(2) if hessian == "full" else np.diag(np.diag(ggn) + delta)
    x_test = np.hstack([data.scaler.x(data.x_test), np.ones((len(data.x_test), 1))])
    variance = np.einsum("ni,ij,nj->n", x_test, np.linalg.inv(precision), x_test) + sigma**2
    expected = np.sqrt(variance) * data.scaler.y_scale[0]
    np.testing.assert_allclose(post.predict(data.x_test).std[:, 0], expected, rtol=1e-5)  # float32


def test_kron_all_weights_saves_and_loads(tmp_path):
    data = tiny_data()
    post = uqlab.fit(tiny_torch_net(), data, "laplace", subset="all", hessian="kron", num_steps=30, progress=False)
    assert post.info["prior_precision"] > 0 and post.info["num_laplace_params"] == 8 + 8 + 8 + 1
    loaded = uqlab.load(post.save(tmp_path / "kron.nc"), model=tiny_torch_net())
    a, b = post.predict(data.x_test), loaded.predict(data.x_test)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-6)
    np.testing.assert_allclose(b.std, a.std, rtol=1e-6)


def test_laplace_needs_a_homoscedastic_gaussian():
    with pytest.raises(ValueError, match="likelihood: torch_laplace .* needs a homoscedastic Gaussian"):
        uqlab.fit(tiny_torch_net(2), tiny_data(), "laplace", likelihood=Heteroscedastic(), num_steps=1)


def test_laplace_imports_beside_a_torchvision_that_cannot_load(tmp_path):
    """pip installs PyPI's CUDA torchvision for laplace-torch; beside a CPU torch it raises on import."""
    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    meta = tmp_path / "torchvision-0.28.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.28.0\n")
    code = "from uqlab.inference.torch.laplace import _import_laplace; print(_import_laplace().Laplace.__name__)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, str(tmp_path)])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "Laplace", result.stderr[-2000:]
