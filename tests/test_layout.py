"""The code layout keeps its promises: code deps in dvc.yaml that cover what each stage runs, a library without
cycles that knows nothing of DVC or of the stages, branch models imported only where used, and stage entry points
that stay thin."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
import yaml

from helpers.imports import code_deps, import_graph, imported_modules
from helpers.project import committed_params_text
from helpers.sample import ROOT

LIBRARY = ROOT / "ptbxl_multimodal"
DVC_YAML = ROOT / "dvc.yaml"
STAGES = sorted((ROOT / "stages").glob("*.py"))


SHAPES = {"time": (12, 1000), "freq": (12, 501), "spec": (12, 33, 60), "meta": (8,)}  # one record's input


def test_every_stage_s_deps_cover_the_code_it_runs():
    """`python scripts/code_deps.py` (what pre-commit runs): every file a stage imports, or loads by name through
    the branch table, is a dep of it or lies in a folder that is."""
    assert code_deps.uncovered(ROOT, yaml.safe_load((ROOT / "dvc.yaml").read_text())) == {}


def test_a_stage_missing_code_is_named_with_the_files(tmp_path):
    """Without `ptbxl_multimodal/training` in its deps, each train@ stage is reported with the training files."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    stages["stages"]["train"]["do"]["deps"].remove("ptbxl_multimodal/training")
    missing = code_deps.uncovered(ROOT, stages)
    assert set(missing) == {f"train@{b}" for b in SHAPES}
    assert "ptbxl_multimodal/training/loop.py" in missing["train@time"]
    assert not [f for f in missing["train@time"] if not f.startswith("ptbxl_multimodal/training/")]
    done = subprocess.run([sys.executable, "scripts/code_deps.py"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_branch_model_is_a_dep_of_its_own_stages_only():
    """Reruns stay narrow: a branch's model file is named by its own train@/crossfit@ stages, not by another
    branch's, and no per-branch stage depends on the models folder as a whole."""
    stages = code_deps.expanded_stages(yaml.safe_load((ROOT / "dvc.yaml").read_text()))
    models = code_deps.branch_modules(ROOT)
    for name, stage in stages.items():
        if stage.get("branch") in models:
            own = models[stage["branch"]]
            assert code_deps.covered(own, stage["deps"]), name  # its file, or its architectures' folder
            others = [path for branch, path in models.items() if branch != stage["branch"]]
            assert not any(code_deps.covered(path, stage["deps"]) for path in others), name


def test_dvc_yaml_reads_as_a_pipeline():
    """At most 200 lines, and no generated section."""
    text = (ROOT / "dvc.yaml").read_text()
    assert len(text.splitlines()) <= 200
    assert "generated" not in text and "do not edit" not in text


@pytest.mark.parametrize("branch", ["time", "freq", "spec", "meta"])
def test_a_branch_stage_imports_its_own_model_only(branch, tmp_path):
    """What the generated deps assume of the branch table: reading a branch's params and building its model
    imports that branch's model module and no other model, nor the fusion heads."""
    code = (
        "import sys\n"
        "from ptbxl_multimodal.branches import BRANCHES\n"
        "from ptbxl_multimodal.config.params import load_params\n"
        "import stages.train, stages.crossfit\n"
        f"p = load_params(sys.argv[1]).branches[{branch!r}]\n"
        f"BRANCHES[{branch!r}].build({SHAPES[branch]}, 5, p.architecture, fs=100)\n"
        "shown = ('ptbxl_multimodal.models', 'ptbxl_multimodal.fusion')\n"
        "print(sorted(m for m in sys.modules if m.startswith(shown)))\n"
    )
    params = tmp_path / "params.yaml"
    params.write_text(committed_params_text())
    done = subprocess.run([sys.executable, "-c", code, str(params)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    imported = set(ast.literal_eval(done.stdout.strip()))
    module = {name: ".".join(path.with_suffix("").parts) for name, path in code_deps.branch_modules(ROOT).items()}
    assert imported & set(module.values()) == {module[branch]}
    assert not imported & {"ptbxl_multimodal.fusion.heads", "ptbxl_multimodal.fusion.stacked"}, imported


@pytest.mark.parametrize(
    "name,stage", code_deps.expanded_stages(yaml.safe_load((ROOT / "dvc.yaml").read_text())).items()
)
def test_dvc_yaml_deps_exist(name, stage):
    absent = [
        d for d in stage["deps"] if not (ROOT / d).exists() and not d.startswith(("data/", "models/", "metrics/"))
    ]
    absent = [d for d in absent if d != "models"]
    assert absent == [], f"dvc.yaml stage {name} depends on files that do not exist: {absent}"


def test_library_has_no_import_cycles():
    graph = import_graph(ROOT)
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(nxt) :] + [nxt]) if nxt in path else nxt)
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_library_knows_nothing_of_the_stages_or_dvc():
    for f in LIBRARY.rglob("*.py"):
        imported = imported_modules(f, ROOT)
        bad = sorted(m for m in imported if m.split(".")[0] in ("stages", "dvc"))
        assert bad == [], f"{f.relative_to(ROOT)} imports {bad}"  # dvclive, the logging library, is allowed


def test_lower_layers_do_not_import_higher_ones():
    """Storage, signal processing and models are building blocks: they import nothing built on top of them."""
    lower = (
        "ptbxl_multimodal.io",
        "ptbxl_multimodal.signal",
        "ptbxl_multimodal.models",
        "ptbxl_multimodal.config.schema",
        "ptbxl_multimodal.config.messages",
        "ptbxl_multimodal.config.reader",
        "ptbxl_multimodal.errors",
        "ptbxl_multimodal.config.paths",
    )
    higher = (
        "ptbxl_multimodal.data",
        "ptbxl_multimodal.training",
        "ptbxl_multimodal.evaluation",
        "ptbxl_multimodal.fusion",
        "ptbxl_multimodal.report",
        "ptbxl_multimodal.branches",
        "ptbxl_multimodal.checkpoints",
        "ptbxl_multimodal.predict.inference",
        "ptbxl_multimodal.config.params",
        "ptbxl_multimodal.predict",
        "ptbxl_multimodal.stage",
    )
    for module, imports in import_graph(ROOT).items():
        if module.startswith(lower):
            assert not [m for m in imports if m.startswith(higher)], (module, imports)


def test_no_two_modules_differ_only_by_a_suffix():
    for folder in [
        LIBRARY,
        *[d for d in LIBRARY.rglob("*") if d.is_dir() and d.name != "__pycache__"],
        ROOT / "stages",
    ]:
        names = [f.stem for f in folder.glob("*.py") if f.stem != "__init__"]
        clashes = [(a, b) for a in names for b in names if a != b and a.startswith(b)]
        assert clashes == [], f"{folder.relative_to(ROOT)}: {clashes}"


@pytest.mark.parametrize("entry", STAGES, ids=lambda p: p.name)
def test_stage_entry_points_are_thin(entry):
    code = [line for line in entry.read_text().splitlines() if line.strip()]
    assert len(code) <= 30, f"{entry.name}: {len(code)} lines; move the work into the library"
    assert not re.search(r"^\s*(class |def (?!main\b))", entry.read_text(), re.M), f"{entry.name} defines library code"


def test_confusion_matrices_have_one_orientation(tmp_path, monkeypatch):
    """Rows are the truth and columns the decision, in the run report's figure and on the `dvc plots` page alike."""
    import matplotlib.pyplot as plt

    from ptbxl_multimodal.report.run_report import confusion_figure

    plot = next(
        p
        for p in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["evaluate"]["plots"]
        if "metrics/plots/confusion" in p
    )
    spec = plot["metrics/plots/confusion"]
    assert (spec["x"], spec["y"]) == ("predicted", "actual")  # the template draws x as columns, y as rows
    monkeypatch.setattr(plt, "close", lambda fig: None)
    counts = {"tn": 5, "fp": 1, "fn": 2, "tp": 3}
    confusion_figure(tmp_path / "c.png", {"fusion": {"per_class": {"NORM": counts}}}, ["NORM"])
    ax = plt.gcf().axes[0]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel().endswith("actual")
    assert ax.texts[1].get_text() == "1" and ax.texts[2].get_text() == "2"  # row "no": fp in column "yes"
    plt.close("all")


def test_the_package_shows_its_architecture_and_reads_each_file_kind_in_one_place():
    """At most five modules beside the concern folders; checkpoints are read (torch.load) and params.yaml parsed
    (yaml.safe_load) in one place each."""
    top = sorted(p.name for p in LIBRARY.glob("*.py"))
    assert len(top) <= 5, top
    calls = {"torch.load(": [], "yaml.safe_load(": []}
    for path in LIBRARY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for call in calls:
                    if ast.unparse(node.func) + "(" == call:
                        calls[call].append(str(path.relative_to(ROOT)))
    assert calls == {
        "torch.load(": ["ptbxl_multimodal/checkpoints.py"],
        "yaml.safe_load(": ["ptbxl_multimodal/config/reader.py"],
    }
