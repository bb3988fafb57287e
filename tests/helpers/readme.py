"""The README's shell blocks and the paths the docs name, for the tests that keep the docs true."""

from __future__ import annotations

import re
from pathlib import Path

from helpers.sample import ROOT

README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = "runnable"  # <!-- runnable -->: tests/test_readme.py runs the block that follows, line by line
_BLOCK = re.compile(r"(?:<!-- (?P<marker>[^>]*?) -->\n)?```bash\n(?P<body>.*?)```", re.S)
_LINK = re.compile(r"\]\((?!https?:|#)(?P<target>[^)#\s]+)")
_CODE = re.compile(r"`(?P<token>[\w.][\w./@-]*)`")
_OUTPUT = re.compile(r"(?<![\w/.<-])(?P<token>(?:data|models|metrics|reports|dvc_plots)/[\w./@<>*-]*)")
OUTPUT_ROOTS = ("data/", "models/", "metrics/", "reports/", "dvc_plots/")
REPO_ROOTS = (
    "docs/",
    "scripts/",
    "stages/",
    "ptbxl_multimodal/",
    "tests/",
    "benchmarks/",
    ".ci/",
    ".dvc/config",
    ".dvc/plots/",
)
REPO_FILES = ("params.yaml", "dvc.yaml", "pyproject.toml", "README.md", ".pre-commit-config.yaml")


def commands(body: str) -> list[str]:
    """A block's commands: continuation lines joined, comments after two spaces and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", "", body)
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.split("  #")[0].strip()]


def blocks(path: Path = README) -> list[tuple[str | None, list[str]]]:
    """Every bash block of a page with the HTML comment just above it (None if there is none)."""
    return [(m["marker"], commands(m["body"])) for m in _BLOCK.finditer(path.read_text())]


def block(marker: str) -> list[str]:
    """The commands of the README block marked `<!-- marker -->`."""
    (found,) = [cmds for mark, cmds in blocks() if mark == marker]
    return found


def named_paths(path: Path) -> tuple[set[str], set[str]]:
    """(repository paths, pipeline output paths) a page names in links or code spans; templates (`<branch>`,
    `*`) and commands are not paths."""
    text = path.read_text()
    repo, outputs = set(), set()
    for target in (m["target"] for m in _LINK.finditer(text)):
        repo.add((path.parent / target).resolve().relative_to(ROOT).as_posix())
    for token in (m["token"] for m in _CODE.finditer(text)):
        if token.startswith(REPO_ROOTS) or token in REPO_FILES:
            repo.add(token.rstrip("."))
    for token in (m["token"].rstrip(".") for m in _OUTPUT.finditer(text)):  # in code spans, blocks and prose
        if not any(c in token for c in "<>*"):
            outputs.add(token)
    return repo, outputs
