"""The whole pipeline at full PTB-XL size, as a user runs it: every stage's wall time and peak memory, and what
the default epochs would cost on this machine.

    python benchmarks/full_size_repro.py [--mirror /tmp/ptbxl-full] [--records 21799] [--epochs 1]
                                         [--device cpu|cuda] [--keep DIR]

Builds (or takes) a full-size mirror (mirror.py: the sample's records replicated under new ids; speed and memory
only, its accuracy means nothing), copies the project with download.source pointed at it and every training at
--epochs epochs (train.common.epochs, and patience so no run stops early), and runs `dvc repro --single-item` of
each stage in pipeline order, one DVC process per stage so each gets its own wall time and peak resident memory
(the whole process tree, sampled every 50 ms). A training stage's epochs are timed from its log (each epoch line's
time since the log line before it) and extrapolated linearly to the default epochs (params.yaml), its other work
(start-up, loading, DVC) counted once: an upper bound, since early stopping (train.common.patience) usually ends
sooner. Fold models train --epochs epochs too, and are extrapolated to crossfit.epochs (or the branch's own).

With --keep DIR run again on the same folder after a change (of the project's code or params.yaml), only the
stages that change touches rerun and are measured; the others are listed as kept from the earlier run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

from measure import ROOT, make_project, run_logged
from mirror import FULL_SIZE, build
from ptbxl_multimodal.config.params import validate


def stage_names(project: Path) -> list[str]:
    """The pipeline's stages in dvc.yaml order (foreach expanded), which is an order they can run in."""
    out = subprocess.run(
        [sys.executable, "-m", "dvc", "stage", "list", "--name-only"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
EPOCH = re.compile(r" epoch \d+: train loss")


def epoch_seconds(log: str) -> float:
    """Seconds a stage spent in training epochs, from its log: each epoch line's time since the line before it."""
    total, last = 0.0, None
    for line in log.splitlines():
        if not (match := STAMP.match(line)):
            continue
        stamp = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
        if last is not None and EPOCH.search(line):
            total += (stamp - last).total_seconds()
        last = stamp
    return total


def default_epochs(stage: str, params: dict) -> int | None:
    """The default epoch count a stage trains for, or None if it trains no epochs (data stages, the stack)."""
    typed = validate(params)  # the branch's and the fusion's overrides applied
    if stage.startswith(("train@", "crossfit@")):
        training = typed.branches[stage.split("@")[1]].training
        if stage.startswith("crossfit@"):
            training = typed.crossfit.fold_training(training)
        return training.epochs
    if stage == "fusion" and typed.fusion.settings.method != "stack":
        return typed.fusion.training.epochs
    return None


def up_to_date(stage: str, project: Path) -> bool:
    """Whether `dvc repro` would skip the stage (a kept project's stage that no change touched)."""
    out = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json", stage], cwd=project, capture_output=True, text=True
    )
    return out.returncode == 0 and json.loads(out.stdout or "{}") == {}


def configure(project: Path, epochs: int, device: str) -> None:
    """Every training at `epochs` epochs with no early stop, on `device`."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    common = params["train"]["common"]
    common.update(epochs=epochs, patience=epochs, device=device)
    params["crossfit"]["epochs"] = 0
    for section in [params["fusion"], *(params["train"][b] for b in ("time", "freq", "spec", "meta"))]:
        section.get("overrides", {}).pop("epochs", None)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def size_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a full-size measurement: the mirror, its records, the epochs per training, the device."""
    parser.add_argument("--mirror", type=Path, help="an existing 100 Hz mirror (else one is built)")
    parser.add_argument("--records", type=int, default=FULL_SIZE)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size_arguments(parser)
    parser.add_argument(
        "--keep",
        type=Path,
        help="build the project here and keep it (else a temporary folder); run again on the same folder after a "
        "change, only the stages it touches rerun and are measured",
    )
    args = parser.parse_args()
    defaults = yaml.safe_load((ROOT / "params.yaml").read_text())
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="ptbxl-full-"))
    try:
        mirror = args.mirror or build(tmp / "mirror", args.records, (100,))
        project = make_project(tmp / "project", mirror)
        configure(project, args.epochs, args.device)
        rows, kept = [], []
        for stage in stage_names(project):
            if up_to_date(stage, project):  # a kept project: its figures are those of the earlier run
                kept.append(stage)
                continue
            wall, peak, log = run_logged([sys.executable, "-m", "dvc", "repro", "--single-item", stage], project)
            epochs = default_epochs(stage, defaults)
            trained = epoch_seconds(log) if epochs else 0.0
            at_default = wall - trained + trained * (epochs or args.epochs) / args.epochs
            rows.append((stage, wall, peak, epochs, at_default))
            print(f"measured: {rows[-1]}", flush=True)
        n = sum(1 for _ in open(mirror / "ptbxl_database.csv")) - 1
        print(f"\n{n:,} records, {args.epochs} epoch(s) per training, device {args.device}\n")
        print("| stage | wall s | peak MB | default epochs | at default epochs, min (upper bound) |")
        print("|---|---:|---:|---:|---:|")
        for stage, wall, peak, epochs, at_default in rows:
            print(f"| {stage} | {wall:.0f} | {peak:,.0f} | {epochs or '-'} | {at_default / 60:.1f} |")
        total, peak, at_default = sum(r[1] for r in rows), max(r[2] for r in rows), sum(r[4] for r in rows)
        print(f"| **rerun** | {total:.0f} | {peak:,.0f} | | {at_default / 60:.1f} |")
        if kept:
            print(f"\nup to date in the kept project, not rerun: {', '.join(kept)}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
