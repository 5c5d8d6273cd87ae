"""The package's import structure: one-way layers and no import cycles (docs/architecture.md).

The imports of every module under ``uqlab/`` are read with ``ast`` (module-level imports and
those inside functions alike; only ``if TYPE_CHECKING:`` blocks are skipped, they never run), so
a cycle cannot hide behind a function-local import. Lazy registries (``"module:Name"`` strings
resolved by ``importlib``) are not imports and are not counted.

Rules:

* no cycle between modules;
* ``uqlab.inference`` does not import ``uqlab.diagnostics`` (inference hands Predictives and its
  info record to diagnostics, never the other way);
* ``uqlab.diagnostics`` imports neither ``uqlab.inference`` nor ``uqlab.problems`` (it reads only
  Predictives, numpy and data);
* ``uqlab.models`` imports neither ``uqlab.inference``, ``uqlab.diagnostics`` nor ``uqlab.problems``;
* every module has at most 400 lines.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "uqlab"

MAX_LINES = 400

FORBIDDEN = {
    "uqlab.inference": ("uqlab.diagnostics",),
    "uqlab.diagnostics": ("uqlab.inference", "uqlab.problems"),
    "uqlab.models": ("uqlab.inference", "uqlab.diagnostics", "uqlab.problems"),
}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> dict[str, int]:
    """``{imported uqlab module: line}`` for every import statement in ``tree``."""
    package = module if is_package else module.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(name: str, line: int) -> None:
        # the deepest uqlab module that ``name`` names (``uqlab.a.b.func`` -> ``uqlab.a.b``)
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.setdefault(name, line)

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                add(f"{base}.{alias.name}", node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, dict[str, int]]:
    """``{module: {imported uqlab module: line}}`` over the whole package."""
    files = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    assert "uqlab.predictive" in files and "uqlab.inference.base" in files, f"package not found at {PACKAGE}"
    return {
        name: _imports(ast.parse(path.read_text(encoding="utf-8"), str(path)), name, path.name == "__init__.py",
                       set(files))
        for name, path in files.items()
    }


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def test_parser_sees_function_level_and_relative_imports():
    source = "import uqlab.a\nfrom . import b\ndef f():\n    from uqlab.a.c import g\n    import uqlab.d as d\n"
    tree = ast.parse(source)
    modules = {"uqlab", "uqlab.a", "uqlab.a.c", "uqlab.b", "uqlab.d", "uqlab.e"}
    assert set(_imports(tree, "uqlab.e", False, modules)) == {"uqlab.a", "uqlab.b", "uqlab.a.c", "uqlab.d"}
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


def test_no_import_cycles(graph):
    cycles = _cycles(graph)
    details = [
        " <-> ".join(c) + ": " + ", ".join(f"{a} imports {b} (line {graph[a][b]})" for a in c for b in graph[a] if b in c)
        for c in cycles
    ]
    assert not cycles, "import cycles between modules:\n" + "\n".join(details)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_one_way(graph, layer):
    bad = [
        f"{module} imports {target} (line {line})"
        for module, targets in graph.items()
        if module == layer or module.startswith(layer + ".")
        for target, line in targets.items()
        if any(target == f or target.startswith(f + ".") for f in FORBIDDEN[layer])
    ]
    assert not bad, f"{layer} must not import {FORBIDDEN[layer]}:\n" + "\n".join(bad)


def test_modules_stay_small():
    sizes = {str(p.relative_to(PACKAGE.parent)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert len(sizes) > 20, f"package not found at {PACKAGE}"
    long = {path: n for path, n in sorted(sizes.items()) if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by responsibility): {long}"
