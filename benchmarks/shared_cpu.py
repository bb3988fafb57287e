"""Two runs on one machine, as `dvc queue start -j 2` runs them: how much slower is each than one alone, by thread
setting? Measured end to end: `dvc repro --force --single-item train@<branch>` in two copies of the project at once.

    python benchmarks/shared_cpu.py [--source ../shared/ptbxl] [--branch time] [--epochs 3]
                                    [--settings share 2 1 passive]

Each setting is a `train.common.threads` value: "share" (a fair share of the cores among the training processes
running, training/cpu_share.py), a number (that many threads whatever else runs; the number of
cores is what torch takes by itself), or "passive" (all the cores, with OMP_WAIT_POLICY=PASSIVE so idle threads
sleep instead of spinning). For each: one run alone, then two at once;
it prints wall seconds and the slowdown of the pair against one alone measured in the same run (the pair does
twice the work, so 2.0x is a fair share of the cores and more is the cost of oversubscription).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from measure import ROOT, make_project


def _set(project: Path, branch: str, epochs: int, threads: int | str) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["train"]["common"]["epochs"] = epochs
    params["train"]["common"]["patience"] = epochs
    params["train"]["common"]["threads"] = threads
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _repro(projects: list[Path], branch: str, env: dict[str, str]) -> list[float]:
    """Start `dvc repro` of the branch's training in every project at once; each one's wall seconds."""
    cmd = [sys.executable, "-m", "dvc", "repro", "--force", "--single-item", f"train@{branch}"]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=p, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for p in projects]
    walls = []
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"dvc repro failed: {err.decode()[-2000:]}")
        walls.append(time.perf_counter() - start)
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "ptbxl")
    parser.add_argument("--branch", default="time")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--settings", nargs="+", default=["share", str(os.cpu_count()), "1"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ptbxl-shared-"))
    try:
        projects = [make_project(tmp / f"p{i}", args.source) for i in range(2)]
        for p in projects:  # untimed: the data stages
            subprocess.run([sys.executable, "-m", "dvc", "repro", "split"], cwd=p, check=True, capture_output=True)
        rows = []
        for setting in args.settings:
            env = dict(os.environ)
            env.pop("OMP_WAIT_POLICY", None)
            threads: int | str = setting if setting == "share" else os.cpu_count() or 1
            threads = int(setting) if setting.isdigit() else threads
            if setting == "passive":
                env["OMP_WAIT_POLICY"] = "PASSIVE"
            for p in projects:
                _set(p, args.branch, args.epochs, threads)
            (alone,) = _repro(projects[:1], args.branch, env)
            pair = _repro(projects, args.branch, env)
            rows.append((setting, alone, max(pair), max(pair) / alone))
            print(f"measured: {rows[-1]}", flush=True)
        print(f"\n{os.cpu_count()} CPUs; train@{args.branch}, {args.epochs} epochs, source {args.source}\n")
        print("| threads setting | one alone, wall s | two at once, wall s (slower) | slowdown |")
        print("|---|---:|---:|---:|")
        for setting, alone, pair, ratio in rows:
            print(f"| {setting} | {alone:.1f} | {pair:.1f} | {ratio:.2f}x |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
