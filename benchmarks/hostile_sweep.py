"""Hostile-input sweep (issue 13): feed uqlab bad input and damaged files, record what happens.

Each case is a careful user's or an attacker's input. The outcome is one of

* ``accepted``: no error (for these inputs that means a silently wrong result),
* ``error``: an exception; its type and first line are recorded so a reader can judge whether it
  names the argument or file and what was expected.

Run ``PYTHONPATH=$PWD python benchmarks/hostile_sweep.py LABEL [FILTER]`` (e.g. ``before`` /
``after``); writes ``benchmarks/results/hostile_sweep_LABEL.json`` and prints a table. About 3
minutes. ``python benchmarks/hostile_sweep.py --table before after`` prints the two runs side by
side as a markdown table (``docs/hostile-sweep.md``). The ``before`` run used the code of commit
c130f79 (``git archive c130f79``, this script and ``tests/data`` copied in).
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import traceback

import numpy as np
from _common import save, setup_jax_cache

ROOT = pathlib.Path(__file__).resolve().parent.parent
setup_jax_cache()

import uqlab  # noqa: E402
from uqlab.models import BayesianMLP  # noqa: E402

CASES = []
WORK = pathlib.Path(tempfile.mkdtemp(prefix="uqlab-hostile-"))


def case(group, name):
    def register(fn):
        CASES.append((group, name, fn))
        return fn
    return register


def tiny(n=16, seed=0, x_scale=1.0, y_scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (n, 1))
    y = np.sin(2 * x) + 0.1 * rng.standard_normal((n, 1))
    return uqlab.Dataset(x * x_scale, y * y_scale)


def ensemble(**kw):
    from uqlab.inference.ensemble import DeepEnsemble

    return DeepEnsemble(**{"num_members": 2, "num_steps": 20, "progress": False, **kw})


def fit_predict(model, data, method=None, key=0):
    post = uqlab.fit(model, data, method or ensemble(), key=key)
    pred = post.predict(data.x)
    return f"fit ok; predictive shape {pred.shape}, mean std {float(np.mean(pred.std)):.3g}"


# --- model/data sizes, scaler ---------------------------------------------------------------
@case("fit", "model d_out=2, y has 1 column")
def _():
    return fit_predict(BayesianMLP(d_in=1, d_out=2, widths=(4,)), tiny())


@case("fit", "model d_in=2, x has 1 column")
def _():
    return fit_predict(BayesianMLP(d_in=2, d_out=1, widths=(4,)), tiny())


@case("fit", "x around 1e300")
def _():
    return fit_predict(BayesianMLP(widths=(4,)), tiny(x_scale=1e300))


@case("fit", "y around 1e300")
def _():
    return fit_predict(BayesianMLP(widths=(4,)), tiny(y_scale=1e300))


@case("fit", "x columns +-1e300 (std overflows)")
def _():
    x = np.array([[1e300], [-1e300], [0.0], [1.0]])
    return fit_predict(BayesianMLP(widths=(4,)), uqlab.Dataset(x, np.arange(4.0)))


# --- keys -----------------------------------------------------------------------------------
for label, bad_key in [("None", None), ('"abc"', "abc"), ("2**70", 2**70), ("-1", -1), ("1.5", 1.5),
                       ("float array (2,)", np.array([0.0, 1.0])), ("uint32 array (3,)", np.zeros(3, np.uint32))]:
    @case("key", f"key={label}")
    def _(bad_key=bad_key):
        return fit_predict(BayesianMLP(widths=(4,)), tiny(), key=bad_key)


# --- numerics -------------------------------------------------------------------------------
@case("numerics", "ensemble learning_rate=1e6")
def _():
    return fit_predict(BayesianMLP(widths=(4,)), tiny(), ensemble(learning_rate=1e6, num_steps=50))


for label, lik in [("heteroscedastic", "Heteroscedastic()"), ("fixed noise 0.1", "Gaussian(noise_scale=0.1)")]:
    @case("numerics", f"ensemble learning_rate=1e6, {label} likelihood, 200 steps")
    def _(lik=lik):
        from uqlab.diagnostics import metrics
        from uqlab.models import Gaussian, Heteroscedastic  # noqa: F401 - used by eval

        data = uqlab.problems.load("toy1d", quick=True).data
        model = BayesianMLP(widths=(50,), likelihood=eval(lik))
        post = uqlab.fit(model, data, ensemble(learning_rate=1e6, num_steps=200), key=0)
        losses = np.asarray(post.info["losses"])
        return (f"fit ok; test RMSE {metrics.rmse(post.predict(data.x_test), data.y_test):.3g}; "
                f"loss {losses[0].max():.3g} -> {losses[-1].max():.3g}")


@case("numerics", "burgers.solve nu=1e-5, default resolution")
def _():
    from uqlab.problems import burgers

    u = burgers.solve(1e-5, np.linspace(-1, 1, 11), [0.0, 1.0])
    return f"returned; finite {np.isfinite(u).all()}, max|u| {np.nanmax(np.abs(u)):.3g}"


@case("numerics", "burgers.solve nu=0.01/pi, resolution=32")
def _():
    from uqlab.problems import burgers

    u = burgers.solve(burgers.NU_CLASSIC, np.linspace(-1, 1, 101), [0.0, 0.5, 1.0], resolution=32)
    return f"returned; finite {np.isfinite(u).all()}, max|u| {np.nanmax(np.abs(u)):.3g}"


@case("numerics", "burgers.solve nu=0.01/pi, resolution=64")
def _():
    from uqlab.problems import burgers

    u = burgers.solve(burgers.NU_CLASSIC, np.linspace(-1, 1, 101), [0.0, 0.5, 1.0], resolution=64)
    return f"returned; finite {np.isfinite(u).all()}, max|u| {np.nanmax(np.abs(u)):.3g} (exact solution: <= 1)"


@case("numerics", "navier_stokes.solve nu=1e-5, n=16")
def _():
    from uqlab.problems import navier_stokes

    _, w = navier_stokes.solve(1e-5, t=(0.0, 2.0), n=16)
    return f"returned; finite {np.isfinite(w).all()}, max|w| {np.nanmax(np.abs(w)):.3g}"


# --- recalibration / conformal --------------------------------------------------------------
def _cal(n):
    rng = np.random.default_rng(0)
    return uqlab.Predictive(rng.normal(size=(1, n, 1)), np.ones((1, n, 1))), rng.normal(size=(n, 1))


for n in (1, 2):
    @case("calibration", f"variance scaling, {n} calibration point(s)")
    def _(n=n):
        from uqlab.diagnostics.recalibration import fit_variance_scaling

        return f"factor {fit_variance_scaling(*_cal(n)).factor:.3g}"


@case("calibration", "isotonic, 2 calibration points")
def _():
    from uqlab.diagnostics.recalibration import fit_isotonic

    return f"knots {fit_isotonic(*_cal(2)).knots.size}"


@case("calibration", "conformal level 0.5, 1 calibration point")
def _():
    from uqlab.diagnostics.recalibration import conformal_interval

    pred, y = _cal(1)
    lower, upper = conformal_interval(pred, y, pred, 0.5)
    return f"interval width {float((upper - lower).mean()):.3g}"


# --- saved posteriors -----------------------------------------------------------------------
_SAVED = {}


def saved():
    """A small saved SGLD posterior (2 chains x 3 draws) and its predictions."""
    if not _SAVED:
        from uqlab.inference.sgmcmc import SGLD

        data = tiny()
        method = SGLD(step_size=1e-3, batch_size=8, num_samples=3, num_burnin=5, thinning=1, num_chains=2, progress=False)
        post = uqlab.fit(BayesianMLP(widths=(3,)), data, method, key=0)
        path = WORK / "good.nc"
        post.save(path)
        _SAVED.update(path=path, x=data.x, loc=post.predict(data.x).loc)
    return _SAVED


def copy(name):
    target = WORK / name
    target.write_bytes(saved()["path"].read_bytes())
    return target


def edit_attrs(path, change):
    """Rewrite the netCDF attributes with h5py (as a hand edit would)."""
    import h5py

    with h5py.File(path, "r+") as f:
        attrs = dict(f.attrs)
        for key, value in change(attrs).items():
            f.attrs[key] = value


def edit_meta(path, change, resign=False):
    """Edit the metadata JSON; ``resign``: also recompute the metadata checksum (a deliberate edit)."""
    def apply(attrs):
        meta = json.loads(attrs["uqlab"])
        change(meta)
        text = json.dumps(meta)
        out = {"uqlab": text}
        if resign and "checksums" in attrs:
            from uqlab._io import text_digest

            table = json.loads(attrs["checksums"])
            table["uqlab"] = text_digest(text)
            out["checksums"] = json.dumps(table)
        return out
    edit_attrs(path, apply)


def v1_copy(name):
    """The format-1 fixture (no checksums) saved by uqlab 0.1.0."""
    target = WORK / name
    target.write_bytes((ROOT / "tests" / "data" / "posterior_v1_sgld.nc").read_bytes())
    return target


EDITS = {
    "scaler y_scale x1000": lambda m: m["scaler"].update(y_scale=[v * 1000 for v in m["scaler"]["y_scale"]]),
    "scaler y_scale 0": lambda m: m["scaler"].update(y_scale=[0.0]),
    "scaler x_shift 2 entries": lambda m: m["scaler"].update(x_shift=[0.0, 0.0]),
    "num_chains 2 -> 4": lambda m: m["state"].update(num_chains=4),
    "num_chains 2 -> 3": lambda m: m["state"].update(num_chains=3),
    "model widths (3,) -> (5,)": lambda m: m["model"].update(widths={"__tuple__": [5]}),
    "model d_out 1 -> 2": lambda m: m["model"].update(d_out=2),
    'no "kind"': lambda m: m.pop("kind"),
    '"state" is a list': lambda m: m.update(state=[]),
    "unknown method setting": lambda m: m["method"].update(bogus=1),
    "method step_size -1": lambda m: m["method"].update(step_size=-1.0),
    "class os:system": lambda m: m["method"].update(__class__="os:system", __method__="os:system"),
}

for label, edit in EDITS.items():
    @case("posterior file (edit, checksum recomputed)", label)
    def _(edit=edit, label=label):
        path = copy(f"resign-{abs(hash(label))}.nc")
        edit_meta(path, edit, resign=True)
        return load_predict(path)

    @case("posterior file (format 1, no checksums)", label)
    def _(edit=edit, label=label):
        path = v1_copy(f"v1-{abs(hash(label))}.nc")
        edit_meta(path, edit)
        post = uqlab.load(path)
        return f"loaded; predict shape {post.predict(np.zeros((2, 1))).shape}"


def load_predict(path):
    post = uqlab.load(path)
    pred = post.predict(saved()["x"])
    same = pred.loc.shape == saved()["loc"].shape and np.allclose(pred.loc, saved()["loc"])
    extra = ""
    if hasattr(post, "draws"):
        extra = f"; draws() leaf shape {np.shape(next(iter(np.asarray(a) for a in __import__('jax').tree_util.tree_leaves(post.draws()))))}"
    return f"loaded; predictions {'unchanged' if same else 'CHANGED'}{extra}"


@case("posterior file", "4 bytes of a weight overwritten")
def _():
    import h5py

    path = copy("bytes.nc")
    with h5py.File(path, "r") as f:
        offset = f["particles.net.0.w"].id.get_offset()
    with open(path, "r+b") as handle:
        handle.seek(offset + 4)
        handle.write(b"\x00\x00\x80\x7f"[::-1] if False else b"\x12\x34\x56\x78")
    return load_predict(path)


@case("posterior file", "scaler y_scale edited x1000")
def _():
    path = copy("scaler.nc")
    edit_meta(path, lambda m: m["scaler"].update(y_scale=[v * 1000 for v in m["scaler"]["y_scale"]]))
    return load_predict(path)


@case("posterior file", "scaler x_shift given 2 entries (model has 1 input)")
def _():
    path = copy("scaler2.nc")
    edit_meta(path, lambda m: m["scaler"].update(x_shift=[0.0, 0.0]))
    return load_predict(path)


@case("posterior file", 'metadata without "kind"')
def _():
    path = copy("kind.nc")
    edit_meta(path, lambda m: m.pop("kind"))
    return load_predict(path)


@case("posterior file", "metadata not JSON")
def _():
    path = copy("json.nc")
    edit_attrs(path, lambda a: {"uqlab": "{not json"})
    return load_predict(path)


@case("posterior file", 'format_version "abc"')
def _():
    path = copy("version.nc")
    edit_attrs(path, lambda a: {"format_version": "abc"})
    return load_predict(path)


@case("posterior file", "format_version 99")
def _():
    path = copy("version99.nc")
    edit_attrs(path, lambda a: {"format_version": 99})
    return load_predict(path)


@case("posterior file", "num_chains 2 -> 4 in metadata")
def _():
    path = copy("chains.nc")
    edit_meta(path, lambda m: m["state"].update(num_chains=4))
    return load_predict(path)


@case("posterior file", "model widths (3,) -> (5,) in metadata")
def _():
    path = copy("widths.nc")
    edit_meta(path, lambda m: m["model"].update(widths={"__tuple__": [5]}))
    return load_predict(path)


@case("posterior file", "method class renamed")
def _():
    path = copy("method.nc")
    edit_meta(path, lambda m: m["method"].update(__class__="uqlab.inference.sgmcmc:NoSuch"))
    return load_predict(path)


@case("posterior file", "class outside uqlab (os:system)")
def _():
    path = copy("evil.nc")
    edit_meta(path, lambda m: m["method"].update(__class__="os:system"))
    return load_predict(path)


@case("posterior file", "truncated to half")
def _():
    path = copy("half.nc")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return load_predict(path)


@case("posterior file", "uqlab.load(<a folder>)")
def _():
    return load_predict(WORK)


@case("posterior file", "uqlab.load(<missing file>)")
def _():
    return load_predict(WORK / "missing.nc")


@case("posterior file", "save killed mid-write: files left in the folder")
def _():
    folder = WORK / "killed"
    folder.mkdir()
    script = (
        "import os, numpy as np, uqlab, xarray as xr\n"
        "from uqlab.inference.ensemble import DeepEnsemble\nfrom uqlab.models import BayesianMLP\n"
        "d = uqlab.Dataset(np.linspace(0, 1, 8), np.linspace(0, 1, 8))\n"
        "p = uqlab.fit(BayesianMLP(widths=(2,)), d, DeepEnsemble(num_members=1, num_steps=2, progress=False))\n"
        "xr.Dataset.to_netcdf = lambda self, path, **k: (open(path, 'wb').write(b'half'), os._exit(9))\n"
        f"p.save({str(folder / 'post.nc')!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=300)
    left = sorted(p.name for p in folder.iterdir())
    second = ""
    with contextlib.suppress(Exception):
        subprocess.run([sys.executable, "-c", script.replace("xr.Dataset.to_netcdf =", "_ =")],
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, timeout=300)
        second = f"; after the next save: {sorted(p.name for p in folder.iterdir())}"
    return f"left {left}{second}"


# --- saved comparisons and checkpoints ------------------------------------------------------
def load_comparison(folder):
    try:
        from uqlab.diagnostics.compare import load_comparison as load
    except ImportError:  # uqlab 0.1.0 (the "before" run)
        from uqlab.diagnostics.store import load_comparison as load
    return load(folder)


def comparison_folder(name):
    import shutil

    folder = WORK / name
    shutil.copytree(ROOT / "tests" / "data" / "comparison_v1", folder)
    load_comparison(folder).save(folder)  # rewrite in the current format
    return folder


@case("comparison file", "one byte of predictives.nc changed")
def _():
    import h5py

    folder = comparison_folder("cmp_bytes")
    with h5py.File(folder / "predictives.nc", "r") as f:
        offset = f["predictive__a__loc"].id.get_offset()
    with open(folder / "predictives.nc", "r+b") as handle:
        handle.seek(offset + 8)
        handle.write(b"\x7f")
    c = load_comparison(folder)
    return f"loaded; loc[0,1] = {c.predictives['a'].loc.ravel()[1]:.3g}"


@case("comparison file", "meta.json not JSON")
def _():
    folder = comparison_folder("cmp_json")
    (folder / "meta.json").write_text("{oops")
    load_comparison(folder)
    return "loaded"


@case("comparison file", 'meta.json without "methods"')
def _():
    folder = comparison_folder("cmp_key")
    meta = json.loads((folder / "meta.json").read_text())
    meta.pop("methods")
    (folder / "meta.json").write_text(json.dumps(meta))
    load_comparison(folder)
    return "loaded"


@case("checkpoint file", "one byte of a saved carry changed")
def _():
    import jax.numpy as jnp

    from uqlab.inference.checkpoint import Checkpoint

    path = WORK / "ckpt.npz"
    fingerprint = {"method": {}, "model": {}, "data": "d", "key": [0, 0]}
    Checkpoint(path, fingerprint).save("phase", 3, {"a": jnp.arange(64.0)}, None)
    raw = bytearray(path.read_bytes())
    index = raw.find(np.arange(64.0, dtype=np.float32)[40:41].tobytes())
    raw[index + 3] ^= 0x01
    path.write_bytes(bytes(raw))
    step, carry, _ = Checkpoint(path, fingerprint).restore("phase", {"a": jnp.zeros(64)}, None)
    return f"resumed at step {step}; carry equal {bool(np.array_equal(carry['a'], np.arange(64.0)))}"


@case("checkpoint file", "a saved carry changed, zip rewritten with valid CRCs")
def _():
    import jax.numpy as jnp

    from uqlab.inference.checkpoint import Checkpoint

    path = WORK / "ckpt2.npz"
    fingerprint = {"method": {}, "model": {}, "data": "d", "key": [0, 0]}
    Checkpoint(path, fingerprint).save("phase", 3, {"a": jnp.arange(8.0)}, None)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["phase/carry/0"] = arrays["phase/carry/0"] + 1
    np.savez(path, **arrays)
    step, carry, _ = Checkpoint(path, fingerprint).restore("phase", {"a": jnp.zeros(8)}, None)
    return f"resumed at step {step}; carry equal {bool(np.array_equal(carry['a'], np.arange(8.0)))}"


# --- command line ---------------------------------------------------------------------------
def cli(*args, timeout=600):
    run = subprocess.run([sys.executable, "-m", "uqlab", *args], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=timeout)
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    traceback_seen = any(line.startswith("Traceback") for line in lines)
    last = lines[-1] if lines else ""
    return f"exit {run.returncode}; {'TRACEBACK; ' if traceback_seen else ''}last stderr line: {last[:150]}"


@case("command line", "compare --out under a regular file (not writable)")
def _():
    blocker = WORK / "blocker"
    blocker.write_text("x")
    import time
    start = time.perf_counter()
    out = cli("compare", "--methods", "ensemble", "--quick", "--no-progress", "--out", str(blocker / "out"))
    return f"{out}; after {time.perf_counter() - start:.0f} s"


@case("command line", "--methods ,")
def _():
    return cli("compare", "--methods", ",", "--quick", "--out", str(WORK / "cli"))


@case("command line", "--methods nuts,bogus")
def _():
    return cli("compare", "--methods", "nuts,bogus", "--quick", "--out", str(WORK / "cli"))


@case("command line", "--seeds 0")
def _():
    return cli("compare", "--methods", "ensemble", "--seeds", "0", "--quick", "--out", str(WORK / "cli"))


@case("command line", "report with corrupted meta.json")
def _():
    folder = comparison_folder("cli_meta")
    (folder / "meta.json").write_text('{"problem": ')
    return cli("report", str(folder))


@case("command line", "report of a missing folder")
def _():
    return cli("report", str(WORK / "nothing-here"))


@case("command line", "report --out into a regular file's folder")
def _():
    folder = comparison_folder("cli_out")
    (WORK / "blocker2").write_text("x")
    return cli("report", str(folder), "--out", str(WORK / "blocker2" / "r.html"))


def main(label):
    results = []
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    for group, name, fn in CASES:
        if only and only not in f"{group} {name}":
            continue
        try:
            result = fn()
            outcome = result if result.startswith("exit") else "accepted: " + result
        except Exception as err:  # the point of the sweep: record whatever comes out
            origin = traceback.extract_tb(err.__traceback__)[-1]
            where = f"{pathlib.Path(origin.filename).name}:{origin.lineno}"
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            outcome = f"error {type(err).__name__} ({where}): {message[:220]}"
        results.append({"group": group, "case": name, "outcome": outcome})
        print(f"| {group} | {name} | {outcome} |", flush=True)
    save(f"hostile_sweep_{label}", {"label": label, "results": results})


def table(before: str, after: str) -> None:
    """Print the runs ``before`` and ``after`` side by side (markdown), matched by group and case."""
    def load(label):
        data = json.loads((ROOT / "benchmarks" / "results" / f"hostile_sweep_{label}.json").read_text())
        return {(r["group"], r["case"]): r["outcome"] for r in data["results"]}

    old, new = load(before), load(after)
    cell = lambda text: text.replace("|", "/").replace("\n", " ")[:230]  # noqa: E731
    print(f"| input | {before} | {after} |\n|---|---|---|")
    for key in dict.fromkeys([*old, *new]):
        print(f"| {key[0]}: {key[1]} | {cell(old.get(key, 'not run'))} | {cell(new.get(key, 'not run'))} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--table"]:
        table(*sys.argv[2:4])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "run")
