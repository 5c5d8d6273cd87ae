"""Save / load round trips for every registered method, ArviZ export, and clear errors on bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import uqlab
from tests.conformance.cases import CASES, tiny_data, tiny_mlp


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_predicts_the_same_numbers(name, tmp_path):
    method, model, data = CASES[name]()
    post = uqlab.fit(model, data, method, key=0)
    path = post.save(tmp_path / f"{name}.nc")
    back = uqlab.load(path)
    assert type(back) is type(post)
    assert back.method == post.method and back.model == post.model
    a, b = post.predict(data.x_test), back.predict(data.x_test)
    np.testing.assert_array_equal(a.loc, b.loc)
    if a.scale is not None:
        np.testing.assert_array_equal(a.scale, b.scale)
    assert back.info["fit_seconds"] == post.info["fit_seconds"]


@pytest.fixture(scope="module")
def nuts_post():
    from uqlab.inference.nuts import NUTS

    method = NUTS(num_warmup=20, num_samples=10, num_chains=2, max_tree_depth=3, progress=False)
    return uqlab.fit(tiny_mlp(), tiny_data(), method, key=0)


def test_to_arviz_particles_has_draws_and_sample_stats(nuts_post):
    import arviz as az

    idata = nuts_post.to_arviz(x=tiny_data().x[:4])
    assert idata.posterior["net.0.w"].shape == (2, 10, 1, 8)
    assert idata.sample_stats["diverging"].shape == (2, 10)
    assert idata.posterior_predictive["y"].shape == (2, 10, 4, 1)
    assert "r_hat" in az.summary(idata).columns


def test_to_arviz_dropout_masks_are_draws():
    import arviz as az

    method, model, data = CASES["mc_dropout"]()
    post = uqlab.fit(model, data, method, key=0)
    with pytest.raises(ValueError, match="x:"):
        post.to_arviz()
    idata = post.to_arviz(x=data.x)
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

    from uqlab.inference.serialization import from_config

    with pytest.raises(ValueError, match="not a uqlab class"):
        from_config({"__class__": "os:system", "command": "true"})
    path = nuts_post.save(tmp_path / "post.nc")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        evil = ds.load()
    meta = json.loads(evil.attrs["uqlab"])
    meta["kind"] = "subprocess:Popen"
    evil.attrs["uqlab"] = json.dumps(meta)
    evil.to_netcdf(tmp_path / "evil.nc", engine="h5netcdf")
    with pytest.raises(ValueError, match="not a uqlab class"):
        uqlab.load(tmp_path / "evil.nc")


def test_save_is_atomic_and_leaves_no_temp_files(nuts_post, tmp_path):
    nuts_post.save(tmp_path / "post.nc")
    nuts_post.save(tmp_path / "post.nc")
    assert [p.name for p in tmp_path.iterdir()] == ["post.nc"]
