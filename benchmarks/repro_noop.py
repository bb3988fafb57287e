"""Time `dvc repro` and `dvc status` with nothing changed, on full-size data (the data stages).

    python benchmarks/repro_noop.py [--mirror /tmp/ptbxl-full]

Builds a throw-away copy of the project pointed at a full-size mirror, runs the data stages once
(download, preprocess, features, split: 21,799 records), then times a no-change `dvc repro split`
and `dvc status`. Training at full size is out of reach of a CPU benchmark; the no-change check of
the training stages costs the same hashing of their (already hashed) inputs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import make_project
from mirror import FULL_SIZE, build


def dvc(project: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dvc {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirror", type=Path)
    parser.add_argument("--records", type=int, default=FULL_SIZE)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ptbxl-noop-"))
    try:
        mirror = args.mirror or build(tmp / "mirror", args.records, (100,))
        project = make_project(tmp / "project", mirror)
        first = dvc(project, "repro", "split", "features")
        noop = [dvc(project, "repro", "split", "features") for _ in range(3)]
        status = [dvc(project, "status") for _ in range(3)]
        print(f"first run of the data stages: {first:.1f} s (download from a local mirror included)")
        print(f"no-change `dvc repro`: {min(noop):.2f} s (best of 3; {', '.join(f'{t:.2f}' for t in noop)})")
        print(f"`dvc status`: {min(status):.2f} s (best of 3; {', '.join(f'{t:.2f}' for t in status)})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
