"""What a user waits for: `dvc repro preprocess features` on full-size data, against the record-by-record
baseline, both measured in the same run (wall time and peak memory of the whole process tree).

    python benchmarks/repro_end_to_end.py [--mirror /tmp/ptbxl-full] [--cache-types copy hardlink]

Builds a throw-away copy of the project pointed at a full-size mirror (21,799 records, see mirror.py), runs
`download` once (untimed), then for each DVC cache type times a forced `dvc repro` of the two data stages:
DVC's own work (hashing 43,600 raw files and 3.4 GB of outputs, moving the outputs into its cache) included.
The function-level figure (the stages' code alone) is benchmarks/preprocess_features.py.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from preprocess_features import BASELINE

from measure import ROOT, run_command, run_measured
from mirror import FULL_SIZE, build


def make_project(dest: Path, mirror: Path) -> Path:
    """The tracked project files, as a fresh git repository, pointed at the mirror."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["download"]["source"] = str(mirror.resolve())
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    return dest


def dvc(project: Path, *args: str) -> tuple[float, float]:
    return run_command([sys.executable, "-m", "dvc", *args], project)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path, help="an existing 100 Hz mirror (else one is built)")
    parser.add_argument("--records", type=int, default=FULL_SIZE)
    parser.add_argument(
        "--cache-types",
        nargs="+",
        default=["copy", "hardlink"],
        help="DVC cache.type values to measure (copy is DVC's fallback on most file systems)",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ptbxl-e2e-"))
    try:
        mirror = args.mirror or build(tmp / "mirror", args.records, (100,))
        project = make_project(tmp / "project", mirror)
        dvc(project, "repro", "download")  # untimed: the raw tree in DVC's cache, as after a real download
        rows = []
        if not args.skip_baseline:
            (tmp / "base").mkdir()
            wall, peak = run_measured(BASELINE.format(raw=str(project / "data/raw"), out=str(tmp / "base")))
            rows.append(("baseline: record by record, no DVC", wall, peak))
            print(f"measured: {rows[-1]}", flush=True)
            shutil.rmtree(tmp / "base")
        for cache_type in args.cache_types:
            subprocess.run([sys.executable, "-m", "dvc", "config", "cache.type", cache_type], cwd=project, check=True)
            timings = [dvc(project, "repro", "--force", "--single-item", stage) for stage in ("preprocess", "features")]
            wall, peak = sum(t[0] for t in timings), max(t[1] for t in timings)
            rows.append((f"dvc repro preprocess features (cache.type {cache_type})", wall, peak))
            print(f"measured: {rows[-1]}", flush=True)
        outputs = sum(f.stat().st_size for f in (project / "data").rglob("*.h5")) / 2**20
        base = rows[0][1] if not args.skip_baseline else None
        raw_files = sum(1 for _ in (project / "data/raw").rglob("*"))
        print(f"{args.records} records; outputs {outputs:,.0f} MB; raw tree {raw_files:,} files\n")
        print(f"| {'run':<62} | wall s | peak MB | speed-up |")
        print(f"|{'-' * 64}|-------:|--------:|---------:|")
        for label, wall, peak in rows:
            ratio = f"{base / wall:.1f}x" if base else "-"
            print(f"| {label:<62} | {wall:6.1f} | {peak:7.0f} | {ratio:>8} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
