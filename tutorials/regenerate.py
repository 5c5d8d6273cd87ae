"""Regenerate the tutorial notebooks from their jupytext sources, with outputs.

Each ``tutorials/NN_name.py`` (jupytext percent format) is the source; ``NN_name.ipynb`` beside
it is the same cells executed top to bottom, committed with its outputs so that figures show on
a code host and in the documentation site. Edit the ``.py`` file, then run::

    python tutorials/regenerate.py                 # every tutorial, full run sizes
    python tutorials/regenerate.py 01_quickstart   # one tutorial
    python tutorials/regenerate.py --smoke         # tiny run sizes (what the tests execute)

``tests/docs/test_tutorials.py`` checks that each pair holds the same cells and runs each source
in smoke mode.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def sources() -> list[pathlib.Path]:
    """The tutorial sources, in order."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


def execute(source: pathlib.Path, *, smoke: bool, cwd: pathlib.Path, timeout: int = 1800):
    """The notebook of ``source`` executed top to bottom in a fresh kernel (returned, not written)."""
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(source)
    env = {"UQLAB_TUTORIAL_SMOKE": "1" if smoke else "0", "UQLAB_PROGRESS": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="tutorial names (default: all)")
    parser.add_argument("--smoke", action="store_true", help="tiny run sizes (outputs are then not worth committing)")
    args = parser.parse_args(argv)
    import jupytext

    chosen = [s for s in sources() if not args.names or s.stem in args.names]
    if not chosen:
        print(f"no tutorial named {args.names}; have {[s.stem for s in sources()]}", file=sys.stderr)
        return 2
    for source in chosen:
        start = time.perf_counter()
        notebook = execute(source, smoke=args.smoke, cwd=HERE)
        target = source.with_suffix(".ipynb")
        tmp = target.with_name(target.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            jupytext.write(notebook, handle, fmt="ipynb")
        tmp.replace(target)  # atomic: a failed run leaves the committed notebook as it was
        print(f"{target.name}: {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
