"""Check that each dvc.yaml stage's code deps cover the code it runs, so that `dvc repro` never serves results of
older code.

    python scripts/code_deps.py   # exit 1, naming each stage and the files its deps miss (tests and pre-commit run it)

A stage's code is every project file that importing its entry point (`python -m stages.<name>`) executes, found
by walking the imports with `ast` (imports inside functions included), plus the branch models it loads by name
through the branch table (`ptbxl_multimodal/branches.py`, which names model modules instead of importing them, so
that a per-branch stage's code is its own branch's model only): a stage whose code builds models
(`MODEL_BUILDERS`) loads its own branch's model if it is a per-branch stage (`train@time`), else every branch's.
Imports under `if TYPE_CHECKING:` never run and are left out. dvc.yaml names folders and
files by hand; a file is covered when it, or a folder above it, is a dep. A package `__init__.py` that holds only
a docstring runs no code and need not be named.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ptbxl_multimodal", "stages")
# The code that builds branch models through the branch table (Branch.build imports the model's module by name).
# Stages over a list in params.yaml, and the branch whose model they build (compare.references: the time branch's).
PARAMS_LISTS = {"reference": "time"}
MODEL_BUILDERS = {Path("ptbxl_multimodal/checkpoints.py"), Path("ptbxl_multimodal/training/train_branch.py")}


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
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` imports never run
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            node.body = []
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


def branch_modules(root: Path) -> dict[str, Path]:
    """Branch name -> its model's file, as the branch table names it."""
    sys.path.insert(0, str(root))
    try:
        from ptbxl_multimodal.branches import BRANCHES
    finally:
        sys.path.pop(0)
    return {name: module_file(root, b.module).relative_to(root) for name, b in BRANCHES.items()}


def stage_code(root: Path, entry: Path, branch: str | None, models: dict[str, Path]) -> set[Path]:
    """The files a stage's code runs: its entry point's import closure and the branch models it loads by name
    (its own branch's for a per-branch stage, else every branch's once its code builds models)."""
    files = closure(root / entry, root)
    if MODEL_BUILDERS & files:
        for name in [branch] if branch else list(models):
            files |= closure(root / models[name], root)
    return files


def runs_code(path: Path) -> bool:
    """False for a package `__init__.py` holding only a docstring (importing it runs nothing)."""
    if path.name != "__init__.py":
        return True
    body = ast.parse(path.read_text()).body
    return not (len(body) <= 1 and all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body))


def expanded_stages(dvc_yaml: dict) -> dict[str, dict]:
    """dvc.yaml's stages with `foreach` expanded (`train@time` -> its stage, `${key}` and `${item.*}` filled in); a
    foreach over a list in params.yaml (`${compare.references}`) once, as `<stage>@*` (its stages share their code)
    reading the branch PARAMS_LISTS names."""
    out = {}
    for name, stage in dvc_yaml["stages"].items():
        if "foreach" not in stage:
            out[name] = stage
            continue
        if isinstance(stage["foreach"], str):
            text = yaml.safe_dump(stage["do"]).replace("${item}", "*")
            out[f"{name}@*"] = {**yaml.safe_load(text), "branch": PARAMS_LISTS[name]}
            continue
        for key, item in stage["foreach"].items():
            text = yaml.safe_dump(stage["do"]).replace("${key}", key)
            for field, value in item.items():
                text = text.replace(f"${{item.{field}}}", value)
            out[f"{name}@{key}"] = {**yaml.safe_load(text), "branch": key}
    return out


def covered(path: Path, deps: list[str]) -> bool:
    """Whether a dep names the file or a folder above it."""
    return any(path == Path(d) or Path(d) in path.parents for d in deps)


def uncovered(root: Path, dvc_yaml: dict) -> dict[str, list[str]]:
    """Stage (foreach expanded) -> the files its code runs that its deps do not cover (stages with none left out)."""
    models = branch_modules(root)
    out = {}
    for name, stage in expanded_stages(dvc_yaml).items():
        match = re.fullmatch(r"python -m (stages\.\w+).*", stage["cmd"])
        if not match:
            raise SystemExit(f"dvc.yaml stage {name}: cmd is not `python -m stages.<name>`; cannot find its code")
        entry = Path(match.group(1).replace(".", "/") + ".py")
        branch = stage.get("branch") if stage.get("branch") in models else None
        code = stage_code(root, entry, branch, models)
        missing = sorted(str(p) for p in code if runs_code(root / p) and not covered(p, stage["deps"]))
        if missing:
            out[name] = missing
    return out


def main() -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    missing = uncovered(ROOT, yaml.safe_load((ROOT / "dvc.yaml").read_text()))
    for name, files in missing.items():
        print(f"dvc.yaml stage {name}: its deps miss {files}; add them (or a folder above them)", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
