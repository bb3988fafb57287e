"""Build a full-size PTB-XL mirror (21,799 records) by replicating the real sample's records under new ids.

For measuring speed and memory only, never accuracy: the signals repeat. Data files are hard links
to the sample's (same bytes, so their checksums are reused), headers are rewritten for the new
record names, and ptbxl_database.csv and SHA256SUMS.txt match the new tree.

    python benchmarks/mirror.py /tmp/ptbxl-full [--records 21799] [--rates 100 500]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd

FULL_SIZE = 21799
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "ptbxl"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(dest: Path, n_records: int = FULL_SIZE, rates: tuple[int, ...] = (100,), sample: Path = SAMPLE) -> Path:
    """Write the mirror into dest (which must not exist) and return it."""
    db = pd.read_csv(sample / "ptbxl_database.csv")
    if 500 in rates:  # replicate only records that exist at both rates
        db = db[[(sample / f"{name}.hea").exists() for name in db["filename_hr"]]]
    dest.mkdir(parents=True)
    shutil.copy(sample / "scp_statements.csv", dest)
    sums: list[str] = []
    dat_sha: dict[Path, str] = {}
    rows = []
    for new_id in range(1, n_records + 1):
        src = db.iloc[(new_id - 1) % len(db)].copy()
        src["ecg_id"] = new_id
        patient = (new_id - 1) // 2  # two records per patient, about PTB-XL's average
        src["patient_id"] = float(100000 + patient)
        src["strat_fold"] = patient % 10 + 1  # folds hold whole patients, as in PTB-XL
        folder = f"{(new_id // 1000) * 1000:05d}"
        for rate, column, suffix in ((100, "filename_lr", "lr"), (500, "filename_hr", "hr")):
            name = f"records{rate}/{folder}/{new_id:05d}_{suffix}"
            old = sample / str(src[column])
            src[column] = name
            if rate not in rates or not old.with_suffix(".hea").exists():
                continue
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            header = old.with_suffix(".hea").read_text().replace(old.name, target.name)
            target.with_suffix(".hea").write_text(header)
            os.link(old.with_suffix(".dat"), target.with_suffix(".dat"))
            if old not in dat_sha:
                dat_sha[old] = _sha(old.with_suffix(".dat").read_bytes())
            sums.append(f"{_sha(header.encode())} {name}.hea")
            sums.append(f"{dat_sha[old]} {name}.dat")
        rows.append(src)
    pd.DataFrame(rows).to_csv(dest / "ptbxl_database.csv", index=False)
    for extra in ("ptbxl_database.csv", "scp_statements.csv"):
        sums.append(f"{_sha((dest / extra).read_bytes())} {extra}")
    (dest / "SHA256SUMS.txt").write_text("\n".join(sorted(sums, key=lambda s: s.split()[1])) + "\n")
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--records", type=int, default=FULL_SIZE)
    parser.add_argument("--rates", type=int, nargs="+", default=[100], choices=[100, 500])
    args = parser.parse_args()
    build(args.dest, args.records, tuple(args.rates))
    print(f"mirror of {args.records} records ({', '.join(map(str, args.rates))} Hz) at {args.dest}")


if __name__ == "__main__":
    main()
