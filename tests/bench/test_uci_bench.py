"""Cells and executors on a tiny UCI-layout folder: resumable runs, local == Ray, the CLI, bad inputs."""

import json
import math
import sys
from importlib import resources

import pytest

from tests.problems.test_uci_data import make_folder
from uqlab.__main__ import main
from uqlab.bench import run_cells
from uqlab.bench.uci import agreement, dataset_folders, parse_splits, published, uci_cells


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """Two quick ensemble cells on a tiny folder, run once with the local executor through the CLI."""
    root = tmp_path_factory.mktemp("uci")
    make_folder(root / "sets", splits=2)
    out = root / "local"
    assert main(["bench", "uci", "--data", str(root / "sets"), "--methods", "ensemble", "--quick",
                 "--out", str(out), "--no-progress"]) == 0
    return root, out


def _records(folder):
    return {p.relative_to(folder).as_posix(): json.loads(p.read_text()) for p in sorted(folder.rglob("split-*.json"))}


def test_cli_writes_summary_page_and_cells(grid):
    root, out = grid
    summary = json.loads((out / "uci.json").read_text())
    entry = summary["tiny"]["ensemble"]
    assert entry["splits"] == 2 and "QUICK" in entry["protocol"]
    assert set(entry["rmse"]) == {"mean", "se"} and set(entry["ll"]) == {"mean", "se"}
    rmse = [r["result"]["rmse"] for r in _records(out / "cells").values()]
    assert entry["rmse"]["mean"] == pytest.approx(sum(rmse) / 2)
    page = (out / "uci.html").read_text()
    assert "<table id=\"summary\">" in page
    # the report's own stylesheet, applied through the report's container
    style = resources.files("uqlab.diagnostics").joinpath("templates/_style.html").read_text().strip()
    assert style.startswith("<style>") and style in page and '<div class="uqlab-report">' in page



@pytest.fixture(scope="module")
def local_ray():
    """One local Ray on 2 CPUs for this module (run_cells uses a running Ray and leaves it running)."""
    import os

    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False, object_store_memory=100 * 2**20)
    yield
    ray.shutdown()


def test_ray_resumes_only_missing_cells_and_matches_local(grid, local_ray):
    root, local = grid
    cells = uci_cells(dataset_folders(root / "sets"), ["ensemble"], quick=True)
    store = root / "ray"
    broken = cells[1].__class__(cells[1].name, cells[1].function, {**cells[1].args, "split": 99})
    # a run that dies midway: one cell raises; the cells that finished are kept
    with pytest.raises(RuntimeError, match=r"1 of 2 cells failed \(\['tiny/ensemble/split-01'\]\).*split"):
        run_cells([cells[0], broken], store=store, executor="ray", progress=False)
    before = _records(store)
    assert list(before) == ["tiny/ensemble/split-00.json"]
    records = run_cells(cells, store=store, executor="ray", progress=False)
    after = _records(store)
    assert after["tiny/ensemble/split-00.json"] == before["tiny/ensemble/split-00.json"]  # not rerun
    assert {r["executor"] for r in records.values()} == {"ray"} and len(after) == 2
    # same seeds, same numbers from either executor
    for name, record in _records(local / "cells").items():
        assert {k: v for k, v in after[name]["result"].items() if k != "fit_seconds"} == \
            {k: v for k, v in record["result"].items() if k != "fit_seconds"}
    # a rerun with everything finished runs nothing
    assert run_cells(cells, store=store, executor="local", progress=False) == records


def test_cells_of_another_protocol_revision_run_again(grid, tmp_path):
    import shutil

    from uqlab.bench.uci_protocols import REVISIONS, run_protocol

    root, local = grid
    shutil.copytree(local / "cells", tmp_path / "cells")
    stale = tmp_path / "cells" / "tiny" / "ensemble" / "split-01.json"
    record = json.loads(stale.read_text())
    record["args"]["revision"] = REVISIONS["ensemble"] - 1
    record["result"]["rmse"] = -1.0
    stale.write_text(json.dumps(record))
    cells = uci_cells(dataset_folders(root / "sets"), ["ensemble"], quick=True)
    records = run_cells(cells, store=tmp_path / "cells", progress=False)
    assert records["tiny/ensemble/split-01"]["result"]["rmse"] > 0  # computed again
    assert records["tiny/ensemble/split-00"] == _records(local / "cells")["tiny/ensemble/split-00.json"]  # kept
    with pytest.raises(ValueError, match="revision: this uqlab runs mc_dropout protocol revision"):
        run_protocol(str(root / "sets" / "tiny"), 0, "mc_dropout", revision=REVISIONS["mc_dropout"] + 1)


