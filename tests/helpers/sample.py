"""The tests' real PTB-XL records (tests/data/ptbxl, committed; $PTBXL_SAMPLE for another PhysioNet-layout copy)
and PhysioNet-layout mirrors of parts of them."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(os.environ.get("PTBXL_SAMPLE", ROOT / "tests" / "data" / "ptbxl")).resolve()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_checksums(root: Path) -> None:
    """(Re)write SHA256SUMS.txt for every file under root, PhysioNet style."""
    lines = [
        f"{sha256(p)} {p.relative_to(root).as_posix()}"
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "SHA256SUMS.txt"
    ]
    (root / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")


def build_mirror(dest: Path, ecg_ids: list[int], rates: tuple[int, ...] = (100, 500)) -> Path:
    """A PhysioNet-layout copy of some sample records, with a matching database and checksums."""
    db = pd.read_csv(SAMPLE / "ptbxl_database.csv")
    db = db[db["ecg_id"].isin(ecg_ids)]
    dest.mkdir(parents=True)
    db.to_csv(dest / "ptbxl_database.csv", index=False)
    shutil.copy(SAMPLE / "scp_statements.csv", dest)
    for rate, column in ((100, "filename_lr"), (500, "filename_hr")):
        if rate not in rates:
            continue
        for name in db[column]:
            for ext in ("hea", "dat"):
                target = dest / f"{name}.{ext}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(SAMPLE / f"{name}.{ext}", target)
    write_checksums(dest)
    return dest
