"""No private name of a library or of another layer is used: a `thing._name` in desk/ (other
than on self or cls) must name something its own layer defines. httpx's `_transport` or a
provider's helper read from the engine would fail here; each has a public way."""

from __future__ import annotations

import ast
from pathlib import Path

DESK = Path(__file__).resolve().parent.parent / "desk"


def _layer(path: Path) -> str:
    """desk/engine/x.py -> "engine"; a module directly in desk/ is a layer of its own."""
    parts = path.relative_to(DESK).parts
    return parts[0] if len(parts) > 1 else path.stem


def _defined(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return names


# A named tuple's documented methods carry an underscore only so they cannot clash with a field.
NAMEDTUPLE_API = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def _private_uses(tree: ast.AST) -> list[tuple[int, str]]:
    return [
        (node.lineno, ast.unparse(node))
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        and node.attr not in NAMEDTUPLE_API
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]


def test_private_names_are_used_only_in_the_layer_that_defines_them():
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in DESK.rglob("*.py")}
    defined: dict[str, set[str]] = {}
    for path, tree in trees.items():
        defined.setdefault(_layer(path), set()).update(_defined(tree))
    strays = [
        f"{path.relative_to(DESK.parent)}:{line}: {expr}"
        for path, tree in trees.items()
        for line, expr in _private_uses(tree)
        if expr.rsplit(".", 1)[1] not in defined[_layer(path)]
    ]
    assert not strays, "private names of a library or another layer:\n" + "\n".join(strays)
