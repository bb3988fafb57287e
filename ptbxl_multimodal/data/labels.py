"""PTB-XL metadata table and SCP-code label aggregation, as in the PTB-XL benchmark (Strodthoff et al. 2020).

Every SCP code a record carries counts, whatever its likelihood (the benchmark's convention);
diagnostic codes aggregate to sub-classes and super-classes through scp_statements.csv.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ptbxl_multimodal.data.metadata import COLUMNS, prepare_metadata
from ptbxl_multimodal.data.table_checks import raise_problems, structural_problems
from ptbxl_multimodal.errors import LabelError

DB_COLUMNS = (
    "ecg_id",
    "patient_id",
    "age",
    "sex",
    "height",
    "weight",
    "scp_codes",
    "strat_fold",
    "filename_lr",
    "filename_hr",
)
STATEMENT_COLUMNS = ("diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass")


def read_database(path: Path) -> pd.DataFrame:
    """ptbxl_database.csv indexed by ecg_id, with scp_codes parsed into dicts; LabelError listing every structural
    problem of the table (see table_checks) before any record is read."""
    df = _read_csv(path, DB_COLUMNS, index_col=None)
    raise_problems(
        str(path),
        structural_problems(df),
        "Fix the table, or use the ptbxl_database.csv of the PTB-XL release the records come from",
    )
    df["ecg_id"] = df["ecg_id"].astype(float).astype(np.int64)
    df = df.set_index("ecg_id")
    for column in ("patient_id", "strat_fold"):
        df[column] = df[column].astype(float).astype(np.int64)
    for column in COLUMNS:
        df[column] = pd.to_numeric(df[column])
    codes = {}
    for ecg_id, text in df["scp_codes"].items():
        try:
            value = ast.literal_eval(text)
            if not isinstance(value, dict):
                raise ValueError("not a dict")
        except (ValueError, SyntaxError) as exc:
            raise LabelError(f"{path}: record {ecg_id}: cannot parse scp_codes {text!r} ({exc})") from None
        codes[ecg_id] = value
    df["scp_codes"] = pd.Series(codes)
    return df.sort_index()


def read_statements(path: Path) -> pd.DataFrame:
    """scp_statements.csv indexed by SCP code."""
    return _read_csv(path, STATEMENT_COLUMNS, index_col=0)


def _read_csv(path: Path, required: tuple[str, ...], index_col: str | int | None) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, index_col=index_col)
    except FileNotFoundError:
        raise LabelError(f"{path}: missing; run the download stage first") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise LabelError(
            f"{path}: unreadable CSV ({exc}); download it again (delete data/raw and run `dvc repro`)"
        ) from None
    present = set(df.columns) | {df.index.name}
    missing = [c for c in required if c not in present]
    if missing:
        raise LabelError(f"{path}: missing column(s) {', '.join(missing)}; is this the PTB-XL file of version 1.0.x?")
    return df


@dataclass(frozen=True)
class Labels:
    """Multi-hot labels of the kept records and the bookkeeping of what was dropped."""

    ecg_ids: np.ndarray  # kept records, ascending
    classes: list[str]
    y: np.ndarray  # uint8 (n_kept, n_classes)
    unlabelled: list[int]  # records with no label for the task


def record_codes(db: pd.DataFrame, statements: pd.DataFrame, task: str) -> dict[int, set[str]]:
    """The task's label set for every record (may be empty)."""
    unknown = {eid: sorted(set(codes) - set(statements.index)) for eid, codes in db["scp_codes"].items()}
    unknown = {eid: codes for eid, codes in unknown.items() if codes}
    if unknown:
        eid, codes = next(iter(unknown.items()))
        raise LabelError(
            f"record {eid}: SCP code(s) {codes} not in scp_statements.csv ({len(unknown)} record(s) affected); "
            "use the scp_statements.csv of the same PTB-XL release as ptbxl_database.csv"
        )
    if task == "all":
        return {eid: set(codes) for eid, codes in db["scp_codes"].items()}
    column = {
        "superdiagnostic": "diagnostic",
        "subdiagnostic": "diagnostic",
        "diagnostic": "diagnostic",
        "form": "form",
        "rhythm": "rhythm",
    }[task]
    selected = statements[statements[column] == 1.0]
    if task == "superdiagnostic":
        mapping = selected["diagnostic_class"].to_dict()
    elif task == "subdiagnostic":
        mapping = selected["diagnostic_subclass"].to_dict()
    else:
        mapping = {code: code for code in selected.index}
    return {
        eid: {mapping[c] for c in codes if c in mapping and isinstance(mapping[c], str)}
        for eid, codes in db["scp_codes"].items()
    }


def make_labels(db: pd.DataFrame, statements: pd.DataFrame, task: str, min_class_count: int = 0) -> Labels:
    """Multi-hot labels for `task`; classes seen in at most `min_class_count` records are dropped (benchmark rule)."""
    per_record = record_codes(db, statements, task)
    counts = pd.Series([c for codes in per_record.values() for c in codes], dtype=object).value_counts()
    classes = sorted(counts[counts > min_class_count].index)
    if not classes:
        most = int(counts.max()) if len(counts) else 0
        raise LabelError(
            f"preprocess.min_class_count = {min_class_count} leaves no class of task {task!r} (the most frequent one "
            f"is in {most} records); lower preprocess.min_class_count below {most}"
        )
    kept, unlabelled, rows = [], [], []
    index = {c: i for i, c in enumerate(classes)}
    for eid in sorted(per_record):
        hot = [index[c] for c in per_record[eid] if c in index]
        if not hot:
            unlabelled.append(int(eid))
            continue
        row = np.zeros(len(classes), dtype=np.uint8)
        row[hot] = 1
        kept.append(int(eid))
        rows.append(row)
    y = np.stack(rows) if rows else np.zeros((0, len(classes)), dtype=np.uint8)
    return Labels(np.asarray(kept, dtype=np.int64), classes, y, unlabelled)


def metadata(db: pd.DataFrame, ecg_ids: np.ndarray) -> np.ndarray:
    """The records' age, sex, height and weight from ptbxl_database.csv, prepared for the meta branch."""
    return prepare_metadata(db.loc[ecg_ids, list(COLUMNS)].to_numpy(dtype=np.float64))
