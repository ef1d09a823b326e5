"""The analyzer's import structure (issue #11): no import cycle between its modules, counting
imports inside functions too, and parsers are leaves that never import the loader."""
from __future__ import annotations

import ast
from pathlib import Path

import analyzer

ROOT = Path(analyzer.__file__).resolve().parent
LOADER = "analyzer.loader"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = ["analyzer", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The analyzer modules ``name`` imports anywhere in its code (a ``from pkg import x``
    counts as importing pkg.x when x is a module, else pkg)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for a in node.names:
                full = f"{base}.{a.name}"
                out.update([full] if full in known else [base] if base in known else [])
    out.discard(name)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_analyzer():
    graph = _graph()
    assert "analyzer.cli" in graph and "analyzer.parsers.nanogpt" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_parsers_do_not_import_the_loader():
    offenders = sorted(name for name, deps in _graph().items()
                       if name.startswith("analyzer.parsers") and LOADER in deps)
    assert offenders == []
