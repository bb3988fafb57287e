"""The project files a module's imports reach (an `ast` walk, lazy imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("ptbxl_multimodal", "stages")


def module_file(root: Path, name: str) -> Path | None:
    """The file of a dotted module name of this project, or None (not ours, or not a module)."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_inits(root: Path, name: str) -> list[Path]:
    """__init__.py of every package above a module (Python runs them on import)."""
    parts = name.split(".")
    return [p for i in range(1, len(parts)) if (p := root.joinpath(*parts[:i], "__init__.py")).is_file()]


def imported_modules(path: Path, root: Path) -> set[str]:
    """Dotted names of the modules a file imports (from-imports of submodules resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if module_file(root, f"{node.module}.{alias.name}")
            )
        elif isinstance(node, ast.ImportFrom) and node.level:
            package = path.relative_to(root).parent.parts[: len(path.relative_to(root).parent.parts) - node.level + 1]
            base = ".".join([*package, node.module] if node.module else package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if module_file(root, f"{base}.{alias.name}"))
    return names


def closure(path: Path, root: Path) -> set[Path]:
    """Every project file that importing `path` executes, `path` included (paths relative to root)."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in imported_modules(current, root):
            target = module_file(root, name)
            for f in ([target] if target else []) + (_package_inits(root, name) if target else []):
                if f not in seen:
                    todo.append(f)
    return {p.relative_to(root) for p in seen}


def import_graph(root: Path, package: str = "ptbxl_multimodal") -> dict[str, set[str]]:
    """module -> the package modules it imports (for cycle checks)."""
    graph = {}
    for f in sorted((root / package).rglob("*.py")):
        rel = f.relative_to(root).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        graph[name] = {m for m in imported_modules(f, root) if m.split(".")[0] == package and module_file(root, m)}
    return graph
