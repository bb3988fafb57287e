"""What each signal architecture (`train.time.arch`) costs at full PTB-XL size, as a user runs it: `dvc repro` of
`train@time` on the full-size mirror, one epoch per architecture, and the default run's time extrapolated.

    python benchmarks/signal_architectures.py [--mirror /tmp/ptbxl-full] [--epochs 1] [--device cpu|cuda]

Builds (or takes) the full-size mirror (mirror.py: speed only, its accuracy means nothing), copies the project
pointed at it with every training at --epochs epochs (full_size_repro.configure), runs the data stages train@time
needs once (download, preprocess, split), then `dvc repro --single-item train@time` per architecture: `resnet` as
shipped, and the benchmark's models under the benchmark's protocol (`crop_seconds: 2.5`), as compare.references
trains them. Each row: parameters, seconds per epoch (from the stage's own log: training plus validation), and
the time branch's share of a default run (train@time plus crossfit@time at K=2, which trains two fold models on
half the split each, the same work per epoch as train@time), extrapolated linearly to the default epochs (an
upper bound: early stopping ends sooner), with its ratio to resnet's measured in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from full_size_repro import configure, epoch_seconds, size_arguments
from measure import ROOT, make_project, run_logged
from mirror import build
from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.config.params import load_params

ARCHS = {"resnet": 0.0, "resnet1d_wang": 2.5, "xresnet1d101": 2.5, "inception1d": 2.5}  # arch -> crop_seconds


def set_arch(project: Path, arch: str, crop_seconds: float) -> None:
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["train"]["time"].update(arch=arch, crop_seconds=crop_seconds)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size_arguments(parser)
    args = parser.parse_args()
    default_epochs = load_params(ROOT / "params.yaml").branches["time"].training.epochs
    tmp = Path(tempfile.mkdtemp(prefix="ptbxl-archs-"))
    try:
        mirror = args.mirror or build(tmp / "mirror", args.records, (100,))
        project = make_project(tmp / "project", mirror)
        configure(project, args.epochs, args.device)
        for stage in ("check_params", "download", "preprocess", "split"):
            run_logged([sys.executable, "-m", "dvc", "repro", "--single-item", stage], project)
        rows = []
        for arch, crop in ARCHS.items():
            set_arch(project, arch, crop)
            params = load_params(project / "params.yaml").branches["time"]
            n_params = sum(
                p.numel() for p in BRANCHES["time"].build((12, 1000), 5, params.architecture, fs=100).parameters()
            )
            wall, peak, log = run_logged([sys.executable, "-m", "dvc", "repro", "--single-item", "train@time"], project)
            per_epoch = epoch_seconds(log) / args.epochs
            at_default = 2 * (wall - per_epoch * args.epochs + per_epoch * default_epochs)  # train@ + crossfit@ K=2
            rows.append((arch, crop, n_params, per_epoch, wall, peak, at_default))
            print(f"measured: {rows[-1]}", flush=True)
        base = rows[0][3]
        print(f"\n{args.records:,} records, {args.epochs} epoch(s), device {args.device}\n")
        print("| architecture | crop s | parameters | s / epoch | x resnet | peak MB | time branch at the default "
              f"{default_epochs} epochs, train@ + crossfit@, min |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|")
        for arch, crop, n, per_epoch, _, peak, at_default in rows:
            print(f"| {arch} | {crop or '-'} | {n:,} | {per_epoch:.0f} | {per_epoch / base:.2f} | {peak:,.0f} | "
                  f"{at_default / 60:.0f} |")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
