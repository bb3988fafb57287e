"""Write each dvc.yaml stage's code dependencies from its import closure, so they cannot drift.

    python scripts/code_deps.py           # rewrite the generated lines of dvc.yaml
    python scripts/code_deps.py --check   # exit 1, naming the stages, if dvc.yaml is stale (tests run this)

A stage's code is every project file that importing its entry point (`python -m stages.<name>`) executes,
found by walking the imports with `ast` (imports inside functions included), plus the branch models it
loads by name through the branch table (`ptbxl_multimodal.branches`, which names model modules instead
of importing them): a per-branch stage (`train@time`) loads its own branch's model, any other stage that
reaches the branch table may load every branch's. In dvc.yaml the generated lines follow a marker comment
at the end of each stage's `deps`; a per-branch `foreach` stage gets the lines its branches share plus
`${item.model}`, the model file its foreach item names (checked here against the branch table).
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
MARKER = "# code: written by `python scripts/code_deps.py` from the import closure; do not edit below"
BRANCH_TABLE = Path("ptbxl_multimodal/branches.py")
ITEM_MODEL = "${item.model}"


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
    (its own branch's for a per-branch stage, else every branch's once it reaches the branch table)."""
    files = closure(root / entry, root)
    if BRANCH_TABLE in files:
        for name in [branch] if branch else list(models):
            files |= closure(root / models[name], root)
    return files


def folded(root: Path, files: set[Path]) -> list[str]:
    """The files as dvc.yaml lists them: a folder whose every module is in the set stands for them (shorter,
    and exact: a module added to the folder later makes this script list its files again)."""
    out = set(files)
    folders = {parent for p in files for parent in p.parents if parent != Path(".")}
    for folder in sorted(folders, key=lambda f: -len(f.parts)):  # deepest first
        members = {m.relative_to(root) for m in (root / folder).rglob("*.py")}
        if members and members <= files:
            out = {p for p in out if folder not in p.parents} | {folder}
    return sorted(map(str, out))


def expected_lines(root: Path, dvc_yaml: dict, models: dict[str, Path]) -> dict[str, list[str]]:
    """Stage name (as written in dvc.yaml) -> its generated dependency lines."""
    out = {}
    for name, stage in dvc_yaml["stages"].items():
        body = stage.get("do", stage)
        match = re.fullmatch(r"python -m (stages\.\w+).*", body["cmd"])
        if not match:
            raise SystemExit(f"dvc.yaml stage {name}: cmd is not `python -m stages.<name>`; cannot find its code")
        entry = Path(match.group(1).replace(".", "/") + ".py")
        if "foreach" not in stage:
            out[name] = folded(root, stage_code(root, entry, None, models))
            continue
        items = stage["foreach"]
        per_key = {key: stage_code(root, entry, key if key in models else None, models) for key in items}
        shared = set.intersection(*per_key.values())
        for key, files in per_key.items():
            own = files - shared
            if own and (own != {models.get(key)} or items[key].get("model") != str(models.get(key))):
                raise SystemExit(
                    f"dvc.yaml stage {name}@{key}: its own code is {sorted(map(str, own))}; its foreach item "
                    f"must name it as `model: {models.get(key)}` (one file: the branch's model module)"
                )
        needs_model = any(files - shared for files in per_key.values())
        out[name] = folded(root, shared) + ([ITEM_MODEL] if needs_model else [])
    return out


def rewrite(text: str, expected: dict[str, list[str]]) -> str:
    """dvc.yaml with each stage's generated block (the list items after MARKER) replaced."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    stage = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := re.match(r"^  (\S+):", line):
            stage = m.group(1)
        out.append(line)
        i += 1
        if line.strip() == MARKER:
            indent = line[: len(line) - len(line.lstrip())]
            while i < len(lines) and lines[i].startswith(indent + "- "):
                i += 1
            out += [f"{indent}- {path}\n" for path in expected.pop(stage)]
    if expected:
        raise SystemExit(f"dvc.yaml: no `{MARKER}` line in the deps of {sorted(expected)}; add one")
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if dvc.yaml is stale instead of rewriting it")
    args = parser.parse_args(argv)
    path = ROOT / "dvc.yaml"
    text = path.read_text()
    expected = expected_lines(ROOT, yaml.safe_load(text), branch_modules(ROOT))
    new = rewrite(text, dict(expected))
    if new == text:
        return 0
    if args.check:
        old = yaml.safe_load(text)["stages"]
        stale = [n for n in expected if _generated(old[n]) != expected[n]]
        print(f"dvc.yaml: code deps of {stale} are stale; run `python scripts/code_deps.py`", file=sys.stderr)
        return 1
    path.write_text(new)
    print("dvc.yaml: code deps rewritten")
    return 0


def _generated(stage: dict) -> list[str]:
    """The code deps dvc.yaml lists for a stage (its module and library files, and `${item.model}`)."""
    deps = stage.get("do", stage)["deps"]
    return [d for d in deps if d.startswith(("stages", "ptbxl_multimodal")) or d == ITEM_MODEL]


if __name__ == "__main__":
    sys.exit(main())
