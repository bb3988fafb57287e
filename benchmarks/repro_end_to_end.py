"""What a user waits for: `dvc repro preprocess features` on full-size data, against the record-by-record
baseline, both measured in the same run (wall time and peak memory of the whole process tree).

    python benchmarks/repro_end_to_end.py [--mirror /tmp/ptbxl-full] [--cache-types copy hardlink]
                                          [--dtypes float32 float16]

Builds a throw-away copy of the project pointed at a full-size mirror (21,799 records, see mirror.py), runs
`download` once (untimed), then for each DVC cache type and feature dtype (features.dtype) times a forced
`dvc repro` of the two data stages:
DVC's own work (checking the stages' deps, hashing the outputs and moving them into its cache) included.
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

from measure import make_project, run_command, run_measured
from mirror import FULL_SIZE, build


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
    parser.add_argument("--dtypes", nargs="+", default=["float32"], help="features.dtype values to measure")
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
        sizes = {}
        for cache_type in args.cache_types:
            subprocess.run([sys.executable, "-m", "dvc", "config", "cache.type", cache_type], cwd=project, check=True)
            for dtype in args.dtypes:
                params = yaml.safe_load((project / "params.yaml").read_text())
                params["features"]["dtype"] = dtype
                (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
                # one command, as a user runs it: DVC starts once and checks each stage's deps once
                wall, peak = dvc(project, "repro", "--force", "--single-item", "preprocess", "features")
                rows.append((f"dvc repro preprocess features (cache.type {cache_type}, {dtype} features)", wall, peak))
                sizes[dtype] = sum(f.stat().st_size for f in (project / "data").rglob("*.h5")) / 2**20
                print(f"measured: {rows[-1]}", flush=True)
        base = rows[0][1] if not args.skip_baseline else None
        raw_files = sum(1 for _ in (project / "data/raw").rglob("*"))
        outputs = ", ".join(f"{size:,.0f} MB with {dtype} features" for dtype, size in sizes.items())
        print(f"{args.records} records; HDF5 outputs {outputs}; raw tree {raw_files:,} files\n")
        print(f"| {'run':<78} | wall s | peak MB | speed-up |")
        print(f"|{'-' * 80}|-------:|--------:|---------:|")
        for label, wall, peak in rows:
            ratio = f"{base / wall:.1f}x" if base else "-"
            print(f"| {label:<78} | {wall:6.1f} | {peak:7.0f} | {ratio:>8} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
