"""The signal branch's architectures over strat_fold rotations: each as the `time` branch, alone and inside the fusion.

    python scripts/arch_study.py run ROOT --rotations 1 2 3 4 5 6 [--source ../shared/ptbxl]
    python scripts/arch_study.py table ROOT [--markdown]

`run` makes, per rotation k (test fold k, validation fold k+1: cv_summary.rotation), a clone of this repository
at ROOT/rot<k>/resnet run at the shipped defaults, then a copy per benchmark architecture run with `dvc exp run -S
train.time.arch=<arch> -S train.time.crop_seconds=2.5` (the benchmark's protocol: 2.5 s crops, windows every
1.25 s, the maximum), which reruns the time branch's stages, the fusion and evaluate only; each run's output goes
to ROOT/rot<k>/<arch>.log. A finished run is kept, so `run` resumes.

`table` reads them back: per architecture, its parameters, its seconds per training epoch on this machine (from
the train@time lines of the logs), the validation and test macro AUC of the time branch, the fusion's test macro
AUC, and the paired differences against `resnet` over the rotations (mean, 95% interval of the corrected
resampled t: cv_summary.mean_interval). The default architecture is chosen on the validation column only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

from cv_summary import mean_interval, rotation
from ptbxl_multimodal.branches import BRANCHES

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("resnet", "resnet1d_wang", "xresnet1d101", "inception1d")
FINISHED = "Ran experiment(s)"  # what `dvc exp run` prints last
PROTOCOL = ("-S", "train.time.crop_seconds=2.5")  # the benchmark's; window_stride and window_aggregate as shipped


def _dvc_exp_run(project: Path, sets: list[str], log: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(project)}  # the clone's own code
    with open(log, "w") as out:
        done = subprocess.run([sys.executable, "-m", "dvc", "exp", "run", *sets], cwd=project, stdout=out,
                              stderr=subprocess.STDOUT, env=env)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"{project}: dvc exp run failed, see {log}")


def finished(log: Path) -> bool:
    """Whether the run that writes `log` completed."""
    return log.exists() and FINISHED in log.read_text()


def run(root: Path, rotations: list[int], source: Path) -> None:
    """Each rotation's runs, the shipped defaults first (the others reuse its data, freq, spec and meta stages)."""
    for k in rotations:
        base = root / f"rot{k}" / "resnet"
        if not finished(base.parent / "resnet.log"):
            shutil.rmtree(base, ignore_errors=True)
            subprocess.run(["git", "clone", "-q", str(ROOT), str(base)], check=True)
            subprocess.run([sys.executable, "-m", "dvc", "cache", "dir", "--local", str(root.resolve() / "cache")],
                           cwd=base, check=True)  # fmt: skip  # one cache for every run
            sets = [f"download.source={source.resolve()}"]
            sets += [f"{key}={json.dumps(v, separators=(',', ':'))}" for key, v in rotation(k).items()]
            _dvc_exp_run(base, [a for s in sets for a in ("-S", s)], base.parent / "resnet.log")
        for arch in ARCHS[1:]:
            project = root / f"rot{k}" / arch
            if (
                not (project.parent / f"{arch}.log").exists()
                or FINISHED not in (project.parent / f"{arch}.log").read_text()
            ):
                shutil.rmtree(project, ignore_errors=True)
                shutil.copytree(base, project, symlinks=True)
                _dvc_exp_run(project, ["-S", f"train.time.arch={arch}", *PROTOCOL], project.parent / f"{arch}.log")
        print(f"rotation {k} done", flush=True)


def epoch_seconds(log: Path) -> list[float]:
    """Seconds of each train@time epoch in a run's log (an epoch line's time since the line before it)."""
    seconds: list[float] = []
    last, in_stage = None, False
    for line in log.read_text().splitlines():
        if line.startswith("Running stage "):
            in_stage, last = line.startswith("Running stage 'train@time'"), None
            continue
        try:
            stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        except ValueError:
            continue
        if in_stage and last is not None and " epoch " in line:
            seconds.append((stamp - last).total_seconds())
        last = stamp
    return seconds


def parameters(project: Path) -> int:
    """The time branch's parameter count at the run's settings (12 leads, 10 s at 100 Hz, 5 classes)."""
    keys = yaml.safe_load((project / "params.yaml").read_text())["train"]["time"]  # as that run's version wrote it
    arch = BRANCHES["time"].config(**{k: v for k, v in keys.items() if k != "overrides"})
    return sum(p.numel() for p in BRANCHES["time"].build((12, 1000), 5, arch, fs=100).parameters())


