"""Imports run one way: spec -> (hand | oracles) -> checking -> report, training and golden beside.

Each subpackage has a rank; a module may import from a lower rank or its own subpackage, never
from a higher rank or a sibling of its rank. The hand-derived code and the oracles never import
each other, and the hand-derived code never imports JAX.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gradcheck

PACKAGE = Path(gradcheck.__file__).parent
RANKS = {
    "errors": 0,
    "layers": 1,
    "spec": 2,
    "hand": 3,
    "oracles": 3,
    "generate": 4,
    "checking": 4,
    "golden": 4,
    "training": 4,
    "search": 5,  # drawn cases (generate) checked (checking), shrunk on failure
    "report": 6,
    "cli": 7,
    "pytest_plugin": 7,
    "__main__": 8,
    "__init__": 8,  # the public surface re-exports from everywhere
}
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def _unit(path: Path) -> str:
    """The subpackage (or top-level module) a file belongs to."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (``gradcheck.x.y`` -> ``gradcheck.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "gradcheck":
                found |= {f"gradcheck.{alias.name}" for alias in node.names}
    return found


def _imported_units(path: Path) -> set[str]:
    return {name.split(".")[1] for name in _imports(path) if name.startswith("gradcheck.")}


def _upward(unit: str, imported: set[str]) -> set[str]:
    """The imported units of a rank at or above ``unit``'s, other than ``unit`` itself."""
    return {u for u in imported - {unit} if u in RANKS and RANKS[u] >= RANKS[unit]}


def test_every_unit_has_a_rank() -> None:
    assert {_unit(p) for p in MODULES} <= set(RANKS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    upward = _upward(_unit(path), _imported_units(path))
    assert not upward, f"{path.name} imports {sorted(upward)}, of rank >= its own"


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if _unit(p) in ("hand", "oracles")],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_hand_derived_code_and_the_oracles_share_nothing(path: Path) -> None:
    other = "oracles" if _unit(path) == "hand" else "hand"
    assert other not in _imported_units(path)
    if _unit(path) == "hand":
        assert not {n for n in _imports(path) if n.split(".")[0] in ("jax", "jaxlib", "optax")}


def test_the_rank_rule_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from gradcheck.report.render import render_html\n")
    assert _upward("checking", _imported_units(module)) == {"report"}
    assert _upward("report", _imported_units(module)) == set()
