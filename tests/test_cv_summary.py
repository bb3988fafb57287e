"""Cross-validation rotations and their summary: folds, the corrected resampled t-test, the tables."""

import importlib.util
import math

import numpy as np
import pytest

from cv_summary import Run, corrected_t_test, rotation, summarize, to_markdown
from helpers.sample import ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("cv_script", ROOT / "scripts/cv.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rotations_cover_every_fold_once_as_test_and_once_as_validation():
    rotations = [rotation(k) for k in range(1, 11)]
    assert rotation(10) == {
        "split.train_folds": [2, 3, 4, 5, 6, 7, 8, 9],
        "split.val_folds": [1],
        "split.test_folds": [10],
    }
    assert sorted(r["split.test_folds"][0] for r in rotations) == list(range(1, 11))
    assert sorted(r["split.val_folds"][0] for r in rotations) == list(range(1, 11))
    for r in rotations:
        assert len(set(r["split.train_folds"]) | set(r["split.val_folds"]) | set(r["split.test_folds"])) == 10


def test_corrected_t_test_by_hand():
    d = np.array([0.01, 0.03, -0.01, 0.05])  # mean 0.02, sample variance 0.000667
    t, p = corrected_t_test(d, test_train_ratio=1 / 8)
    expected = 0.02 / math.sqrt((1 / 4 + 1 / 8) * np.var(d, ddof=1))
    assert t == pytest.approx(expected) and t == pytest.approx(1.2649, abs=1e-4)
    assert p == pytest.approx(0.2954, abs=1e-3)  # two-sided, 3 degrees of freedom
    naive = 0.02 / math.sqrt(np.var(d, ddof=1) / 4)
    assert t < naive  # the correction widens the interval: runs share most of their training data


def test_a_run_whose_fusion_is_one_branch_alone_is_flagged():
    runs = [
        Run("a", {"time": 0.85, "fusion": 0.88}, "time", 0.03, 0.2, {}),
        Run("b", {"time": 0.80, "fusion": 0.80}, "time", 0.0, 0.2, {}, same_as="time"),
        Run("c", {"time": 0.82, "fusion": 0.83}, "time", 0.01, 0.2, {}),  # older metrics: not known
    ]
    s = summarize(runs, "rotations")
    assert s["single_branch"] == ["b (time)"]
    assert "**Flagged:** the deployed fusion of b (time) is a single branch" in to_markdown(s)
    assert "Flagged" not in to_markdown(summarize(runs[::2], "rotations"))


def test_summary_takes_each_runs_best_branch_and_difference_as_evaluate_wrote_them():
    runs = [
        Run("a", {"time": 0.85, "meta": 0.70, "fusion": 0.88}, "time", 0.03, 65 / 353, {"no_meta": -0.01}),
        Run("b", {"time": 0.80, "meta": 0.82, "fusion": 0.81}, "meta", -0.01, 70 / 360, {"no_meta": 0.02}),
    ]
    s = summarize(runs, "rotations")
    assert s["models"]["time"]["mean"] == pytest.approx(0.825) and s["models"]["time"]["sd"] == pytest.approx(
        0.0354, abs=1e-4
    )
    f = s["fusion_minus_best"]
    assert f["best_branch"] == ["time", "meta"] and f["differences"] == [0.03, -0.01]
    assert f["wins"] == 1 and f["mean"] == pytest.approx(0.01)
    assert f["test_train_ratio"] == pytest.approx((65 / 353 + 70 / 360) / 2)  # each run's own split sizes
    assert (f["t"], f["p"]) == corrected_t_test(np.array([0.03, -0.01]), f["test_train_ratio"])
    # the interval that goes with the corrected t: mean -+ t(0.975, 1) * sqrt((1/2 + ratio) * var)
    half = 12.7062 * math.sqrt((1 / 2 + f["test_train_ratio"]) * np.var([0.03, -0.01], ddof=1))
    assert (f["lo"], f["hi"]) == pytest.approx((0.01 - half, 0.01 + half), abs=1e-4)
    assert s["views"]["no_meta"]["wins"] == 1 and s["views"]["no_meta"]["mean"] == pytest.approx(0.005)
    table = to_markdown(s)
    assert "| time | 0.825 ± 0.035 | 0.850, 0.800 |" in table and "1 of 2" in table and "corrected t" in table


def test_seeds_get_a_plain_t_test():
    """Seeds share training and test data: no Nadeau-Bengio correction, and the table says it is one test set."""
    runs = [Run(str(s), {"fusion": 0.9}, "time", d, 65 / 353, {}) for s, d in zip((1, 2, 3), (0.01, 0.03, 0.02))]
    f = summarize(runs, "seeds")["fusion_minus_best"]
    assert f["t"] == pytest.approx(0.02 / (0.01 / math.sqrt(3)))  # mean / (sd / sqrt(J))
    assert "t over seeds, one test set" in to_markdown(summarize(runs, "seeds"))


def test_queue_commands_name_each_experiment():
    cv = load_script()
    (rot,) = cv.queue_commands("rotations", [3], ["download.source=/data"])
    assert rot[:6] == ["dvc", "exp", "run", "--queue", "-n", "cv-rot-3"]
    assert "split.test_folds=[3]" in rot and "split.val_folds=[4]" in rot and "download.source=/data" in rot
    seeds = cv.queue_commands("seeds", [1, 2], [])
    assert [c[5] for c in seeds] == ["cv-seed-1", "cv-seed-2"] and "train.common.seed=2" in seeds[1]


def test_summary_skips_queued_running_and_failed_experiments():
    """A queued or running experiment shows its parent's metrics in `dvc exp show`: counting it would be wrong."""
    cv = load_script()

    def group(name, state):
        rev = {"name": name, "rev": "0" * 40, "data": {"metrics": {}}}
        return {"name": name, "executor": {"state": state} if state else None, "revs": [rev]}

    states = {"done": None, "queued-done": "success", "run": "running", "q": "queued", "f": "failed"}
    shown = [
        {"rev": "workspace", "data": {"metrics": {}}},
        {
            "rev": "1" * 40,
            "name": "main",
            "data": {"metrics": {}},
            "experiments": [group(n, s) for n, s in states.items()],
        },
    ]
    assert [name for name, _ in cv.experiments(shown)] == ["main", "done", "queued-done"]


def _exp(name, auc, diff, **params):
    data = {
        "params": {
            "params.yaml": {"data": {"train": {"common": {"seed": 42, **params}}, "fusion": {"method": "stack"}}}
        },
        "metrics": {
            "metrics/eval/fusion.json": {"data": {"auc": auc, "auc_lo": auc - 0.05, "auc_hi": auc + 0.05}},
            "metrics/eval/fusion_vs_best.json": {
                "data": {
                    "auc": diff,
                    "auc_lo": diff - 0.04,
                    "auc_hi": diff + 0.04,
                    "p_le0": 0.25,
                    "vs": "time",
                }
            },
        },
    }
    return name, data


def test_show_fits_120_columns_and_names_what_each_run_changed():
    """`scripts/cv.py show`: a line per run, the changed params under it (wrapped, never cut), 120 columns at most."""
    script = load_script()
    many = {f"k{i:02d}": i for i in range(30)}  # a run that changed many params: wrapped over several lines
    runs = [_exp("master", 0.866, 0.035), _exp("exp-seed-11", 0.871, 0.01, seed=11), _exp("wide", 0.8, -0.02, **many)]
    lines = script.show_lines(runs)
    assert max(map(len, lines)) <= 120
    assert lines[2].split()[:2] == ["master", "0.866"] and "+0.035 [-0.005, +0.075]" in lines[2]
    assert lines[3].startswith("exp-seed-11") and lines[4] == "    train.common.seed=11"
    assert "train.common.k29=29" in " ".join(lines[6:]) and len(lines) > 7


def test_runs_are_read_from_what_evaluate_wrote():
    """The best branch's name, the difference and the split sizes come from fusion_vs_best.json; a run of an older
    version without them is left out rather than recomputed from rounded figures."""
    cv = load_script()
    name, data = _exp("r", 0.87, 0.02)
    for model in ("time", "freq", "spec", "meta"):
        data["metrics"][f"metrics/eval/{model}.json"] = {"data": {"auc": 0.8, "val_auc": 0.9}}
    assert cv.to_run(name, data) is None  # no n_train / n_test yet
    data["metrics"]["metrics/eval/fusion_vs_best.json"]["data"].update(n_train=353, n_test=65)
    run = cv.to_run(name, data)
    assert run.same_as is None
    # a fusion that is `spec` alone: "spec alone minus fusion" is 0 on every resample
    data["metrics"]["metrics/eval/views/spec.json"] = {"data": {"auc": 0.0, "auc_lo": 0.0, "auc_hi": 0.0}}
    data["metrics"]["metrics/eval/views/no_spec.json"] = {"data": {"auc": 0.0, "auc_lo": 0.0, "auc_hi": 0.0}}
    assert cv.to_run(name, data).same_as == "spec"  # flagged by the summary
    assert (run.best_branch, run.fusion_minus_best) == ("time", 0.02)
    assert run.test_train_ratio == pytest.approx(65 / 353) and run.test_auc["fusion"] == 0.87


def _full_run(name, shift, test_folds):
    """A finished run as `dvc exp show --json` holds it: every model's metrics, fusion_vs_best and the views."""
    metrics = {}
    for i, model in enumerate(("time", "freq", "spec", "meta", "fusion")):
        auc = 0.80 + 0.01 * i + shift
        row = {"auc": auc, "auc_lo": auc - 0.05, "auc_hi": auc + 0.05, "val_auc": 0.9, "f1": 0.6, "fmax": 0.7}
        row |= {"subset_acc": 0.5, "bal_acc": 0.75}
        metrics[f"metrics/eval/{model}.json"] = {"data": {**row, "n_test": 65}}
    vs = {
        "auc": 0.01 + shift,
        "auc_lo": -0.02,
        "auc_hi": 0.04,
        "p_le0": 0.3,
        "vs": "time",
        "n_train": 353,
        "n_test": 65,
    }
    metrics["metrics/eval/fusion_vs_best.json"] = {"data": vs}
    for view, d in (("no_meta", 0.004 - shift), ("no_time", -0.03), ("time", -0.01)):
        metrics[f"metrics/eval/views/{view}.json"] = {
            "data": {"auc": d, "auc_lo": d - 0.02, "auc_hi": d + 0.02, "p_le0": 0.6}
        }
    params = {"params.yaml": {"data": {"split": {"test_folds": test_folds}}}}
    return {"name": name, "rev": name.ljust(40, "0"), "data": {"metrics": metrics, "params": params}}


def test_the_results_page_holds_exactly_what_the_summary_command_prints(tmp_path):
    """docs/results.md is generated: its tables are what `cv.py summary` and the run's own metrics say, with the
    command that made each beside it (a fixture of `dvc exp show --json` output)."""
    import json
    import subprocess
    import sys

    shown = [{"rev": "workspace", "data": {"metrics": {}}}]
    runs = [_full_run("cv-seed-42", 0.0, [10]), *(_full_run(f"cv-rot-{k}", 0.01 * k, [k]) for k in (1, 2, 3))]
    committed = {"split": {"test_folds": [10]}, "crossfit": {"folds": 2}}
    main = {"metrics": {}, "params": {"params.yaml": {"data": committed}}}
    shown.append({"rev": "1" * 40, "name": "main", "data": main, "experiments": [{"revs": [r]} for r in runs]})
    saved = tmp_path / "shown.json"
    saved.write_text(json.dumps(shown))

    def cv(*args):
        done = subprocess.run(
            [sys.executable, str(ROOT / "scripts/cv.py"), *args, "--from-json", str(saved)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    summary = cv("summary", "rotations")
    assert cv("page", "--out", "results.md").strip() == "wrote results.md"
    text = (tmp_path / "results.md").read_text()
    names = " ".join(f"cv-rot-{k}" for k in range(1, 7))  # the reported rotations; others are chosen on
    assert summary in text and f"```bash\npython scripts/cv.py summary rotations --names {names}\n```" in text
    assert "Made under commit `1111111`" in text and "`crossfit.folds: 2`" in text
    assert "never a test fold reported here" in text
    assert "python scripts/cv.py page --standard cv-seed-42 --out results.md" in text
    assert "| without meta |" in summary and "| without time | -0.030 ± 0.000 [-0.030, -0.030] |" in summary
    assert "3 of 3" in summary
    assert "| fusion | 0.840 [0.790, 0.890] | 0.600 | 0.700 | 0.500 | 0.750 | 65 | 0.900 |" in text  # its own row
    assert "| fusion minus `time` as deployed (the validation-best branch) | +0.010 [-0.020, +0.040] | 0.30 |" in text
    assert "| fusion without `meta` minus fusion | +0.004 [-0.016, +0.024] | 0.60 |" in text
    assert "Not run for this version: found 1 finished experiment(s)" in text  # seeds: only cv-seed-42
    assert "- `cv-rot-2`: `split.test_folds=[2]`" in text  # what each run changed from the commit's params