def test_mc_dropout_protocol_refits_the_best_validation_candidate(grid):
    import numpy as np

    from uqlab.bench.uci_protocols import DROPOUT_BATCH, FALLBACK_PRECISIONS, run_protocol
    from uqlab.problems.uci_data import load_uci

    root, _ = grid
    folder = str(root / "sets" / "tiny")
    result = run_protocol(folder, 1, "mc_dropout", quick=True)
    chosen = result["settings"]
    assert len(chosen["validation_ll"]) == 2 and chosen["batch_size"] == DROPOUT_BATCH
    # quick grid: the first rate with the first two fallback precisions (standardised units)
    y_sd = float(load_uci(folder, split=1).scaler.y_scale[0])
    best = int(np.argmax(chosen["validation_ll"]))
    assert chosen["dropout_rate"] == 0.005
    assert chosen["tau"] * y_sd**2 == pytest.approx(FALLBACK_PRECISIONS[best])
    assert math.isfinite(result["rmse"]) and math.isfinite(result["ll"])


def test_bad_inputs(grid, tmp_path, monkeypatch, capsys):
    root, _ = grid
    sets = str(root / "sets")
    for argv, message in [
        (["--data", str(tmp_path)], "folder: expected a UCI dataset folder"),
        (["--data", sets, "--datasets", "boston"], "datasets: expected names from ['tiny']"),
        (["--data", sets, "--methods", "sgld"], "methods: expected names from"),
        (["--data", sets, "--splits", "0-2"], r"splits: expected indices in [0, 1]"),
        (["--data", sets, "--address", "auto"], "only --executor ray"),
    ]:
        assert main(["bench", "uci", *argv, "--out", str(tmp_path / "out")]) == 2
        assert message in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed
    with pytest.raises(ImportError, match=r"pip install 'uqlab\[ray\]'"):
        run_cells(uci_cells(dataset_folders(sets), ["ensemble"], "0", quick=True), executor="ray")
    with pytest.raises(ValueError, match="executor: expected one of"):
        run_cells([], executor="dask")
    with pytest.raises(ValueError, match="splits: expected indices like"):
        parse_splits("1-x", 3)


def test_published_numbers_converted_to_standard_errors():
    raw = json.loads(resources.files("uqlab.bench").joinpath("data/uci_published.json").read_text())
    numbers = published()
    for dataset, methods in raw["results"].items():
        sd = raw["results"][dataset]["ensemble"]
        assert numbers[dataset]["ensemble"]["rmse"]["se"] == pytest.approx(sd["rmse"][1] / math.sqrt(20))
        assert numbers[dataset]["ensemble"]["ll"]["mean"] == -sd["nll"][0]
        assert numbers[dataset]["mc_dropout"]["ll"] == {"mean": methods["mc_dropout"]["ll"][0], "se": methods["mc_dropout"]["ll"][1]}
    assert agreement({"mean": 1.0, "se": 0.3}, {"mean": 0.0, "se": 0.4}) is True  # 1.0 <= 2 * 0.5
    assert agreement({"mean": 1.1, "se": 0.3}, {"mean": 0.0, "se": 0.4}) is False
    assert agreement({"mean": 1.0, "se": None}, {"mean": 0.0, "se": 0.4}) is None


def test_compare_seeds_as_cells_on_ray(local_ray):
    from uqlab.inference.ensemble import DeepEnsemble
    from uqlab.study import compare

    method = DeepEnsemble(num_members=2, num_steps=100, progress=False)
    plain = compare([method], problem="toy1d", seeds=[3], quick=True)
    on_ray = compare([method], problem="toy1d", seeds=[3], quick=True, executor="ray")  # the problem travels pickled
    for a, b in zip(plain.rows, on_ray.rows, strict=True):
        assert {k: v for k, v in a.items() if not k.endswith("_seconds")} == {k: v for k, v in b.items() if not k.endswith("_seconds")}
    assert [r["seed"] for r in on_ray.rows] == [3]
