"""Write the committed test sample (tests/data/ptbxl) from the 503-record PTB-XL sample: real records, chosen by
a fixed rule so that every strat_fold and every diagnostic superclass is in it, in PhysioNet's layout.

    python scripts/make_test_sample.py ../shared/ptbxl tests/data/ptbxl

Rule: ecg_id 1-20 at 100 and 500 Hz (the download tests' mirror), the records the tests name (39 and the three
with comment lines in their headers), then, in ecg_id order, records of the validation fold (9) and test fold
(10) until each holds 12 records and 3 of each superclass, and of each training fold (1-8) until it holds 6
records and the training folds 6 of each superclass.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd

from ptbxl_multimodal.data.labels import read_database, read_statements, record_codes

BOTH_RATES = range(1, 21)
NAMED = (39, 10429, 15413, 19703)
CLASSES = ("CD", "HYP", "MI", "NORM", "STTC")


def choose(db, codes: dict[int, set[str]]) -> list[int]:
    """The rule of the module docstring, on the sample's database."""
    chosen = set(BOTH_RATES) | set(NAMED)
    fold = db["strat_fold"].to_dict()

    def counts(folds: set[int]) -> Counter:
        return Counter(c for e in chosen if fold[e] in folds for c in codes.get(e, ()))

    def size(folds: set[int]) -> int:
        return sum(fold[e] in folds for e in chosen)

    groups = [({9}, 12, 3), ({10}, 12, 3)] + [({f}, 6, 0) for f in range(1, 9)] + [(set(range(1, 9)), 0, 6)]
    for folds, min_size, per_class in groups:
        for e in sorted(db.index):
            if size(folds) >= min_size and all(counts(folds)[c] >= per_class for c in CLASSES):
                break
            new = set(codes.get(e, ())) - {c for c in CLASSES if counts(folds)[c] >= per_class}
            if fold[e] in folds and e not in chosen and (size(folds) < min_size or new):
                chosen.add(e)
    return sorted(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the PTB-XL sample (PhysioNet layout)")
    parser.add_argument("dest", type=Path, help="where to write the test sample (replaced, README.md kept)")
    args = parser.parse_args()
    db = read_database(args.source / "ptbxl_database.csv")
    ids = choose(db, record_codes(db, read_statements(args.source / "scp_statements.csv"), "superdiagnostic"))
    args.dest.mkdir(parents=True, exist_ok=True)
    for old in args.dest.iterdir():  # replaced, except the README with the license and attribution
        if old.is_dir():
            shutil.rmtree(old)
        elif old.name != "README.md":
            old.unlink()
    raw = pd.read_csv(args.source / "ptbxl_database.csv")  # the table as published, every column unchanged
    raw[raw["ecg_id"].isin(ids)].to_csv(args.dest / "ptbxl_database.csv", index=False)
    for name in ("scp_statements.csv", "LICENSE.txt"):
        shutil.copy(args.source / name, args.dest)
    for e in ids:
        row = db.loc[e]
        for stem in [row["filename_lr"]] + ([row["filename_hr"]] if e in BOTH_RATES else []):
            for ext in ("hea", "dat"):
                target = args.dest / f"{stem}.{ext}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(args.source / f"{stem}.{ext}", target)
    (args.dest / "RECORDS").write_text("".join(f"{db.loc[e]['filename_lr']}\n" for e in ids))
    listed = sorted(p for p in args.dest.rglob("*") if p.is_file())
    (args.dest / "SHA256SUMS.txt").write_text(
        "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.relative_to(args.dest).as_posix()}\n" for p in listed)
    )
    folds = Counter(int(db.loc[e, "strat_fold"]) for e in ids)
    print(f"{len(ids)} records; per strat_fold {dict(sorted(folds.items()))}")


if __name__ == "__main__":
    main()