def read(root: Path) -> dict[str, dict[int, dict]]:
    """arch -> rotation -> the run's figures (finished runs only)."""
    out: dict[str, dict[int, dict]] = {arch: {} for arch in ARCHS}
    for folder in sorted(root.glob("rot*")):
        k = int(folder.name[3:])
        for arch in ARCHS:
            metrics, log = folder / arch / "metrics" / "eval", folder / f"{arch}.log"
            if not finished(log):  # a copy's metrics are its base's until then
                continue
            time, fusion = (json.loads((metrics / f"{m}.json").read_text()) for m in ("time", "fusion"))
            vs_best = json.loads((metrics / "fusion_vs_best.json").read_text())
            out[arch][k] = {
                "time_val": time["val_auc"],
                "time_test": time["auc"],
                "fusion_test": fusion["auc"],
                "fusion_minus_best": vs_best["auc"],
                "best": vs_best["vs"],
                "ratio": vs_best["n_test"] / vs_best["n_train"],
                "epoch_s": epoch_seconds(log),
                "params": parameters(folder / arch),
            }
    return out


def _difference(runs: dict[str, dict[int, dict]], arch: str, key: str) -> str:
    common = sorted(set(runs[arch]) & set(runs["resnet"]))
    d = np.array([runs[arch][k][key] - runs["resnet"][k][key] for k in common])
    if d.size < 2:
        return "-"
    low, high = mean_interval(d, float(np.mean([runs[arch][k]["ratio"] for k in common])))
    return f"{d.mean():+.3f} [{low:+.3f}, {high:+.3f}] ({int((d > 0).sum())} of {d.size})"


def _mean_sd(runs: dict[int, dict], key: str) -> str:
    values = [v[key] for v in runs.values()]
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def table(root: Path) -> str:
    """The markdown table of the study (rows: architectures; means over the rotations each has finished)."""
    runs = read(root)
    lines = [
        "| time branch | parameters | s / epoch | rotations | time val AUC | time test AUC | fusion test AUC | "
        "time test minus resnet's | fusion test minus resnet's | fusion minus its best branch |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for arch in ARCHS:
        r = runs[arch]
        if not r:
            continue
        epoch = np.median([s for v in r.values() for s in v["epoch_s"]] or [float("nan")])
        name = arch if arch == "resnet" else f"{arch} (2.5 s crops)"
        paired = ["-", "-"] if arch == "resnet" else [_difference(runs, arch, k) for k in ("time_test", "fusion_test")]
        lines.append(
            f"| {name} | {next(iter(r.values()))['params']:,} | {epoch:.1f} | {len(r)} | "
            f"{_mean_sd(r, 'time_val')} | {_mean_sd(r, 'time_test')} | {_mean_sd(r, 'fusion_test')} | "
            f"{paired[0]} | {paired[1]} | {np.mean([v['fusion_minus_best'] for v in r.values()]):+.3f} |"
        )
    val = {a: _difference(runs, a, "time_val") for a in ARCHS[1:] if runs[a]}
    lines += ["", "Validation macro AUC of the time branch minus resnet's (what chooses the default): "
              + "; ".join(f"{a} {d}" for a, d in val.items()) + "."]  # fmt: skip
    return "\n".join(lines)


def section(root: Path) -> str:
    """The results page's section on the architectures (scripts/cv.py page --archs ROOT)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root / "rot1" / "resnet",
                            capture_output=True, text=True).stdout.strip() or "?"  # fmt: skip
    rotations = sorted(int(p.name[3:]) for p in root.glob("rot*") if finished(p / "resnet.log"))
    missing = [k for k in range(1, 7) if k not in rotations]
    todo = (
        f" Rotations {' '.join(map(str, missing))} of the six are not run yet: `python scripts/arch_study.py run ROOT "
        f"--rotations {' '.join(map(str, missing))}`, then this page again."
        if missing
        else ""
    )
    return SECTION.format(commit=commit, rotations=" ".join(map(str, rotations)), table=table(root), todo=todo)


SECTION = """## The signal branch's architectures (issue 34)

Each of the PTB-XL benchmark's reference models as the `time` branch, alone and inside the fusion, against this
project's `resnet`, over the strat_fold rotations with test folds {rotations} (validation fold k+1), made under
commit `{commit}` (the defaults otherwise, `download.source` the local sample). `resnet` runs as shipped (whole
records); the benchmark's models under the benchmark's protocol (2.5 s random crops; windows every 1.25 s, the
maximum). Seconds per epoch: train@time on this 2-core CPU (383 training and 51 validation records on the first
rotation), with other work beside it at times, so compare them within a row's order of magnitude only
(benchmarks/signal_architectures.py measures them alone at full size: docs/models.md).{todo}

```bash
python scripts/arch_study.py run ROOT --rotations {rotations}
python scripts/arch_study.py table ROOT
```

{table}

Differences are mean [95% interval, corrected resampled t] (rotations where the architecture is ahead). These
are sample figures: the benchmark's 0.930 (`resnet1d_wang`), 0.928 (`xresnet1d101`) and 0.925 (`inception1d`)
are fold-10 figures on all 21,799 records and are not comparable with them.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("root", type=Path)
    r.add_argument("--rotations", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    r.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "ptbxl")
    t = sub.add_parser("table")
    t.add_argument("root", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.root, args.rotations, args.source)
    else:
        print(table(args.root))


if __name__ == "__main__":
    main()
