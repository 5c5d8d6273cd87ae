"""Save / load round trips for every registered method, ArviZ export, and clear errors on bad files."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import CASES, tiny_data


@functools.cache
def _fitted(name):
    """``(posterior, method, data)`` of the conformance case ``name``, fitted once per test session."""
    method, model, data = CASES[name]()
    return uqlab.fit(model, data, method, key=0), method, data


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_predicts_the_same_numbers(name, tmp_path):
    post, method, data = _fitted(name)
    path = post.save(tmp_path / f"{name}.nc")
    # A torch module is code, not data: its file holds the weights and the user passes the module.
    back = uqlab.load(path, model=post.model if method.capabilities.model == "torch" else None)
    assert type(back) is type(post)
    assert back.method == post.method and back.model == post.model
    a, b = post.predict(data.x_test), back.predict(data.x_test)
    np.testing.assert_array_equal(a.loc, b.loc)
    if a.scale is not None:
        np.testing.assert_array_equal(a.scale, b.scale)
    assert back.info["fit_seconds"] == post.info["fit_seconds"]


@pytest.fixture(scope="module")
def nuts_post():
    return _fitted("nuts")[0]  # 2 chains x 10 draws of the 1-8-1 BNN


def test_to_arviz_particles_has_draws_and_sample_stats(nuts_post):
    import arviz as az

    idata = nuts_post.to_arviz(x=tiny_data().x[:4])
    assert idata.posterior["net.0.w"].shape == (2, 10, 1, 8)
    assert idata.sample_stats["diverging"].shape == (2, 10)
    assert idata.posterior_predictive["y"].shape == (2, 10, 4, 1)
    assert "r_hat" in az.summary(idata).columns


def _has_draws(name) -> bool:
    from uqlab.inference.registry import get_method

    return get_method(name.split("[")[0]).capabilities.draws  # "method[variant]" cases


@pytest.mark.parametrize("name", sorted(CASES))
def test_to_arviz_summary_for_every_method(name):
    """Draws, chains, VI draws, ensemble members and dropout masks become (chain, draw) in ArviZ;
    a posterior without draws exports draws of its (Gaussian) predictive."""
    import arviz as az

    post, _, data = _fitted(name)
    x = data.x[:3]
    idata = post.to_arviz(x=x, num_samples=40)
    sizes = idata.posterior.sizes
    if _has_draws(name):
        assert sizes["chain"] * sizes["draw"] == post.num_members
        assert sizes["chain"] == getattr(post, "num_chains", 1)
        np.testing.assert_allclose(idata.posterior_predictive["y"].values.reshape(post.num_members, 3, 1),
                                   post.predict(x).loc, rtol=1e-6)
    else:
        assert (sizes["chain"], sizes["draw"]) == (1, 40)
        draws = idata.posterior_predictive["y"].values.reshape(40, 3)
        pred = post.predict(x)
        # 40 draws: the sample mean lies within 5 standard errors of the predictive mean
        assert np.all(np.abs(draws.mean(0) - pred.mean[:, 0]) < 5 * pred.std[:, 0] / np.sqrt(40))
    summary = az.summary(idata, kind="stats")
    assert len(summary) > 0 and np.all(np.isfinite(summary["mean"])) and np.all(summary["sd"] >= 0)


def test_to_arviz_dropout_masks_are_draws():
    import arviz as az

    post, method, data = _fitted("mc_dropout")
    idata = post.to_arviz()  # at the training inputs, given at fit time
    assert idata.posterior["f"].shape == (1, method.num_passes, data.num_points, 1)
    np.testing.assert_allclose(idata.posterior_predictive["y"].values[0], post.predict(data.x).loc)
    assert len(az.summary(idata)) == data.num_points


def test_not_a_uqlab_file(tmp_path):
    import xarray as xr

    path = tmp_path / "other.nc"
    xr.Dataset({"a": ("i", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match="path: expected a uqlab-posterior file"):
        uqlab.load(path)
    (tmp_path / "text.nc").write_text("hello")
    with pytest.raises(ValueError, match="not a readable netCDF"):
        uqlab.load(tmp_path / "text.nc")
    with pytest.raises(FileNotFoundError, match="path:"):
        uqlab.load(tmp_path / "missing.nc")


def test_truncated_file(nuts_post, tmp_path):
    path = nuts_post.save(tmp_path / "post.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        uqlab.load(path)


def test_newer_format_version(nuts_post, tmp_path):
    import xarray as xr

    path = nuts_post.save(tmp_path / "post.nc")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        newer = ds.load()
    newer.attrs["format_version"] = 99
    newer.to_netcdf(tmp_path / "newer.nc", engine="h5netcdf")
    with pytest.raises(ValueError, match="format version 99, newer"):
        uqlab.load(tmp_path / "newer.nc")


def test_loading_never_imports_foreign_classes(nuts_post, tmp_path):
    import xarray as xr

    from uqlab._io import text_digest
    from uqlab.inference.serialization import from_config

    with pytest.raises(ValueError, match="not a uqlab class"):
        from_config({"__class__": "os:system", "command": "true"})
    path = nuts_post.save(tmp_path / "post.nc")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        evil = ds.load()
    meta = json.loads(evil.attrs["uqlab"])
    meta["kind"] = "subprocess:Popen"
    evil.attrs["uqlab"] = json.dumps(meta)
    checksums = json.loads(evil.attrs["checksums"])  # an attacker can recompute the checksums too
    checksums["uqlab"] = text_digest(evil.attrs["uqlab"])
    evil.attrs["checksums"] = json.dumps(checksums)
    evil.to_netcdf(tmp_path / "evil.nc", engine="h5netcdf")
    with pytest.raises(ValueError, match="not a uqlab class"):
        uqlab.load(tmp_path / "evil.nc")


def test_save_is_atomic_and_leaves_no_temp_files(nuts_post, tmp_path):
    nuts_post.save(tmp_path / "post.nc")
    nuts_post.save(tmp_path / "post.nc")
    assert [p.name for p in tmp_path.iterdir()] == ["post.nc"]
