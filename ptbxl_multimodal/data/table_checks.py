"""Check ptbxl_database.csv once, up front, before any signal work: every problem with its ecg_id, column and value.

Structural problems (a duplicated or non-integer ecg_id, a record without a patient or a valid strat_fold, a
missing or shared file name, a non-numeric measurement) make the table unusable and are errors. Implausible
measurements (a negative age, a 6 m patient) are errors or become missing values, as
`preprocess.implausible_metadata` says; either way they are listed, never dropped silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptbxl_multimodal.data.metadata import COLUMNS, PLAUSIBLE, implausible
from ptbxl_multimodal.errors import LabelError

FILE_COLUMNS = ("filename_lr", "filename_hr")
MAX_LISTED = 25


def _numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def _show(value: object) -> str:
    """A cell as the user typed it: 'empty' for a blank, plain Python repr otherwise."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and np.isnan(value):
        return "empty"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def structural_problems(db: pd.DataFrame) -> list[str]:
    """Problems that make the table unusable, one line each; `db` as read from the CSV (ecg_id a column)."""
    problems = []
    ids = _numeric(db["ecg_id"])
    bad_id = ids.isna() | (ids != ids.round()) | (ids <= 0)
    problems += [
        f"row {i + 2}: ecg_id = {_show(v)}: must be a positive integer" for i, v in db["ecg_id"][bad_id].items()
    ]
    label = {i: (db.at[i, "ecg_id"] if bad_id[i] else int(ids[i])) for i in db.index}
    duplicated = ids[ids.duplicated(keep=False) & ~bad_id]
    for ecg_id in sorted(set(duplicated)):
        rows = [str(i + 2) for i in duplicated.index[duplicated == ecg_id]]
        problems.append(f"ecg_id {int(ecg_id)}: listed {len(rows)} times (rows {', '.join(rows)})")
    fold = _numeric(db["strat_fold"])
    checks = [
        ("patient_id", _numeric(db["patient_id"]).isna(), "must be a number"),
        ("strat_fold", fold.isna() | (fold != fold.round()) | (fold < 1) | (fold > 10), "must be an integer 1-10"),
    ]
    for column in FILE_COLUMNS:
        checks.append((column, db[column].isna() | (db[column].astype(str).str.strip() == ""), "no record file named"))
    for column in COLUMNS:
        checks.append((column, db[column].notna() & _numeric(db[column]).isna(), "not a number (empty if unknown)"))
    for column, bad, why in checks:
        problems += [f"ecg_id {label[i]}, {column} = {_show(db.at[i, column])}: {why}" for i in db.index[bad]]
    for column in FILE_COLUMNS:
        names = db[column]
        for name in sorted(set(names[names.notna() & names.duplicated(keep=False)])):
            owners = ", ".join(str(label[i]) for i in db.index[names == name])
            problems.append(f"{column} = {name!r}: shared by ecg_id {owners}")
    return problems


def raise_problems(source: str, problems: list[str], advice: str) -> None:
    """LabelError listing the problems (the first MAX_LISTED) and what to do, if there are any."""
    if not problems:
        return
    shown = problems[:MAX_LISTED]
    if len(problems) > MAX_LISTED:
        shown.append(f"... and {len(problems) - MAX_LISTED} more")
    raise LabelError(f"{source}: {len(problems)} problem(s):\n  - " + "\n  - ".join(shown) + f"\n{advice}")


def implausible_values(db: pd.DataFrame) -> list[dict]:
    """Measurements outside their plausible range, as [{ecg_id, column, value}]; `db` indexed by ecg_id."""
    found = []
    for column in PLAUSIBLE:
        values = _numeric(db[column])
        found += [
            {"ecg_id": int(i), "column": column, "value": float(v)}
            for i, v in values.dropna().items()
            if implausible(column, float(v))
        ]
    return sorted(found, key=lambda f: (f["ecg_id"], f["column"]))


def handle_implausible(db: pd.DataFrame, source: str, action: str) -> tuple[pd.DataFrame, list[dict]]:
    """`db` (indexed by ecg_id) with implausible measurements set to NaN when action is "missing", and their
    list; raises LabelError listing them all when action is "error"."""
    odd = implausible_values(db)
    if action == "error":
        raise_problems(
            source,
            [
                f"ecg_id {o['ecg_id']}, {o['column']} = {o['value']:g}: implausible (expected "
                f"{PLAUSIBLE[o['column']][0]:g}-{PLAUSIBLE[o['column']][1]:g})"
                for o in odd
            ],
            "Fix the table, or set preprocess.implausible_metadata: missing to treat such values as unknown",
        )
    db = db.copy()
    for o in odd:
        db.at[o["ecg_id"], o["column"]] = np.nan
    return db, odd
